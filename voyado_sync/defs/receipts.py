"""Orders, returns and POS receipts → Voyado receipts: the payload asset (pure mapping + blocking
validation) and the push asset (sync engine + reconciliation after sending)."""

import json
from collections.abc import Iterable
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.contacts import read_contact_lookup
from voyado_sync.lookups.documents import latest_documents, raw_documents
from voyado_sync.mapping.categories import category_paths, product_category_paths
from voyado_sync.mapping.context import MappingContext
from voyado_sync.mapping.frame import order_results, pos_results, reject_repeated_ids, results_frame, unvalidated
from voyado_sync.mapping.models import loads
from voyado_sync.reconciliation import reconcile
from voyado_sync.seam import Batch, Built, PayloadSpec, PushSpec, Step, push_assets, unmapped_payload
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.ledger import last_successful_hashes
from voyado_sync.sync.models import SyncItem, SyncReport, payload_hash

PAYLOAD_DATASET = "voyado/receipts_payload"
ENDPOINT = "receipts"
CONSISTENT = "receipts_consistent"
RECONCILED = "reconciled_with_commercetools"


def mapping_context(store: PartitionStore, partition_key: str) -> MappingContext:
    paths = category_paths(latest_documents(store, "commercetools/categories"))
    products = product_category_paths(latest_documents(store, "commercetools/product_projections"), paths)
    contacts = read_contact_lookup(store, partition_key)
    return MappingContext(config=mapping_config(), product_categories=products, contact_ids=contacts.by_customer,
                          email_contact_ids=contacts.by_email)


def _preview(frame: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    cols = ["kind", "status", "unique_receipt_id", "currency", "store_external_id", "total_gross", "reason"]
    return dg.MetadataValue.md(frame[cols].head(n).to_markdown(index=False) if not frame.empty else "(empty)")


def build_payload(step: Step) -> Built:
    """Voyado receipt payloads for the partition's Commercetools orders (purchases and returns) and POS
    receipts, with skip and rejection reasons."""
    store, key = step.store, step.partition_key
    ctx = mapping_context(store, key)
    results = order_results(raw_documents(store, "commercetools/orders", key), ctx) + pos_results(
        raw_documents(store, "pos/receipts", key), ctx)
    frame = results_frame(results)  # every receipt in it was validated when mapped
    repeated = reject_repeated_ids(frame)
    # Replay reads dead letters' current payloads by the (key, payload) convention of payload datasets.
    frame.insert(0, "key", frame["unique_receipt_id"].where(frame["unique_receipt_id"].notna(),
                                                          "unmapped:" + frame["kind"] + ":" + frame["source_id"]))
    counts = frame.groupby(["kind", "status"]).size()
    reasons = frame.loc[frame["status"] == "rejected", "reason"].str.split(":").str[0].value_counts()
    return Built(frame, metadata={
        "receipts": dg.MetadataValue.int(int((frame["status"] == "receipt").sum())),
        "purchases": dg.MetadataValue.int(int(counts.get(("purchase", "receipt"), 0))),
        "returns": dg.MetadataValue.int(int(counts.get(("return", "receipt"), 0))),
        "pos": dg.MetadataValue.int(int(counts.get(("pos", "receipt"), 0))),
        "skipped_not_a_sale": dg.MetadataValue.int(int((frame["status"] == "skipped").sum())),
        "rejected": dg.MetadataValue.int(int((frame["status"] == "rejected").sum())),
        "failed_validation": dg.MetadataValue.int(repeated),
        "rejection_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in reasons.head(20).items()}),
        "preview": _preview(frame),
    })


def verify_stored(step: Step, stored: pd.DataFrame, built: Built) -> list[dg.AssetCheckResult]:
    """The push reads what was persisted: a sendable receipt there that is not one validated when mapped
    blocks it."""
    sendable = stored[stored["status"] == "receipt"]
    return [consistency_result(built.frame, sendable, unvalidated(built.frame, stored))]


def consistency_result(frame: pd.DataFrame, sendable: pd.DataFrame, still_bad: list[list[str]]) -> dg.AssetCheckResult:
    """Fails (WARN) when any document could not become a valid receipt: those go to dead letters with their
    reason and the others are sent. Fails at ERROR, blocking the push, only if a receipt marked sendable
    does not hold the invariants."""
    rejected = frame[frame["status"] == "rejected"]
    return dg.AssetCheckResult(
        check_name=CONSISTENT, passed=rejected.empty and not still_bad,
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


def held_by_voyado(state_db: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Receipts whose current payload is the last one Voyado accepted, according to the ledger."""
    sendable = frame[frame["status"] == "receipt"]
    payloads = {row.unique_receipt_id: loads(row.payload) for row in sendable.itertuples(index=False)}
    hashes = last_successful_hashes(state_db.engine(), ENDPOINT, payloads)
    return [p for k, p in payloads.items() if hashes.get(k) == payload_hash(p)]


def reconciliation_check(store: PartitionStore, key: str, frame: pd.DataFrame,
                         held: list[dict[str, Any]]) -> dg.AssetCheckResult:
    orders = [json.loads(r) for r in raw_documents(store, "commercetools/orders", key)]
    mapped: Iterable[tuple[str, Any]] = [(r.kind, loads(r.payload)) for r in frame.itertuples(index=False)
                                         if r.status == "receipt"]
    result = reconcile(orders, mapped, held, mapping_config())
    table = result.rows()
    return dg.AssetCheckResult(
        check_name=RECONCILED, passed=result.reconciled,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if result.reconciled else f"{len(result.differences)} day×currency×store groups differ",
        metadata={"groups": len(table), "differences": dg.MetadataValue.json(result.differences[:50]),
                  "unexplained_orders": dg.MetadataValue.json(result.unexplained[:50]),
                  "by_group": dg.MetadataValue.md(pd.DataFrame(table).to_markdown(index=False) if table else "(none)")},
    )


def summarize(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list[dg.AssetCheckResult]]:
    if step.dry_run:
        return {}, [dg.AssetCheckResult(check_name=RECONCILED, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                        description="dry run: nothing was sent, nothing to reconcile")]
    held = held_by_voyado(step.state_db, frame)
    returns = sum(1 for p in held if p["items"] and all(i["type"] == "RETURN" for i in p["items"]))
    return ({"receipts_held": dg.MetadataValue.int(len(held)), "returns_held": dg.MetadataValue.int(returns)},
            [reconciliation_check(step.store, step.partition_key, frame, held)])


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Pushes the partition's receipts to Voyado Engage through the sync engine (ledger, dead letters)."""
    return [Batch(ENDPOINT, receipt_items(frame, step.partition_key))]


SPEC = PushSpec(
    key=("voyado", "receipts_sync"), api=Api.ENGAGE, dataset=PAYLOAD_DATASET, plan=plan, summarize=summarize,
    payload=PayloadSpec(build_payload, verify=verify_stored, deps=[
        dg.AssetKey(["commercetools", "orders"]), dg.AssetKey(["pos", "receipts"]),
        dg.AssetKey(["commercetools", "product_projections"]), dg.AssetKey(["commercetools", "categories"]),
        dg.AssetKey(["identity", "contact_map"]), dg.AssetKey(["voyado", "contacts"])],
        checks=[dg.AssetCheckSpec(
            CONSISTENT, asset=dg.AssetKey(PAYLOAD_DATASET.split("/")), blocking=True,
            description="Every receipt to be sent has totalGrossPrice = Σ items (+ shipping) = Σ payments, "
                        "consistent tax sums, a known currency and a unique uniqueReceiptId. Receipts that fail "
                        "are routed to dead letters with the reason; this check blocks the push if one slipped "
                        "through.")]),
    deps=[dg.AssetKey(["voyado", "contacts_sync"])],
    checks=[dg.AssetCheckSpec(
        RECONCILED, asset=dg.AssetKey(["voyado", "receipts_sync"]),
        description="Per day × currency × store, the receipts Voyado holds (per the ledger) sum to the "
                    "Commercetools order totals minus returns (plus POS), to the cent, with equal counts.")],
)

receipts_payload, receipts_sync = push_assets(SPEC)
