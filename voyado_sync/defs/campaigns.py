"""Behaviour → Voyado automations: the payload asset (what the day's orders, carts, stock and contact
changes should set off, and what is held back and why; pure rules in `voyado_sync.mapping.campaigns`)
and the push asset (custom triggers at most once, tracked carts and stock levels, through the sync
engine)."""

import json
from datetime import datetime
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.contacts import read_contact_lookup
from voyado_sync.lookups.documents import latest_documents
from voyado_sync.mapping.campaigns import CampaignDay, campaign_events
from voyado_sync.mapping.customer_fields import tier_of
from voyado_sync.mapping.order import not_a_sale
from voyado_sync.partitions import partition_window_utc
from voyado_sync.seam import Batch, Built, PayloadSpec, PushSpec, Step, json_column, push_assets
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.models import SyncItem, SyncReport

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


def campaign_day(store: PartitionStore, key: str, state_engine: Any = None) -> CampaignDay:
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
    buyers, history_start = _earlier_buyers(store, key)
    return CampaignDay(
        orders=latest_documents(store, "commercetools/orders", [key]), earlier_buyers=buyers,
        history_start=history_start, customers_created=_created(store),
        carts=latest_documents(store, "commercetools/carts", [key]),
        inventory=latest_documents(store, "commercetools/inventory", [key]),
        contacts_today=today, previous_tiers=previous_tiers, contacts=contacts,
        contact_of_customer=dict(read_contact_lookup(store, key, state_engine).by_customer),
        channel_ids={c["key"]: c["id"] for c in latest_documents(store, "commercetools/channels") if c.get("key")})


def campaign_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["kind", "key", "endpoint", "status", "reason", "contact_id", "payload"])
    frame["payload"] = json_column(frame["payload"])
    return frame


def build_payload(step: Step) -> Built:
    """What the day's behaviour should set off in Voyado: first-purchase and tier-change triggers, tracked
    carts (emptied once ordered), stock levels for back-in-stock; each held back with the reason when the
    contact has not given marketing consent."""
    rules = mapping_config().rules
    day = campaign_day(step.store, step.partition_key, step.state_db.engine())
    frame = campaign_frame(campaign_events(day, rules.campaigns, rules.sale, rules.writeback))
    counts = frame.groupby(["kind", "status"]).size()
    held = frame[frame["status"] == "held"]
    return Built(frame, metadata={
        "events": dg.MetadataValue.json({f"{k}/{s}": int(v) for (k, s), v in counts.items()}),
        "held_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in held["reason"].value_counts().items()}),
        "suppressed": dg.MetadataValue.int(int(held["reason"].str.startswith("marketing suppressed").sum())),
        "preview": dg.MetadataValue.md(frame[["kind", "key", "status", "reason"]].head(10).to_markdown(index=False)
                                       if len(frame) else "(empty)"),
    })


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Fires the day's custom triggers (at most once per event key), tracks carts and publishes stock levels
    in Voyado Engage through the sync engine."""
    sendable = frame[frame["status"] == "send"] if not frame.empty else frame
    return [Batch(endpoint, [SyncItem(r.key, endpoint, json.loads(r.payload), step.partition_key, PAYLOAD_DATASET)
                             for r in sendable.itertuples(index=False) if r.endpoint == endpoint])
            for endpoint in ENDPOINTS]


def items_per_endpoint(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list]:
    return {f"items/{p.endpoint}": dg.MetadataValue.int(p.total) for p in report.parts}, []


SPEC = PushSpec(
    key=("voyado", "campaign_sync"), api=Api.ENGAGE, dataset=PAYLOAD_DATASET, plan=plan,
    summarize=items_per_endpoint,
    payload=PayloadSpec(build_payload, deps=[
        *(dg.AssetKey(["commercetools", n]) for n in ("orders", "carts", "inventory", "customers", "channels")),
        dg.AssetKey(["voyado", "contacts"]), dg.AssetKey(["identity", "contact_map"]),
        dg.AssetKey(["voyado", "contacts_sync"])]),
)

campaign_payload, campaign_sync = push_assets(SPEC)
