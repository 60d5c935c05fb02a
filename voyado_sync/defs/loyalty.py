"""Loyalty points from Commercetools checkout → Voyado: the payload asset (points redeemed, and earned
when Commercetools is the system of record, per sale order of the day; pure rules in
`voyado_sync.mapping.loyalty`) and the push asset (point transactions with an Idempotency-Key through
the sync engine). Balances flow back to Commercetools through the customer fields write-back."""

import json

import dagster as dg
import pandas as pd

from voyado_sync.defs.receipts import (contact_lookups, latest_documents, mapping_config, unmapped_payload,
                                      unmapped_reason)
from voyado_sync.mapping.loyalty import point_transactions
from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.sync.dagster_push import PushConfig, run_push
from voyado_sync.sync.ledger import last_successful_hashes
from voyado_sync.sync.models import SyncItem

PAYLOAD_KEY = dg.AssetKey(["voyado", "point_transactions_payload"])
SYNC_KEY = dg.AssetKey(["voyado", "point_transactions_sync"])
PAYLOAD_DATASET = "voyado/point_transactions_payload"
ENDPOINT = "point_transactions"


@dg.asset(
    key=PAYLOAD_KEY, group_name="voyado", kinds={"pandas", "parquet"}, partitions_def=daily_partitions,
    deps=[dg.AssetKey(["commercetools", "orders"]), dg.AssetKey(["identity", "contact_map"])],
    description="Voyado point transactions for points redeemed at checkout (and earned, when Commercetools is "
                "the loyalty system of record), one per order and kind, with held-back and rejected reasons.",
)
def point_transactions_payload(context: dg.AssetExecutionContext, partition_store: PartitionStoreResource,
                               state_db: StateDatabase) -> dg.MaterializeResult:
    store = partition_store.store()
    key = context.partition_key
    rules = mapping_config().rules
    by_customer, _ = contact_lookups(store, key)
    orders = latest_documents(store, "commercetools/orders", [key])
    # Which of these orders' transactions Voyado already holds: a cancellation reverses only those.
    kinds = ("burn", "earn")
    booked = last_successful_hashes(state_db.engine(), ENDPOINT,
                                    [f"ct-points:{o.get('id')}:{k}" for o in orders if o.get("orderState") == "Cancelled"
                                     for k in kinds])
    rows = point_transactions(orders, by_customer, rules.loyalty, rules.sale, booked)
    frame = pd.DataFrame(rows, columns=["key", "order_id", "kind", "status", "reason", "payload"])
    frame["payload"] = [json.dumps(p, sort_keys=True) if p is not None else None for p in frame["payload"]]
    store.write_frame(PAYLOAD_DATASET, key, frame)
    sent = frame[frame["status"] == "send"]
    points: dict[str, int] = {}
    for kind, payload in zip(sent["kind"], sent["payload"]):
        points[kind] = points.get(kind, 0) + int(json.loads(payload)["amount"])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "system_of_record": dg.MetadataValue.text(rules.loyalty.system_of_record),
        "transactions": dg.MetadataValue.int(len(sent)),
        "points_by_kind": dg.MetadataValue.json(points),   # burn < 0, earn > 0, reversals the opposite
        "held": dg.MetadataValue.int(int((frame["status"] == "held").sum())),
        "rejected": dg.MetadataValue.int(int((frame["status"] == "rejected").sum())),
        "reasons": dg.MetadataValue.json({str(k): int(v) for k, v in frame["reason"].value_counts().items()}),
    })


@dg.asset(
    key=SYNC_KEY, group_name="voyado", kinds={"voyado"}, partitions_def=daily_partitions, pool="voyado_api",
    deps=[PAYLOAD_KEY, dg.AssetKey(["voyado", "contacts_sync"])],
    description="Books the day's point transactions in Voyado Engage (≤ 1 000 rows per request with an "
                "Idempotency-Key; rows Voyado does not accept become dead letters with its reason).",
)
def point_transactions_sync(context: dg.AssetExecutionContext, config: PushConfig, engage: EngageResource,
                            state_db: StateDatabase, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    frame = partition_store.store().read(PAYLOAD_DATASET, [context.partition_key])
    items = [] if frame.empty else [
        SyncItem(r.key, ENDPOINT, json.loads(r.payload) if r.status == "send" else
                 unmapped_payload("points", r.order_id, r.reason), context.partition_key, PAYLOAD_DATASET)
        for r in frame.itertuples(index=False) if r.status in ("send", "rejected")]
    return run_push(context, items, ENDPOINT, engage=engage, state_db=state_db, dry_run=config.dry_run,
                    local_validate=unmapped_reason)
