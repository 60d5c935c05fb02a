"""Identity records from raw source documents.

A *record* is one source document (a commercetools customer or order, a POS receipt, a Voyado
contact), keyed ``<source>:<id>``. Its *identifiers* are the (type, raw value) pairs it carries; its
*attributes* (names, country, time observed) feed survivorship. Values stay raw here: normalization
decides what is an identifier. A document that cannot be read becomes a reject row with the reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from voyado_sync.identity.rules import IdentityRules

RECORD_COLUMNS = ["record_key", "source", "record_id", "country", "observed_at", "first_name", "last_name"]
IDENTIFIER_COLUMNS = ["record_key", "id_type", "raw_value", "country"]
REJECT_COLUMNS = ["source", "record_id", "reason"]
_STORE_COUNTRY = re.compile(r"(?:^|[-_])([A-Z]{2})(?:[-_]|$)")


@dataclass
class IdentityInput:
    records: pd.DataFrame      # RECORD_COLUMNS, one row per record
    identifiers: pd.DataFrame  # IDENTIFIER_COLUMNS, one row per (record, identifier) occurrence
    rejects: pd.DataFrame      # REJECT_COLUMNS

    @classmethod
    def empty(cls) -> "IdentityInput":
        return cls(pd.DataFrame(columns=RECORD_COLUMNS), pd.DataFrame(columns=IDENTIFIER_COLUMNS),
                   pd.DataFrame(columns=REJECT_COLUMNS))

    @classmethod
    def concat(cls, parts: Iterable["IdentityInput"]) -> "IdentityInput":
        parts = list(parts)
        if not parts:
            return cls.empty()
        return cls(*(pd.concat([getattr(p, f) for p in parts], ignore_index=True)
                     for f in ("records", "identifiers", "rejects")))


def record_key(source: str, record_id: str) -> str:
    return f"{source}:{record_id}"


def extract(customers: Iterable[Any] = (), orders: Iterable[Any] = (), pos_receipts: Iterable[Any] = (),
            voyado_contacts: Iterable[Any] = (), rules: IdentityRules | None = None) -> IdentityInput:
    """Documents may be dicts or JSON strings (the ``raw`` column of a partition)."""
    rules = rules or IdentityRules()
    recs: list[tuple] = []
    ids: list[tuple] = []
    rejects: list[tuple] = []
    for source, docs, fn in (("ct_customer", customers, _customer), ("ct_order", orders, _order),
                             ("pos_receipt", pos_receipts, _receipt), ("voyado_contact", voyado_contacts, _contact)):
        for doc in docs:
            d = None
            try:
                d = json.loads(doc) if isinstance(doc, (str, bytes)) else doc
                if not isinstance(d, dict):
                    raise ValueError("document is not a JSON object")
                rec, found = fn(d, rules)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:
                rid = (d.get("id") or d.get("receipt_id")) if isinstance(d, dict) else None
                rejects.append((source, None if rid is None else str(rid), f"unreadable document: {exc}"))
                continue
            found = [(t, v) for t, v in found if v is not None]
            if not found:
                continue  # an anonymous document (e.g. a receipt without customer) is no identity record
            key = record_key(source, rec["record_id"])
            recs.append((key, source, rec["record_id"], rec["country"], rec["observed_at"],
                         rec["first_name"], rec["last_name"]))
            ids.extend((key, t, v, rec["country"]) for t, v in found)
    records = pd.DataFrame(recs, columns=RECORD_COLUMNS)
    records["observed_at"] = pd.to_datetime(records["observed_at"], utc=True, errors="coerce", format="ISO8601")
    # A re-sent document (same key) counts once: the most recently observed version wins.
    records = (records.sort_values(["record_key", "observed_at"], na_position="first")
               .drop_duplicates("record_key", keep="last").reset_index(drop=True))
    identifiers = pd.DataFrame(ids, columns=IDENTIFIER_COLUMNS).drop_duplicates(ignore_index=True)
    return IdentityInput(records, identifiers, pd.DataFrame(rejects, columns=REJECT_COLUMNS))


def _need_id(d: dict, field: str = "id") -> str:
    v = d.get(field)
    if v is None or not str(v).strip():
        raise ValueError(f"missing {field}")
    return str(v).strip()


def _address_of(c: dict) -> dict:
    addrs = [a for a in c.get("addresses") or [] if isinstance(a, dict)]
    for ref in (c.get("defaultShippingAddressId"), c.get("defaultBillingAddressId")):
        for a in addrs:
            if ref and a.get("id") == ref:
                return a
    return addrs[0] if addrs else {}


def _customer(c: dict, rules: IdentityRules):
    cid = _need_id(c)
    main = _address_of(c)
    found = [("ct_customer_id", cid), ("email", c.get("email")), ("external_id", c.get("externalId")),
             (rules.ct_customer_number_as, c.get("customerNumber"))]
    for a in c.get("addresses") or []:
        if isinstance(a, dict):
            found += [("phone", a.get("mobile")), ("phone", a.get("phone")), ("email", a.get("email"))]
    return ({"record_id": cid, "country": main.get("country"),
             "observed_at": c.get("lastModifiedAt") or c.get("createdAt"),
             "first_name": c.get("firstName") or main.get("firstName"),
             "last_name": c.get("lastName") or main.get("lastName")}, found)


def _order(o: dict, rules: IdentityRules):
    oid = _need_id(o)
    bill = o.get("billingAddress") if isinstance(o.get("billingAddress"), dict) else {}
    ship = o.get("shippingAddress") if isinstance(o.get("shippingAddress"), dict) else {}
    found = [("ct_customer_id", o.get("customerId")), ("email", o.get("customerEmail"))]
    for a in (bill, ship):
        found += [("email", a.get("email")), ("phone", a.get("mobile")), ("phone", a.get("phone"))]
    main = bill or ship
    return ({"record_id": oid, "country": main.get("country") or o.get("country"),
             "observed_at": o.get("createdAt") or o.get("lastModifiedAt"),
             "first_name": main.get("firstName"), "last_name": main.get("lastName")}, found)


def _receipt(r: dict, rules: IdentityRules):
    rid = _need_id(r, "receipt_id")
    cust = r.get("customer") if isinstance(r.get("customer"), dict) else {}
    country = cust.get("country")
    if not country:
        m = _STORE_COUNTRY.search(str(r.get("store_id") or ""))
        country = m.group(1) if m else None
    found = [("member_number", cust.get("member_number")), ("card_id", cust.get("card_id")),
             ("phone", cust.get("phone")), ("email", cust.get("email"))]
    return ({"record_id": rid, "country": country, "observed_at": r.get("created_at"),
             "first_name": cust.get("first_name"), "last_name": cust.get("last_name")}, found)


def _contact(c: dict, rules: IdentityRules):
    cid = _need_id(c)
    a = c.get("attributes") if isinstance(c.get("attributes"), dict) else c
    meta = c.get("meta") if isinstance(c.get("meta"), dict) else {}
    found = [("voyado_contact_id", cid), ("email", a.get("email")), ("phone", a.get("mobilePhone")),
             ("member_number", a.get("memberNumber")), (rules.voyado_external_id_as, a.get("externalId"))]
    observed = (meta.get("modifiedOn") or meta.get("lastModified") or c.get("lastModified")
                or a.get("lastModified") or meta.get("createdOn") or c.get("created"))
    return ({"record_id": cid, "country": a.get("countryCode") or a.get("country"), "observed_at": observed,
             "first_name": a.get("firstName"), "last_name": a.get("lastName")}, found)
