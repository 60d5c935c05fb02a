"""Voyado → Commercetools write-back: consent, preferences, suppression and loyalty tier of the day's
changed Voyado contacts as custom fields on their Commercetools customers (pure mapping in
`voyado_sync.mapping.customer_fields`; writes through the sync engine: ledger, dead letters, replay by
re-materializing). Voyado is the system of record for these fields; nothing flows back from them."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.clients.http import ApiError, NotFoundError
from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.contacts import read_contact_lookup
from voyado_sync.lookups.documents import latest_documents
from voyado_sync.mapping.config import WritebackRule
from voyado_sync.mapping.customer_fields import customer_targets, missing_definitions, type_draft
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.seam import Batch, PushSpec, Step, json_column, push_assets, unmapped_payload
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.models import SyncItem, SyncReport

DATASET = "commercetools/customer_fields_writeback"
ENDPOINT = "ct_customer_fields"


def _contacts(store: PartitionStore, key: str) -> list[dict[str, Any]]:
    """The day's changed contacts, plus those whose points moved today (their balance changed even if
    the contact did not), from the latest partition that holds them."""
    today = {d.get("id"): d for d in latest_documents(store, "voyado/contacts", [key])}
    booked = store.read("voyado/point_transactions_payload", [key])
    moved = set()
    if not booked.empty:
        moved = {json.loads(p)["contactId"] for p in booked.loc[booked["status"] == "send", "payload"]} - set(today)
    if moved:
        known = {d.get("id"): d for d in latest_documents(
            store, "voyado/contacts", [k for k in store.partitions("voyado/contacts") if k <= key])}
        today.update({cid: known[cid] for cid in moved if cid in known})
    return list(today.values())


def _balances(engage: EngageResource, contact_ids: list[str], definition_id: int) -> tuple[dict[str, int], int]:
    """Point balance per contact (Voyado point accounts); the number that could not be read."""
    client = engage.client()

    def one(cid: str) -> tuple[str, int | None]:
        try:
            accounts = client.point_accounts(cid)
        except ApiError:
            return cid, None
        balance = next((a.get("balance") for a in accounts if a.get("definitionId") == definition_id), 0)
        return cid, int(balance) if isinstance(balance, (int, float)) and not isinstance(balance, bool) else None

    with ThreadPoolExecutor(max_workers=max(1, min(engage.max_concurrency, len(contact_ids) or 1))) as pool:
        read = dict(pool.map(one, contact_ids))
    return {c: b for c, b in read.items() if b is not None}, sum(1 for b in read.values() if b is None)


def types_in_use(store: PartitionStore, customer_ids: set[str]) -> set[str]:
    """The custom types the targeted customers had when last extracted (the latest version wins)."""
    frame = store.read("commercetools/customers", columns=["id", "version", "custom_type_id"])
    if frame.empty:
        return set()
    latest = frame[frame["id"].isin(customer_ids)].sort_values("version").drop_duplicates("id", keep="last")
    return set(latest["custom_type_id"].dropna())


def prepare_types(client: CommercetoolsClient, rule: WritebackRule,
                  in_use: set[str]) -> tuple[list[str], dict[str, str]]:
    """Make sure the targeted customers can hold the voyado fields: our type exists with every field, and
    (``extend``) the other types those customers use get the missing definitions; types nobody we write
    to uses are left alone. Returns the usable type ids and, per type that cannot take them, why. A
    customer whose type changed since extraction is refused at write time and retried on a rerun."""
    try:
        ours = client.get_by_key("types", rule.type_key)
    except NotFoundError:
        ours = client.create_type(type_draft(rule))
    usable, refused = [], {}
    for t in client.iter_documents("types"):
        if "customer" not in (t.get("resourceTypeIds") or []) or (t["id"] != ours["id"] and t["id"] not in in_use):
            continue
        if t["id"] != ours["id"] and rule.other_type == "refuse":
            refused[t.get("key") or t["id"]] = "writeback.other_type is refuse"
            continue
        missing, clashes = missing_definitions(t)
        if clashes:
            refused[t.get("key") or t["id"]] = f"defines {', '.join(clashes)} with another field type"
            continue
        if missing:
            client.update_type(t["id"], t["version"], [{"action": "addFieldDefinition", "fieldDefinition": d}
                                                      for d in missing])
        usable.append(t["id"])
    return usable, refused


def writeback_frame(contacts: list[dict[str, Any]], contact_map: dict[str, str], rule: WritebackRule,
                    balances: dict[str, int] | None = None) -> pd.DataFrame:
    rows = customer_targets(contacts, contact_map, rule, balances)
    frame = pd.DataFrame(rows, columns=["key", "contact_id", "status", "reason", "payload"])
    frame["payload"] = json_column(frame["payload"])
    return frame


def writeback_items(frame: pd.DataFrame, partition_key: str) -> list[SyncItem]:
    items = []
    for row in frame.itertuples(index=False):
        if row.status == "update":
            items.append(SyncItem(row.key, ENDPOINT, json.loads(row.payload), partition_key, DATASET))
        elif row.status == "rejected":
            items.append(SyncItem(row.key, ENDPOINT, unmapped_payload("contact", row.contact_id, row.reason),
                                  partition_key, DATASET))
    return items


def build_frame(step: Step) -> pd.DataFrame:
    """Decided at push time against Voyado's point balances as read now, and stored for replay."""
    rules = mapping_config().rules
    contacts = _contacts(step.store, step.partition_key)
    balances, unread = _balances(step.resource("engage"), sorted(str(c["id"]) for c in contacts if c.get("id")),
                                 rules.loyalty.definition_id)
    step.metadata["balances_unread"] = dg.MetadataValue.int(unread)
    customers = read_contact_lookup(step.store, step.partition_key, step.state_db.engine()).customer_of_contact()
    frame = writeback_frame(contacts, customers, rules.writeback, balances)
    step.store.write_frame(DATASET, step.partition_key, frame)
    return frame


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Consent, preferences, marketing suppression, loyalty tier and point balance of the day's changed
    Voyado contacts (and of those whose points moved), written to their Commercetools customers as voyado*
    custom fields (only what changed; never replacing a customer's existing custom type)."""
    rule = mapping_config().rules.writeback
    usable: list[str] = []
    refused: dict[str, str] = {}
    if not step.dry_run:
        targets = set(frame.loc[frame["status"] == "update", "key"])
        usable, refused = prepare_types(step.resource("commercetools").client(), rule,
                                        types_in_use(step.store, targets))
        for type_key, why in refused.items():
            step.context.log.warning(f"customer type {type_key} cannot hold the voyado fields: {why}")
    step.metadata["types_refused"] = dg.MetadataValue.json(refused)
    return [Batch(ENDPOINT, writeback_items(frame, step.partition_key),
                  {"rule": rule, "usable_type_ids": usable})]


def summarize(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list]:
    counts = frame["status"].value_counts()
    suppressed = sum(1 for p in frame["payload"].dropna() if json.loads(p)["fields"]["voyadoMarketingSuppressed"])
    return {
        "contacts": dg.MetadataValue.int(len(frame)),
        "customers_targeted": dg.MetadataValue.int(int(counts.get("update", 0))),
        "no_customer": dg.MetadataValue.int(int(counts.get("skipped", 0))),
        "refused_contacts": dg.MetadataValue.int(int(counts.get("rejected", 0))),
        "suppressed": dg.MetadataValue.int(suppressed),
    }, []


SPEC = PushSpec(
    key=("commercetools", "customer_fields_writeback"), api=Api.COMMERCETOOLS, dataset=DATASET, plan=plan,
    frame=build_frame, summarize=summarize, resources=frozenset({"engage"}),
    deps=[dg.AssetKey(["voyado", "contacts"]), dg.AssetKey(["identity", "contact_map"]),
          dg.AssetKey(["commercetools", "customers"]), dg.AssetKey(["voyado", "point_transactions_sync"])],
)

(customer_fields_writeback,) = push_assets(SPEC)
