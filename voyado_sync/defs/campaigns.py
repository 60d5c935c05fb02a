"""Behaviour → Voyado automations: the payload asset (what the day's orders, carts, stock and contact
changes should set off, and what is held back and why; pure rules in `voyado_sync.mapping.campaigns`)
and the push asset (custom triggers at most once, tracked carts and stock levels, through the sync
engine)."""

import json
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.defs.contacts import merge_metadata
from voyado_sync.defs.receipts import contact_lookups, latest_documents, mapping_config
from voyado_sync.mapping.campaigns import CampaignDay, campaign_events
from voyado_sync.mapping.customer_fields import tier_of
from voyado_sync.mapping.order import not_a_sale
from voyado_sync.partitions import daily_partitions, partition_window_utc
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.dagster_push import PushConfig, run_push
from voyado_sync.sync.models import SyncItem

PAYLOAD_KEY = dg.AssetKey(["voyado", "campaign_payload"])
SYNC_KEY = dg.AssetKey(["voyado", "campaign_sync"])
PAYLOAD_DATASET = "voyado/campaign_payload"
ENDPOINTS = ("triggers", "carts", "stock_levels")


def _earlier_buyers(store: PartitionStore, key: str) -> tuple[set[str], datetime | None]:
    """Customers with a sale in an orders partition before ``key``, and where the extracted history starts."""
    rule = mapping_config().rules.sale
    keys = store.partitions("commercetools/orders")
    before = [k for k in keys if k < key]
    buyers: set[str] = set()
    cols = ["customer_id", "order_state", "payment_state", "shipment_state"]
    frame = store.read("commercetools/orders", before, columns=cols) if before else pd.DataFrame(columns=cols)
    for row in frame.dropna(subset=["customer_id"]).itertuples(index=False):
        if not_a_sale({"orderState": row.order_state, "paymentState": row.payment_state,
                       "shipmentState": row.shipment_state}, rule) is None:
            buyers.add(row.customer_id)
    return buyers, (partition_window_utc(keys[0])[0] if keys else None)


def _created(store: PartitionStore) -> dict[str, datetime]:
    frame = store.read("commercetools/customers", columns=["id", "created_at"])
    out: dict[str, datetime] = {}
    for cid, ts in zip(frame.get("id", []), frame.get("created_at", [])):
        if isinstance(cid, str) and pd.notna(ts):
            stamp = pd.Timestamp(ts)
            out[cid] = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()
    return out


def campaign_day(store: PartitionStore, key: str) -> CampaignDay:
    writeback = mapping_config().rules.writeback
    contacts: dict[str, dict[str, Any]] = {}
    previous_tiers: dict[str, str] = {}
    today: list[dict[str, Any]] = []
    for part in store.partitions("voyado/contacts"):
        for doc in latest_documents(store, "voyado/contacts", [part]):
            cid = doc.get("id")
            contacts[cid] = doc   # the latest consent counts, even one given after the day
            tier = tier_of(doc, writeback)
            if part < key and tier:
                previous_tiers[cid] = tier
            elif part == key:
                today.append(doc)
    contact_of = {ext: cid for cid, doc in contacts.items()
                  if (ext := (doc.get("attributes") or {}).get("externalId"))}
    contact_of.update(contact_lookups(store, key)[0])
    buyers, history_start = _earlier_buyers(store, key)
    return CampaignDay(
        orders=latest_documents(store, "commercetools/orders", [key]), earlier_buyers=buyers,
        history_start=history_start, customers_created=_created(store),
        carts=latest_documents(store, "commercetools/carts", [key]),
        inventory=latest_documents(store, "commercetools/inventory", [key]),
        contacts_today=today, previous_tiers=previous_tiers, contacts=contacts, contact_of_customer=contact_of,
        channel_ids={c["key"]: c["id"] for c in latest_documents(store, "commercetools/channels") if c.get("key")})


def campaign_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["kind", "key", "endpoint", "status", "reason", "contact_id", "payload"])
    frame["payload"] = [json.dumps(p, sort_keys=True) if p is not None else None for p in frame["payload"]]
    return frame


@dg.asset(
    key=PAYLOAD_KEY, group_name="voyado", kinds={"pandas", "parquet"}, partitions_def=daily_partitions,
    deps=[dg.AssetKey(["commercetools", n]) for n in ("orders", "carts", "inventory", "customers", "channels")]
    + [dg.AssetKey(["voyado", "contacts"]), dg.AssetKey(["identity", "contact_map"])],
    description="What the day's behaviour should set off in Voyado: first-purchase and tier-change triggers, "
                "tracked carts (emptied once ordered), stock levels for back-in-stock; each held back with "
                "the reason when the contact has not given marketing consent.",
)
def campaign_payload(context: dg.AssetExecutionContext, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    store = partition_store.store()
    rules = mapping_config().rules
    frame = campaign_frame(campaign_events(campaign_day(store, context.partition_key), rules.campaigns, rules.sale,
                                           rules.writeback))
    store.write_frame(PAYLOAD_DATASET, context.partition_key, frame)
    counts = frame.groupby(["kind", "status"]).size()
    held = frame[frame["status"] == "held"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "events": dg.MetadataValue.json({f"{k}/{s}": int(v) for (k, s), v in counts.items()}),
        "held_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in held["reason"].value_counts().items()}),
        "suppressed": dg.MetadataValue.int(int(held["reason"].str.startswith("marketing suppressed").sum())),
        "preview": dg.MetadataValue.md(frame[["kind", "key", "status", "reason"]].head(10).to_markdown(index=False)
                                       if len(frame) else "(empty)"),
    })


@dg.asset(
    key=SYNC_KEY, group_name="voyado", kinds={"voyado"}, partitions_def=daily_partitions, pool="voyado_api",
    deps=[PAYLOAD_KEY, dg.AssetKey(["voyado", "contacts_sync"])],
    description="Fires the day's custom triggers (at most once per event key), tracks carts and publishes "
                "stock levels in Voyado Engage through the sync engine.",
)
def campaign_sync(context: dg.AssetExecutionContext, config: PushConfig, engage: EngageResource,
                  state_db: StateDatabase, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    frame = partition_store.store().read(PAYLOAD_DATASET, [context.partition_key])
    sendable = frame[frame["status"] == "send"] if not frame.empty else frame
    results = []
    for endpoint in ENDPOINTS:
        rows = sendable[sendable["endpoint"] == endpoint] if not sendable.empty else sendable
        items = [SyncItem(r.key, endpoint, json.loads(r.payload), context.partition_key, PAYLOAD_DATASET)
                 for r in rows.itertuples(index=False)]
        if items:
            pushed = run_push(context, items, endpoint, engage=engage, state_db=state_db, dry_run=config.dry_run)
            results.append(pushed)
            context.log.info(f"{endpoint}: {len(items)} item(s)")
    metadata = merge_metadata(results) if results else {"dagster/row_count": dg.MetadataValue.int(0)}
    metadata.pop("endpoint", None)
    for endpoint in ENDPOINTS:
        metadata[f"items/{endpoint}"] = dg.MetadataValue.int(
            int((sendable["endpoint"] == endpoint).sum()) if not sendable.empty else 0)
    return dg.MaterializeResult(metadata=metadata)
