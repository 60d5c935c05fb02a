"""Dagster wiring of the sync engine: the per-partition sync log (with a failure-rate check) and the
dead-letter replay job. The engine itself lives in `voyado_sync.sync`; push assets are declared through
`voyado_sync.seam`, which the replay pushes through too."""


import dagster as dg

from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.state import StateDatabase
from voyado_sync.seam import push_target
from voyado_sync.settings import get_settings
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.engine import SyncAborted
from voyado_sync.sync.ledger import partition_summary
from voyado_sync.sync.replay import partition_store_source, replay_dead_letters

SYNC_LOG_KEY = dg.AssetKey(["sync", "log"])
FAILURE_RATE_CHECK = "failure_rate_below_threshold"
DEFAULT_MAX_FAILURE_RATE = get_settings().max_failure_rate


class SyncLogConfig(dg.Config):
    max_failure_rate: float = DEFAULT_MAX_FAILURE_RATE
    """The check fails when more than this share of the partition's items ended failed
    (rejected, dead-lettered, unknown or still in flight)."""


@dg.asset(
    key=SYNC_LOG_KEY,
    group_name="sync",
    kinds={"sql"},
    partitions_def=daily_partitions,
    deps=[dg.AssetKey(["voyado", "contacts_sync"]), dg.AssetKey(["voyado", "receipts_sync"]),
          dg.AssetKey(["voyado", "catalog_sync"]), dg.AssetKey(["commercetools", "customer_fields_writeback"]),
          dg.AssetKey(["voyado", "campaign_sync"]), dg.AssetKey(["voyado", "point_transactions_sync"])],
    description="What every push to Voyado did for this partition, read from the sync ledger: counts by "
                "outcome (latest verdict per item, so a replayed dead letter counts as delivered), "
                "failure rate, p50/p95 request latency and open dead letters.",
    check_specs=[dg.AssetCheckSpec(FAILURE_RATE_CHECK, asset=SYNC_LOG_KEY, blocking=True,
                                   description="Failure rate of the partition's pushes is at most the configured "
                                               "maximum; above it the step, and so the run, fails.")],
)
def sync_log(context: dg.AssetExecutionContext, config: SyncLogConfig, state_db: StateDatabase) -> dg.MaterializeResult:
    engine = state_db.engine()
    summary = partition_summary(engine, context.partition_key)
    open_dead_letters = dlq.count_open(engine, partition=context.partition_key)
    metadata: dict[str, object] = {
        "dagster/row_count": dg.MetadataValue.int(summary["items"]),
        "ledger_rows": dg.MetadataValue.int(summary["ledger_rows"]),
        "failure_rate": dg.MetadataValue.float(float(summary["failure_rate"])),
        "failed": dg.MetadataValue.int(summary["failed"]),
        "open_dead_letters": dg.MetadataValue.int(open_dead_letters),
        "counts": dg.MetadataValue.json(summary["counts"]),
        "by_endpoint": dg.MetadataValue.json(summary["by_endpoint"]),
    }
    for outcome, n in summary["counts"].items():
        metadata[f"outcome/{outcome}"] = dg.MetadataValue.int(n)
    for name in ("latency_p50_ms", "latency_p95_ms"):
        if summary[name] is not None:
            metadata[name] = dg.MetadataValue.float(round(float(summary[name]), 2))
    passed = summary["failure_rate"] <= config.max_failure_rate
    check = dg.AssetCheckResult(
        check_name=FAILURE_RATE_CHECK, passed=passed, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"failure rate {summary['failure_rate']:.2%} "
                     f"{'<=' if passed else '>'} max {config.max_failure_rate:.2%}"),
        metadata={"failure_rate": float(summary["failure_rate"]), "max_failure_rate": config.max_failure_rate,
                  "failed": summary["failed"], "open_dead_letters": open_dead_letters},
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


class ReplayConfig(dg.Config):
    endpoint: str | None = None
    """Only dead letters of this endpoint (receipts, point_transactions, triggers, contacts_update, ...)."""
    partition: str | None = None
    keys: list[str] | None = None
    include_unknown: bool = False
    """Also re-send triggers whose outcome is unknown — only after checking in Engage that they did not fire."""
    limit: int | None = None


@dg.op(description="Re-send open dead letters through the sync engine; a row leaves only on success.",
       required_resource_keys={"state_db", "partition_store", "engage", "elevate"})
def replay_dlq_op(context: dg.OpExecutionContext, config: ReplayConfig) -> dg.Output:
    r = context.resources
    engine = r.state_db.engine()
    try:
        report = replay_dead_letters(
            engine, push_target({Api.ENGAGE: r.engage, Api.ELEVATE: r.elevate}, engine),
            endpoint=config.endpoint, partition=config.partition, keys=config.keys,
            include_unknown=config.include_unknown, payload_source=partition_store_source(r.partition_store.store()),
            run_id=context.run.run_id, limit=config.limit, logger=context.log)
    except ValueError as exc:  # an endpoint whose dead letters only its push asset can settle
        raise dg.Failure(str(exc), allow_retries=False) from None
    except SyncAborted as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    summary = report.summary()
    context.log.info(f"replay: {summary}")
    return dg.Output(summary, metadata={
        "selected": report.selected, "replayed": report.replayed, "still_open": report.still_open,
        "payload_unavailable": report.payload_unavailable, "pushes": dg.MetadataValue.json(report.pushes),
        "skipped": dg.MetadataValue.json(report.skipped)})


@dg.job(name="voyado_replay_dlq", description="Replay the sync dead letters (filter by endpoint / partition / keys).",
        tags={"dagster/max_retries": "0"})
def voyado_replay_dlq() -> None:
    replay_dlq_op()
