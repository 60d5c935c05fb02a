"""Small document builders for identity scenarios (raw shapes as the sources deliver them)."""

from __future__ import annotations

import pandas as pd

from voyado_sync.identity.incremental import IdentityGraph, RunResult, apply_changes, full_run
from voyado_sync.identity.records import IdentityInput, extract
from voyado_sync.identity.rules import IdentityRules, load_rules

RULES = load_rules()


def customer(cid, email=None, phone=None, at="2025-01-01T00:00:00Z", first=None, country="SE", **extra):
    addr = {"id": "a1", "country": country}
    if phone:
        addr["mobile"] = phone
    return {"id": cid, "email": email, "addresses": [addr], "defaultShippingAddressId": "a1",
            "lastModifiedAt": at, "createdAt": at, "firstName": first, **extra}


def order(oid, customer_id=None, email=None, phone=None, at="2025-01-02T00:00:00Z", country="SE"):
    bill = {"country": country}
    if phone:
        bill["phone"] = phone
    return {"id": oid, "customerId": customer_id, "customerEmail": email, "billingAddress": bill, "createdAt": at}


def receipt(rid, member=None, card=None, phone=None, email=None, at="2025-01-03T10:00:00+01:00", country="SE"):
    return {"receipt_id": rid, "store_id": f"STO-{country}-01", "created_at": at,
            "customer": {"member_number": member, "card_id": card, "phone": phone, "email": email, "country": country}}


def contact(vid, email=None, phone=None, member=None, external=None, first=None, country="SE"):
    return {"id": vid, "attributes": {"email": email, "mobilePhone": phone, "memberNumber": member,
                                      "externalId": external, "firstName": first, "countryCode": country}}


def run(customers=(), orders=(), receipts=(), contacts=(), rules: IdentityRules = RULES,
        graph: IdentityGraph | None = None, removed=None) -> RunResult:
    inp = extract(customers, orders, receipts, contacts, rules)
    if graph is None:
        return full_run(inp, rules)
    return apply_changes(graph, inp, rules, removed=removed)


def profile_of(result: RunResult) -> dict[str, str]:
    g = result.graph.records
    return dict(zip(g["record_key"], g["profile_id"]))


def together(result: RunResult, *keys: str) -> bool:
    p = profile_of(result)
    return len({p[k] for k in keys}) == 1


def groups(result: RunResult) -> set[frozenset[str]]:
    g = result.graph.records
    return {frozenset(v) for v in g.groupby("profile_id")["record_key"].agg(list)}


def decisions_of(result: RunResult, decision: str) -> pd.DataFrame:
    return result.decisions[result.decisions["decision"] == decision]


def as_input(records: pd.DataFrame, identifiers: pd.DataFrame) -> IdentityInput:
    return IdentityInput(records, identifiers, pd.DataFrame(columns=["source", "record_id", "reason"]))
