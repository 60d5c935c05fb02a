"""Loyalty points from Commercetools checkout → Voyado: the payload asset (points redeemed, and earned
when Commercetools is the system of record, per sale order of the day; pure rules in
`voyado_sync.mapping.loyalty`) and the push asset (point transactions with an Idempotency-Key through
the sync engine). Balances flow back to Commercetools through the customer fields write-back."""

import json

import dagster as dg
import pandas as pd

from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.contacts import read_contact_lookup
from voyado_sync.lookups.documents import latest_documents
from voyado_sync.mapping.loyalty import point_transactions
from voyado_sync.seam import Batch, Built, PayloadSpec, PushSpec, Step, json_column, push_assets, unmapped_payload
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.ledger import last_successful_hashes
from voyado_sync.sync.models import SyncItem

PAYLOAD_DATASET = "voyado/point_transactions_payload"
ENDPOINT = "point_transactions"


def build_payload(step: Step) -> Built:
    """Voyado point transactions for points redeemed at checkout (and earned, when Commercetools is the
    loyalty system of record), one per order and kind, with held-back and rejected reasons."""
    store, key = step.store, step.partition_key
    rules = mapping_config().rules
    orders = latest_documents(store, "commercetools/orders", [key])
    # Which of these orders' transactions Voyado already holds: a cancellation reverses only those.
    kinds = ("burn", "earn")
    booked = last_successful_hashes(step.state_db.engine(), ENDPOINT,
                                    [f"ct-points:{o.get('id')}:{k}" for o in orders if o.get("orderState") == "Cancelled"
                                     for k in kinds])
    contacts = read_contact_lookup(store, key, step.state_db.engine()).by_customer
    rows = point_transactions(orders, contacts, rules.loyalty, rules.sale, booked)
    frame = pd.DataFrame(rows, columns=["key", "order_id", "kind", "status", "reason", "payload"])
    frame["payload"] = json_column(frame["payload"])
    sent = frame[frame["status"] == "send"]
    points: dict[str, int] = {}
    for kind, payload in zip(sent["kind"], sent["payload"]):
        points[kind] = points.get(kind, 0) + int(json.loads(payload)["amount"])
    return Built(frame, metadata={
        "system_of_record": dg.MetadataValue.text(rules.loyalty.system_of_record),
        "transactions": dg.MetadataValue.int(len(sent)),
        "points_by_kind": dg.MetadataValue.json(points),   # burn < 0, earn > 0, reversals the opposite
        "held": dg.MetadataValue.int(int((frame["status"] == "held").sum())),
        "rejected": dg.MetadataValue.int(int((frame["status"] == "rejected").sum())),
        "reasons": dg.MetadataValue.json({str(k): int(v) for k, v in frame["reason"].value_counts().items()}),
    })


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Books the day's point transactions in Voyado Engage (≤ 1 000 rows per request with an
    Idempotency-Key; rows Voyado does not accept become dead letters with its reason)."""
    items = [] if frame.empty else [
        SyncItem(r.key, ENDPOINT, json.loads(r.payload) if r.status == "send" else
                 unmapped_payload("points", r.order_id, r.reason), step.partition_key, PAYLOAD_DATASET)
        for r in frame.itertuples(index=False) if r.status in ("send", "rejected")]
    return [Batch(ENDPOINT, items)]


SPEC = PushSpec(
    key=("voyado", "point_transactions_sync"), api=Api.ENGAGE, dataset=PAYLOAD_DATASET, plan=plan,
    payload=PayloadSpec(build_payload, deps=[
        dg.AssetKey(["commercetools", "orders"]), dg.AssetKey(["voyado", "contacts"]),
        dg.AssetKey(["identity", "contact_map"]), dg.AssetKey(["voyado", "contacts_sync"])]),
)

point_transactions_payload, point_transactions_sync = push_assets(SPEC)
