"""Orders, returns and POS receipts → Voyado receipts: the payload asset (pure mapping + blocking
validation) and the push asset (sync engine + reconciliation after sending)."""

import json
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.identity.records import record_key
from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.contacts import read_contact_lookup
from voyado_sync.lookups.documents import latest_documents, raw_documents
from voyado_sync.mapping.categories import category_paths, product_category_paths
from voyado_sync.mapping.context import MappingContext
from voyado_sync.mapping.corrections import is_credit
from voyado_sync.mapping.frame import order_results, pos_results, reject_repeated_ids, results_frame, unvalidated
from voyado_sync.mapping.models import loads
from voyado_sync.reconciliation import reconcile
from voyado_sync.seam import (Batch, Built, PayloadSpec, PushSpec, Step, push_assets, rate_budget, unmapped_payload,
                              unmapped_reason)
from voyado_sync.settings import get_settings
from voyado_sync.sync import corrections
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.readback import VERDICTS, Verdict, confirm
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.models import SyncItem, SyncReport

PAYLOAD_DATASET = "voyado/receipts_payload"
ENDPOINT = "receipts"
CONSISTENT = "receipts_consistent"
RECONCILED = "reconciled_with_commercetools"


def sale_records(store: PartitionStore, partition_key: str) -> list[str]:
    """The identity record keys of the partition's orders and POS receipts."""
    orders = store.read("commercetools/orders", [partition_key], columns=["id"])
    pos = store.read("pos/receipts", [partition_key], columns=["receipt_id"])
    return ([record_key("ct_order", str(i)) for i in orders.get("id", [])]
            + [record_key("pos_receipt", str(i)) for i in pos.get("receipt_id", [])])


def mapping_context(store: PartitionStore, partition_key: str, state_engine: Any = None) -> MappingContext:
    paths = category_paths(latest_documents(store, "commercetools/categories"))
    products = product_category_paths(latest_documents(store, "commercetools/product_projections"), paths)
    contacts = read_contact_lookup(store, partition_key, state_engine,
                                   sale_records(store, partition_key) if state_engine is not None else ())
    return MappingContext(config=mapping_config(), product_categories=products, contact_of_record=contacts.by_record,
                          contact_ids=contacts.by_customer, email_contact_ids=contacts.by_email)


def _preview(frame: pd.DataFrame, n: int = 10) -> dg.MetadataValue:
    cols = ["kind", "status", "unique_receipt_id", "currency", "store_external_id", "total_gross", "reason"]
    return dg.MetadataValue.md(frame[cols].head(n).to_markdown(index=False) if not frame.empty else "(empty)")


def build_payload(step: Step) -> Built:
    """Voyado receipt payloads for the partition's Commercetools orders (purchases and returns) and POS
    receipts, with skip and rejection reasons."""
    store, key = step.store, step.partition_key
    ctx = mapping_context(store, key, step.state_db.engine())
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
        "excluded_by_policy": dg.MetadataValue.int(int((frame["status"] == "excluded").sum())),
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
    """Fails (ERROR: blocking the push) when a receipt marked sendable does not hold the invariants. A
    document that could not become a valid receipt is routed to the dead letters with its reason: counted
    here, and a difference for `reconciled_with_commercetools` until it is replayed or dismissed."""
    rejected = frame[frame["status"] == "rejected"]
    return dg.AssetCheckResult(
        check_name=CONSISTENT, passed=not still_bad, severity=dg.AssetCheckSeverity.ERROR,
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


def read_back_receipts(step: Step, sent: dict[str, dict[str, Any]]) -> dict[str, Verdict]:
    """Ask Voyado which of ``sent`` it holds, and write the verdicts to the ledger and dead letters."""
    settings = get_settings()
    engage = step.resource("engage")
    engine = step.state_db.engine()
    items = {k: SyncItem(k, ENDPOINT, p, step.partition_key, PAYLOAD_DATASET) for k, p in sent.items()}
    return confirm(engine, engage.client(), rate_budget(engine, engage), items, run_id=step.context.run.run_id,
                   grace=timedelta(minutes=settings.readback_grace_minutes), sample=settings.readback_sample,
                   workers=engage.max_concurrency)


def excluded_sales(step: Step, frame: pd.DataFrame) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """(kind, source id) of the sales Voyado must not get: excluded by policy when mapped, or dead letters an
    operator dismissed with a reason; and their counts by reason."""
    excluded = frame[frame["status"] == "excluded"]
    rejected = frame[frame["status"] == "rejected"]
    dismissed = {d.key for d in dlq.list_dead_letters(step.state_db.engine(), endpoint=ENDPOINT,
                                                      keys=list(rejected["key"]), status=dlq.DISMISSED)} \
        if len(rejected) else set()
    gone = pd.concat([excluded, rejected[rejected["key"].isin(dismissed)]])
    kinds = {"purchase": "purchase", "pos": "pos"}
    reasons = gone["reason"].fillna("dismissed").str.split(":").str[0].value_counts()
    return ([(kinds[k], str(s)) for k, s in zip(gone["kind"], gone["source_id"]) if k in kinds],
            {str(k): int(v) for k, v in reasons.items()})


def reconciliation_check(step: Step, frame: pd.DataFrame, sent: dict[str, dict[str, Any]],
                         verdicts: dict[str, Verdict]) -> dg.AssetCheckResult:
    """Commercetools and the POS files against what Voyado answers it holds, per day × currency × store."""
    store, key = step.store, step.partition_key
    orders = [json.loads(r) for r in raw_documents(store, "commercetools/orders", key)]
    pos = [json.loads(r) for r in raw_documents(store, "pos/receipts", key)]
    mapped: Iterable[tuple[str, Any]] = [(r.kind, loads(r.payload)) for r in frame.itertuples(index=False)
                                         if r.status == "receipt"]
    found = {k: v for k, v in verdicts.items() if v.held is not None}
    unverified = {k: v for k, v in verdicts.items() if v.verdict in ("pending", "unverifiable")}
    held = [(sent[k], v.held.total) for k, v in found.items() if v.held.total is not None]
    # What cannot be read back yet counts as sent: it is listed, and it is read back on the next run.
    held += [(sent[k], Decimal(sent[k]["totalGrossPrice"])) for k in unverified]
    excluded, excluded_reasons = excluded_sales(step, frame)
    result = reconcile(orders, mapped, held, mapping_config(), pos_receipts=pos, excluded=excluded)
    unreadable = [v.detail for v in verdicts.values() if v.verdict == "unreadable"]
    table = result.rows()
    passed = result.reconciled and not unreadable
    problems = ([f"{len(result.differences)} day×currency×store groups differ"] if result.differences else []) + (
        [f"{len(result.unexplained)} sales unexplained"] if result.unexplained else []) + (
        [f"the read-back failed for {len(unreadable)} receipts ({unreadable[0]})"] if unreadable else [])
    return dg.AssetCheckResult(
        check_name=RECONCILED, passed=passed, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) if problems else (
            f"{len(unverified)} receipts not read back yet (processing or outside the sample)" if unverified else None),
        metadata={"groups": len(table), "differences": dg.MetadataValue.json(result.differences[:50]),
                  "unexplained": dg.MetadataValue.json(result.unexplained[:50]),
                  "excluded_by_reason": dg.MetadataValue.json(excluded_reasons),
                  "not_read_back": len(unverified),
                  "by_group": dg.MetadataValue.md(pd.DataFrame(table).to_markdown(index=False) if table else "(none)")},
    )


def summarize(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list[dg.AssetCheckResult]]:
    """Read back what Voyado holds; reconcile it with Commercetools and the POS files (a blocking check: a
    disagreement fails the step, and so the run and the partition)."""
    if step.dry_run:
        return {}, [dg.AssetCheckResult(check_name=RECONCILED, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                        description="dry run: nothing was sent, nothing to reconcile")]
    chain = receipt_plan(step, frame, commit=False).chain
    sent = {key: item.payload for key, item in chain.items()}
    verdicts = read_back_receipts(step, sent)
    counts = {name: sum(1 for v in verdicts.values() if v.verdict == name) for name in VERDICTS}
    held = [k for k, v in verdicts.items() if v.verdict == "held"]
    returns = sum(1 for k in held if not is_credit(sent[k]) and all(i["type"] == "RETURN" for i in sent[k]["items"]))
    checked = counts["held"] + counts["missing"] + counts["mismatch"]
    return ({"receipts_held": dg.MetadataValue.int(len(held)), "returns_held": dg.MetadataValue.int(returns),
             "readback_checked": dg.MetadataValue.int(checked),
             "readback_mismatches": dg.MetadataValue.int(counts["missing"] + counts["mismatch"]),
             "readback": dg.MetadataValue.json(counts),
             "readback_examples": dg.MetadataValue.json(
                 [{"key": v.key, "verdict": v.verdict, "detail": v.detail} for v in verdicts.values()
                  if v.verdict in ("missing", "mismatch", "unreadable")][:20])},
            [reconciliation_check(step, frame, sent, verdicts)])


def receipt_plan(step: Step, frame: pd.DataFrame, *, commit: bool) -> corrections.Plan:
    receipts = {it.key: it for it in receipt_items(frame, step.partition_key) if unmapped_reason(it.payload) is None}
    return corrections.plan(step.state_db.engine(), ENDPOINT, receipts, commit=commit)


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Pushes the partition's receipts to Voyado Engage through the sync engine (ledger, dead letters); a
    receipt changed after Voyado holds it goes out as a credit and a corrected revision (never a resend)."""
    unmapped = [it for it in receipt_items(frame, step.partition_key) if unmapped_reason(it.payload) is not None]
    chain = receipt_plan(step, frame, commit=not step.dry_run)
    step.metadata["receipts_corrected"] = dg.MetadataValue.int(len(chain.corrected))
    return [Batch(ENDPOINT, chain.items + unmapped)]


SPEC = PushSpec(
    key=("voyado", "receipts_sync"), api=Api.ENGAGE, dataset=PAYLOAD_DATASET, plan=plan, summarize=summarize,
    payload=PayloadSpec(build_payload, verify=verify_stored, deps=[
        dg.AssetKey(["commercetools", "orders"]), dg.AssetKey(["pos", "receipts"]),
        dg.AssetKey(["commercetools", "product_projections"]), dg.AssetKey(["commercetools", "categories"]),
        dg.AssetKey(["identity", "contact_map"]), dg.AssetKey(["voyado", "contacts"]),
        dg.AssetKey(["voyado", "contacts_sync"])],
        checks=[dg.AssetCheckSpec(
            CONSISTENT, asset=dg.AssetKey(PAYLOAD_DATASET.split("/")), blocking=True,
            description="Every receipt to be sent has totalGrossPrice = Σ items (+ shipping) = Σ payments, "
                        "consistent tax sums, a known currency and a unique uniqueReceiptId. Receipts that fail "
                        "are routed to dead letters with the reason; this check blocks the push if one slipped "
                        "through.")]),
    checks=[dg.AssetCheckSpec(
        RECONCILED, asset=dg.AssetKey(["voyado", "receipts_sync"]), blocking=True,
        description="Per day × currency × store, the receipts Voyado answers it holds (read back through the "
                    "contacts' transactions) sum to the Commercetools order totals minus returns plus the POS "
                    "files, to the cent, with equal counts; sales excluded by policy are listed apart. A "
                    "failure fails the step.")],
)

receipts_payload, receipts_sync = push_assets(SPEC)
