"""Orders, returns and POS receipts → Voyado receipts: the payload asset (pure mapping + blocking
validation) and the push asset (sync engine + reconciliation after sending)."""

import json
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.mapping.categories import category_paths, product_category_paths
from voyado_sync.mapping.config import MappingConfig, cached_config
from voyado_sync.mapping.context import MappingContext
from voyado_sync.mapping.frame import order_results, pos_results, reject_repeated_ids, results_frame, unvalidated
from voyado_sync.mapping.models import loads
from voyado_sync.partitions import daily_partitions
from voyado_sync.reconciliation import reconcile
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.settings import get_settings
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.dagster_push import PushConfig, run_push
from voyado_sync.sync.ledger import last_successful_hashes
from voyado_sync.sync.models import SyncItem, payload_hash

PAYLOAD_KEY = dg.AssetKey(["voyado", "receipts_payload"])
SYNC_KEY = dg.AssetKey(["voyado", "receipts_sync"])
PAYLOAD_DATASET = "voyado/receipts_payload"
ENDPOINT = "receipts"


def mapping_config() -> MappingConfig:
    return cached_config(str(get_settings().config_dir))


def latest_documents(store: PartitionStore, dataset: str, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The current state of a dataset: the highest version of every document over the given partitions
    (all when None; a product changed on three days sits in three partitions). Documents without a
    version (Voyado contacts) keep the one read last, i.e. from the latest partition."""
    frame = store.read(dataset, keys, columns=["raw"])
    latest: dict[str, dict[str, Any]] = {}
    for raw in frame["raw"] if "raw" in frame else ():
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            continue
        known = latest.get(doc.get("id"))
        if known is None or (doc.get("version") or 0) >= (known.get("version") or 0):
            latest[doc.get("id")] = doc
    return list(latest.values())


def contact_lookups(store: PartitionStore, partition_key: str) -> tuple[dict[str, str], dict[str, str]]:
    """Customer id → Voyado contact id and email → Voyado contact id from identity resolution: the
    partition's contact map (profile → the contact that wins) joined with its profiles' customer ids and
    golden email."""
    cmap = store.read("identity/contact_map", [partition_key])
    profiles = store.read("identity/profiles", [partition_key])
    by_customer: dict[str, str] = {}
    by_email: dict[str, str] = {}
    if cmap.empty or profiles.empty or "voyado_contact_id" not in cmap or "profile_id" not in profiles:
        return by_customer, by_email
    contact_of = {p: c for p, c in zip(cmap["profile_id"], cmap["voyado_contact_id"]) if isinstance(c, str) and c}
    for row in profiles.itertuples(index=False):
        contact = contact_of.get(row.profile_id)
        if not contact:
            continue
        customers = getattr(row, "ct_customer_ids", None)
        for customer in customers if customers is not None and not isinstance(customers, str) else ():
            if isinstance(customer, str) and customer:
                by_customer[customer] = contact
        email = getattr(row, "email", None)
        if isinstance(email, str) and email:
            by_email[email] = contact
    return by_customer, by_email


def mapping_context(store: PartitionStore, partition_key: str) -> MappingContext:
    paths = category_paths(latest_documents(store, "commercetools/categories"))
    products = product_category_paths(latest_documents(store, "commercetools/product_projections"), paths)
    by_customer, by_email = contact_lookups(store, partition_key)
    return MappingContext(config=mapping_config(), product_categories=products, contact_ids=by_customer,
                          email_contact_ids=by_email)


def _raw(store: PartitionStore, dataset: str, key: str) -> list[str]:
    frame = store.read(dataset, [key], columns=["raw"])
    return list(frame["raw"]) if "raw" in frame else []


def _preview(frame: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    cols = ["kind", "status", "unique_receipt_id", "currency", "store_external_id", "total_gross", "reason"]
    return dg.MetadataValue.md(frame[cols].head(n).to_markdown(index=False) if not frame.empty else "(empty)")


@dg.asset(
    key=PAYLOAD_KEY, group_name="voyado", kinds={"pandas", "parquet"}, partitions_def=daily_partitions,
    deps=[dg.AssetKey(["commercetools", "orders"]), dg.AssetKey(["pos", "receipts"]),
          dg.AssetKey(["commercetools", "product_projections"]), dg.AssetKey(["commercetools", "categories"]),
          dg.AssetKey(["identity", "contact_map"])],
    check_specs=[dg.AssetCheckSpec(
        "receipts_consistent", asset=PAYLOAD_KEY, blocking=True,
        description="Every receipt to be sent has totalGrossPrice = Σ items (+ shipping) = Σ payments, "
                    "consistent tax sums, a known currency and a unique uniqueReceiptId. Receipts that fail "
                    "are routed to dead letters with the reason; this check blocks the push if one slipped through.")],
    description="Voyado receipt payloads for the partition's Commercetools orders (purchases and returns) and "
                "POS receipts, with skip and rejection reasons.",
)
def receipts_payload(context: dg.AssetExecutionContext, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    store = partition_store.store()
    key = context.partition_key
    ctx = mapping_context(store, key)
    results = order_results(_raw(store, "commercetools/orders", key), ctx) + pos_results(
        _raw(store, "pos/receipts", key), ctx)
    frame = results_frame(results)  # every receipt in it was validated when mapped
    repeated = reject_repeated_ids(frame)
    # Replay reads dead letters' current payloads by the (key, payload) convention of payload datasets.
    frame.insert(0, "key", frame["unique_receipt_id"].where(frame["unique_receipt_id"].notna(),
                                                          "unmapped:" + frame["kind"] + ":" + frame["source_id"]))
    store.write_frame(PAYLOAD_DATASET, key, frame)

    # The push reads what was persisted: a sendable receipt there that is not one validated above blocks it.
    persisted = store.read(PAYLOAD_DATASET, [key])
    sendable = persisted[persisted["status"] == "receipt"]
    still_bad = unvalidated(frame, persisted)
    counts = frame.groupby(["kind", "status"]).size()
    reasons = frame.loc[frame["status"] == "rejected", "reason"].str.split(":").str[0].value_counts()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(frame)),
            "receipts": dg.MetadataValue.int(int((frame["status"] == "receipt").sum())),
            "purchases": dg.MetadataValue.int(int(counts.get(("purchase", "receipt"), 0))),
            "returns": dg.MetadataValue.int(int(counts.get(("return", "receipt"), 0))),
            "pos": dg.MetadataValue.int(int(counts.get(("pos", "receipt"), 0))),
            "skipped_not_a_sale": dg.MetadataValue.int(int((frame["status"] == "skipped").sum())),
            "rejected": dg.MetadataValue.int(int((frame["status"] == "rejected").sum())),
            "failed_validation": dg.MetadataValue.int(repeated),
            "rejection_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in reasons.head(20).items()}),
            "preview": _preview(frame),
        },
        check_results=[consistency_result(frame, sendable, still_bad)],
    )


def consistency_result(frame: pd.DataFrame, sendable: pd.DataFrame, still_bad: list[list[str]]) -> dg.AssetCheckResult:
    """Fails (WARN) when any document could not become a valid receipt: those go to dead letters with their
    reason and the others are sent. Fails at ERROR, blocking the push, only if a receipt marked sendable
    does not hold the invariants."""
    rejected = frame[frame["status"] == "rejected"]
    return dg.AssetCheckResult(
        check_name="receipts_consistent", passed=rejected.empty and not still_bad,
        severity=dg.AssetCheckSeverity.ERROR if still_bad else dg.AssetCheckSeverity.WARN,
        description=(f"{len(still_bad)} sendable receipts fail validation: push blocked" if still_bad else
                     f"{len(rejected)} documents routed to dead letters with their reason" if len(rejected) else None),
        metadata={"sendable": len(sendable), "routed_to_dead_letters": len(rejected),
                  "problems_in_sendable": len(still_bad),
                  "sample_reasons": dg.MetadataValue.json(sorted(set(rejected["reason"].astype(str)))[:10])})


def receipt_items(frame: pd.DataFrame, partition_key: str) -> list[SyncItem]:
    """Receipts to send, plus unmappable documents as items that local validation dead-letters with their
    reason (they never reach the network). Skipped documents (not a sale yet) are not items."""
    items = []
    for row in frame.itertuples(index=False):
        if row.status == "receipt":
            items.append(SyncItem(row.unique_receipt_id, ENDPOINT, loads(row.payload), partition_key, PAYLOAD_DATASET))
        elif row.status == "rejected":
            items.append(SyncItem(row.key, ENDPOINT, unmapped_payload(row.kind, row.source_id, row.reason),
                                  partition_key, PAYLOAD_DATASET))
    return items


def unmapped_payload(kind: Any, source_id: Any, reason: Any) -> dict[str, Any]:
    """The item a push asset sends for a document it could not map: local validation (`unmapped_reason`)
    turns it into a dead letter with the reason, so it never reaches the network."""
    return {"unmapped": kind, "sourceId": source_id, "reason": reason}


def unmapped_reason(payload: Any) -> str | None:
    return f"unmappable {payload['unmapped']}: {payload['reason']}" if isinstance(payload, Mapping) and \
        "unmapped" in payload else None


def held_by_voyado(state_db: StateDatabase, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Receipts whose current payload is the last one Voyado accepted, according to the ledger."""
    sendable = frame[frame["status"] == "receipt"]
    payloads = {row.unique_receipt_id: loads(row.payload) for row in sendable.itertuples(index=False)}
    hashes = last_successful_hashes(state_db.engine(), ENDPOINT, payloads)
    return [p for k, p in payloads.items() if hashes.get(k) == payload_hash(p)]


def reconciliation_check(store: PartitionStore, state_db: StateDatabase, key: str, frame: pd.DataFrame,
                         held: list[dict[str, Any]]) -> dg.AssetCheckResult:
    orders = [json.loads(r) for r in _raw(store, "commercetools/orders", key)]
    mapped: Iterable[tuple[str, Any]] = [(r.kind, loads(r.payload)) for r in frame.itertuples(index=False)
                                         if r.status == "receipt"]
    result = reconcile(orders, mapped, held, mapping_config())
    table = result.rows()
    return dg.AssetCheckResult(
        check_name="reconciled_with_commercetools", passed=result.reconciled,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if result.reconciled else f"{len(result.differences)} day×currency×store groups differ",
        metadata={"groups": len(table), "differences": dg.MetadataValue.json(result.differences[:50]),
                  "unexplained_orders": dg.MetadataValue.json(result.unexplained[:50]),
                  "by_group": dg.MetadataValue.md(pd.DataFrame(table).to_markdown(index=False) if table else "(none)")},
    )


@dg.asset(
    key=SYNC_KEY, group_name="voyado", kinds={"voyado"}, partitions_def=daily_partitions, pool="voyado_api",
    deps=[PAYLOAD_KEY, dg.AssetKey(["voyado", "contacts_sync"])],
    check_specs=[dg.AssetCheckSpec(
        "reconciled_with_commercetools", asset=SYNC_KEY,
        description="Per day × currency × store, the receipts Voyado holds (per the ledger) sum to the "
                    "Commercetools order totals minus returns (plus POS), to the cent, with equal counts.")],
    description="Pushes the partition's receipts to Voyado Engage through the sync engine (ledger, dead letters).",
)
def receipts_sync(context: dg.AssetExecutionContext, config: PushConfig, engage: EngageResource,
                  state_db: StateDatabase, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    store = partition_store.store()
    frame = store.read(PAYLOAD_DATASET, [context.partition_key])
    items = receipt_items(frame, context.partition_key)
    pushed = run_push(context, items, ENDPOINT, engage=engage, state_db=state_db, dry_run=config.dry_run,
                      local_validate=unmapped_reason)
    metadata = dict(pushed.metadata or {})
    if config.dry_run:
        return dg.MaterializeResult(metadata=metadata, check_results=[dg.AssetCheckResult(
            check_name="reconciled_with_commercetools", passed=True, severity=dg.AssetCheckSeverity.WARN,
            description="dry run: nothing was sent, nothing to reconcile")])
    held = held_by_voyado(state_db, frame)
    metadata["receipts_held"] = dg.MetadataValue.int(len(held))
    metadata["returns_held"] = dg.MetadataValue.int(
        sum(1 for p in held if p["items"] and all(i["type"] == "RETURN" for i in p["items"])))
    return dg.MaterializeResult(metadata=metadata, check_results=[
        reconciliation_check(store, state_db, context.partition_key, frame, held)])
