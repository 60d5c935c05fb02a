"""Commercetools and POS drop source assets: one partitioned asset per Commercetools dataset, the erasure
events, the POS receipts, their checks and metadata, and the job extracting one day of all of them.

Thin wiring: windows, flattening and POS parsing live in `voyado_sync.extract`. The datasets defined are
``Settings.ct_datasets`` (all by default), read when the code location loads."""

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg
import pyarrow as pa

from voyado_sync.clients.http import AuthError
from voyado_sync.extract import delta, delta_reader, pos_files
from voyado_sync.extract.datasets import Dataset, select_datasets
from voyado_sync.extract.extraction import (PII_COLUMNS, extract_window, partition_quality,
                                            verify_completeness)
from voyado_sync.extract.windows import Window, partition_window
from voyado_sync.timestamps import iso_ms
from voyado_sync.partitions import daily_partitions, partition_window_utc
from voyado_sync.privacy import scrub
from voyado_sync.resources.commercetools import CommercetoolsResource
from voyado_sync.resources.state import PartitionStoreResource
from voyado_sync.settings import get_settings

GROUP = "commercetools"
POOL = "commercetools_api"
ENABLED: list[Dataset] = select_datasets(get_settings().ct_datasets)  # unknown name: fails at load

ERASURE_KEY = dg.AssetKey(["commercetools", delta.ERASURE])
POS_KEY = dg.AssetKey(["pos", "receipts"])
# A daily partition lands shortly after midnight; a day and a bit without one means the pipeline is stuck.
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26), warn_window=timedelta(hours=25))
STEP_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


class ExtractConfig(dg.Config):
    page_size: int = 500
    verify_completeness: bool = True  # count the window through sub-windows and compare with the Parquet


# --- helpers shared by the assets ----------------------------------------------------------------------
def _window(partition_key: str) -> Window:
    settings = get_settings()
    start, end = partition_window_utc(partition_key)
    return partition_window(start, end, datetime.now(timezone.utc), timedelta(minutes=settings.safety_lag_minutes))


def _fail_fast(exc: Exception) -> dg.Failure:
    """Credentials, scopes and configuration do not heal by retrying: one clear message, no step retries."""
    return dg.Failure(description=str(exc), allow_retries=False)


def _preview_md(rows: list[dict[str, Any]]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    cols = [c for c in rows[0] if c not in PII_COLUMNS]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")).replace("|", "\\|")[:60] for c in cols) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type)) for f in schema])


def _check_specs(ds: Dataset) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(ds.asset_key)
    specs = [dg.AssetCheckSpec("unique_ids", asset=key, blocking=True, description="No id twice in a partition."),
             dg.AssetCheckSpec("window_complete", asset=key, blocking=True,
                               description="Parquet holds every document the API reports for the window "
                                           "(counted through sub-windows under the 10 000 total cap)."),
             dg.AssetCheckSpec("no_rejects", asset=key, description="Documents that could not be typed.")]
    if ds.has_line_items:
        specs.append(dg.AssetCheckSpec("line_items_have_sku", asset=key, description="Every line item has a SKU."))
    if ds.has_money:
        specs.append(dg.AssetCheckSpec("currencies_known", asset=key, description="Every currency is ISO 4217 known."))
    return specs


def _extract_asset(ds: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        key=ds.asset_key, group_name=GROUP, kinds={"commercetools", "parquet"}, partitions_def=daily_partitions,
        description=f"{ds.description} One partition = documents with lastModifiedAt in [day, next day) "
                    f"(open day: up to now - safety lag), read by id cursor; Parquet at {ds.storage_name}/<day>."
                    f" Scope: {ds.scope}.",
        pool=POOL, retry_policy=STEP_RETRY, freshness_policy=FRESHNESS, check_specs=_check_specs(ds),
        tags={"source": "commercetools"}, code_version="1",
    )
    def _asset(context: dg.AssetExecutionContext, config: ExtractConfig, commercetools: CommercetoolsResource,
               partition_store: PartitionStoreResource) -> dg.MaterializeResult:
        key = context.partition_key
        window = _window(key)
        store = partition_store.store()
        try:
            client = commercetools.client()
            before = client.stats.snapshot()
            started = time.perf_counter()
            got = extract_window(client, store, ds, key, window, page_size=config.page_size)
            extract_seconds = time.perf_counter() - started
            extract_stats = client.stats.since(before)
            quality = partition_quality(store, ds, key)
            completeness = verify_completeness(client, store, ds, key, window) if config.verify_completeness else None
        except (AuthError, ValueError) as exc:
            raise _fail_fast(exc) from exc
        check_stats = client.stats.since(before).since(extract_stats)
        if window.empty:
            context.log.info(f"partition {key}: window is empty (day has not started before now - safety lag)")
        metadata: dict[str, Any] = {
            "dagster/row_count": got.rows, "rows": got.rows, "rejects": got.rejects,
            "requests": extract_stats.requests, "pages": extract_stats.pages, "bytes": extract_stats.bytes,
            "token_requests": extract_stats.token_requests, "retries": extract_stats.retries,
            "offset_requests": extract_stats.offset_requests, "check_requests": check_stats.requests,
            "extract_seconds": round(extract_seconds, 3),  # paging + flattening + writing, checks apart
            **window.as_metadata(),
            "min_last_modified_at": iso_ms(got.min_last_modified) if got.min_last_modified else "",
            "max_last_modified_at": iso_ms(got.max_last_modified) if got.max_last_modified else "",
            "reject_reasons": dg.MetadataValue.json(dict(got.reject_reasons)),
            "path": dg.MetadataValue.path(str(store.path(ds.storage_name, key))),
            "dagster/column_schema": _column_schema(ds.schema),
            "preview": _preview_md(got.preview),
        }
        return dg.MaterializeResult(metadata=metadata, check_results=_check_results(ds, quality, completeness))

    return _asset


def _check_results(ds: Dataset, q: Any, c: Any) -> list[dg.AssetCheckResult]:
    out = [
        dg.AssetCheckResult(check_name="unique_ids", passed=not q.duplicate_ids,
                            metadata={"rows": q.rows, "duplicate_ids": dg.MetadataValue.json(q.duplicate_ids)}),
        dg.AssetCheckResult(check_name="no_rejects", passed=q.rejects == 0, severity=dg.AssetCheckSeverity.WARN,
                            metadata={"rejects": q.rejects, "table": f"{ds.rejects_name}"}),
    ]
    if c is None:
        out.append(dg.AssetCheckResult(check_name="window_complete", passed=True, severity=dg.AssetCheckSeverity.WARN,
                                       description="not verified (verify_completeness=false)"))
    else:
        out.append(dg.AssetCheckResult(
            check_name="window_complete", passed=c.passed,
            metadata={"api_count": c.api_count, "stored": c.stored, "subwindows": c.subwindows,
                      "moved_out": c.moved_out, "id_scan": c.id_scan,
                      "missing_ids": dg.MetadataValue.json(c.missing_ids)}))
    if ds.has_line_items:
        out.append(dg.AssetCheckResult(check_name="line_items_have_sku", passed=q.line_items_missing_sku == 0,
                                       severity=dg.AssetCheckSeverity.WARN,
                                       metadata={"line_items_missing_sku": q.line_items_missing_sku,
                                                 "examples": dg.MetadataValue.json(q.orders_missing_sku)}))
    if ds.has_money:
        out.append(dg.AssetCheckResult(check_name="currencies_known", passed=not q.unknown_currencies,
                                       severity=dg.AssetCheckSeverity.WARN,
                                       metadata={"unknown": dg.MetadataValue.json(q.unknown_currencies)}))
    return out


commercetools_assets = [_extract_asset(ds) for ds in ENABLED]


# --- erasure events ------------------------------------------------------------------------------------
@dg.asset(
    key=ERASURE_KEY, group_name=GROUP, kinds={"commercetools", "parquet"}, partitions_def=daily_partitions,
    description="Deletions (CustomerDeleted, OrderDeleted, ... Messages) created in the day: what downstream "
                "privacy work must erase. No document bodies, only ids and user-provided identifiers.",
    pool=POOL, retry_policy=STEP_RETRY, freshness_policy=FRESHNESS, code_version="1",
    check_specs=[dg.AssetCheckSpec("messages_available", asset=ERASURE_KEY,
                                   description="Deletions are only visible when the project records Messages.")],
)
def erasure_events(context: dg.AssetExecutionContext, commercetools: CommercetoolsResource,
                   partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    key = context.partition_key
    start, end = partition_window_utc(key)
    window = partition_window(start, end, datetime.now(timezone.utc),
                              timedelta(minutes=get_settings().safety_lag_minutes), field="createdAt")
    store = partition_store.store()
    try:
        client = commercetools.client()
        before = client.stats.snapshot()
        enabled = delta_reader.messages_enabled(client)
        rows, by_type = 0, {}
        with store.writer("commercetools/erasure_events", key, delta.ERASURE_SCHEMA) as w:
            types = ", ".join(f'"{t}"' for t in delta.DELETE_MESSAGE_TYPES)
            pages = () if window.empty else client.iter_pages(
                "messages", where=[f"type in ({types})", window.predicate()])
            for page in pages:
                batch = [delta.erasure_row(m) for m in page if isinstance(m, dict) and m.get("createdAt")]
                w.write_table(pa.Table.from_pylist(batch, schema=delta.ERASURE_SCHEMA))
                rows += len(batch)
                for r in batch:
                    by_type[r["type"]] = by_type.get(r["type"], 0) + 1
    except (AuthError, ValueError) as exc:
        raise _fail_fast(exc) from exc
    stats = client.stats.since(before)
    if enabled is False:
        context.log.warning("the project has Messages disabled: deletions cannot be observed")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "rows": rows, "by_type": dg.MetadataValue.json(by_type),
                  "requests": stats.requests, "pages": stats.pages, "bytes": stats.bytes,
                  "messages_enabled": str(enabled), **window.as_metadata()},
        check_results=[dg.AssetCheckResult(check_name="messages_available", passed=enabled is not False,
                                           severity=dg.AssetCheckSeverity.WARN,
                                           metadata={"messages_enabled": str(enabled)})])


# --- POS receipts from the file drop ---------------------------------------------------------------------
@dg.asset(
    key=POS_KEY, group_name=GROUP, kinds={"file", "parquet"}, partitions_def=daily_partitions,
    description="POS receipts from the drop folder (VOYADO_SYNC_POS_DROP; CSV or JSON, see README). "
                "Partition = local date of created_at. Malformed receipts go to pos/receipts_rejects with the reason.",
    freshness_policy=FRESHNESS, code_version="1",
    check_specs=[dg.AssetCheckSpec("no_rejects", asset=POS_KEY, description="Receipts that could not be read."),
                 dg.AssetCheckSpec("unique_ids", asset=POS_KEY, blocking=True,
                                   description="No receipt_id twice in a partition.")],
)
def pos_receipts(context: dg.AssetExecutionContext, partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    settings = get_settings()
    key = context.partition_key
    batch = pos_files.read_partition(settings.pos_drop_dir, key, settings.timezone)  # type: ignore[arg-type]
    store = partition_store.store()
    table = pos_files.receipts_table(batch.receipts)
    with store.writer("pos/receipts", key, pos_files.RECEIPT_SCHEMA) as w:
        w.write_table(table)
    with store.writer("pos/receipts_rejects", key, pos_files.REJECT_SCHEMA) as w:
        w.write_table(pos_files.rejects_table(batch.rejects))
    ids = table.column("receipt_id").to_pylist()
    reasons: dict[str, int] = {}
    for r in batch.rejects:  # reasons may quote a bad value: scrub anything that looks like an email/phone
        reason = scrub(r["reason"])[:80]
        reasons[reason] = reasons.get(reason, 0) + 1
    preview = table.select(["receipt_id", "store_id", "created_at", "currency", "total", "line_count",
                            "has_returns"]).slice(0, 5).to_pylist()
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(ids), "rows": len(ids), "rejects": len(batch.rejects),
                  "files": batch.files, "duplicates": batch.duplicates, "drop_dir": str(settings.pos_drop_dir),
                  "reject_reasons": dg.MetadataValue.json(reasons), "preview": _preview_md(preview)},
        check_results=[
            dg.AssetCheckResult(check_name="no_rejects", passed=not batch.rejects, severity=dg.AssetCheckSeverity.WARN,
                                metadata={"rejects": len(batch.rejects)}),
            dg.AssetCheckResult(check_name="unique_ids", passed=len(ids) == len(set(ids))),
        ])


# --- the job extracting one day of every source ---------------------------------------------------------
commercetools_daily_job = dg.define_asset_job(
    "commercetools_daily",
    selection=dg.AssetSelection.assets(*[a.key for a in commercetools_assets], ERASURE_KEY, POS_KEY),
    description="Extract one day of every Commercetools dataset, erasure events and POS receipts.")
