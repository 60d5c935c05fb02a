"""The thin Dagster shell every push asset calls: build the endpoint, budget and engine from resources,
push, and turn the report into materialization metadata (or one clear failure on wrong credentials).

Usage in a push asset::

    @dg.asset(key=["voyado", "receipts_sync"], partitions_def=daily_partitions, pool="voyado_api", ...)
    def receipts_sync(context, config: PushConfig, engage: EngageResource, state_db: StateDatabase,
                      partition_store: PartitionStoreResource) -> dg.MaterializeResult:
        items = [SyncItem(key, "receipts", payload, context.partition_key, "voyado/receipts_payload") ...]
        return run_push(context, items, "receipts", engage=engage, state_db=state_db, dry_run=config.dry_run)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg

from voyado_sync.clients.http import DEFAULT_RETRY, RetryPolicy
from voyado_sync.sync.engine import Endpoint, SyncAborted, SyncEngine, Validator
from voyado_sync.sync.models import Outcome, SyncItem, SyncReport
from voyado_sync.sync.rate_budget import RateBudget

ELEVATE_RATE_PER_SECOND = 5.0  # catalog imports are few and heavy; Elevate's limits are not published
# Write-backs share the project's API client with extraction; Commercetools throttles per project, not
# per request rate, so this only keeps the write-back a polite neighbour.
COMMERCETOOLS_RATE_PER_SECOND = 20.0


class PushConfig(dg.Config):
    """Run config every push asset can expose."""

    dry_run: bool = False


def report_metadata(report: SyncReport) -> dict[str, Any]:
    """Materialization metadata: counts by outcome, dead letters, failure rate, latency, dry-run diff."""
    md: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(report.total),
        "endpoint": dg.MetadataValue.text(report.endpoint),
        "dry_run": dg.MetadataValue.bool(report.dry_run),
        "dead_letters": dg.MetadataValue.int(report.dead_letters),
        "failure_rate": dg.MetadataValue.float(float(report.failure_rate)),
        "retries": dg.MetadataValue.int(report.retries),
        "requests": dg.MetadataValue.int(report.requests),
        "elapsed_s": dg.MetadataValue.float(round(report.elapsed_s, 3)),
    }
    for outcome in Outcome:
        if outcome is not Outcome.IN_FLIGHT:
            md[f"outcome/{outcome.value}"] = dg.MetadataValue.int(report.count(outcome))
    for name, value in (("latency_p50_ms", report.p50()), ("latency_p95_ms", report.p95())):
        if value is not None:
            md[name] = dg.MetadataValue.float(round(value, 2))
    if report.unknown_keys:
        md["unknown_keys"] = dg.MetadataValue.json(report.unknown_keys[:50])
    if report.dry_run:
        for name in ("new", "changed", "unchanged", "invalid"):
            md[f"dry_run/{name}"] = dg.MetadataValue.int(getattr(report, name))
        md["dry_run/sample_diff"] = dg.MetadataValue.json(report.sample_diff)
    return md


def run_push(context: dg.AssetExecutionContext, items: Iterable[SyncItem], endpoint: str | Endpoint, *,
             engage: Any = None, state_db: Any, dry_run: bool = False, local_validate: Validator | None = None,
             elevate: Any = None, commercetools: Any = None, endpoint_options: dict[str, Any] | None = None,
             retry: RetryPolicy = DEFAULT_RETRY) -> dg.MaterializeResult:
    """Push ``items`` through the sync engine for this run and partition.

    ``endpoint`` is an endpoint name (see `voyado_sync.sync.endpoints.ENDPOINT_NAMES`) built on the
    ``engage`` (EngageResource), ``elevate`` (ElevateResource) or ``commercetools`` (CommercetoolsResource)
    resource, or a ready `Endpoint`.
    Wrong credentials raise ``dg.Failure`` (no step retry) with one clear message."""
    from voyado_sync.sync.clients import commercetools_client, elevate_client, engage_client
    from voyado_sync.sync.endpoints import build_endpoint

    partition = context.partition_key if context.has_partition_key else None
    owned: list[Any] = []
    if isinstance(endpoint, str):
        if endpoint.startswith("ct_"):
            client = commercetools_client(commercetools)
            owned.append(client)
            ep = build_endpoint(endpoint, commercetools=client, **(endpoint_options or {}))
        elif endpoint.startswith("elevate_"):
            client = elevate_client(elevate.base_url, elevate.api_key)
            owned.append(client)
            ep = build_endpoint(endpoint, elevate=client, **(endpoint_options or {}))
        else:
            client = engage_client(engage.base_url, engage.api_key, max_concurrency=engage.max_concurrency)
            owned.append(client)
            ep = build_endpoint(endpoint, engage=client, **(endpoint_options or {}))
    else:
        ep = endpoint
    if ep.name.startswith("ct_"):
        budget = RateBudget(state_db.engine(), commercetools.client_id, COMMERCETOOLS_RATE_PER_SECOND,
                            commercetools.max_connections)
    elif ep.name.startswith("elevate_"):
        budget = RateBudget(state_db.engine(), elevate.api_key, ELEVATE_RATE_PER_SECOND, 1)
    else:
        budget = RateBudget(state_db.engine(), engage.api_key, engage.rate_limit_per_second, engage.max_concurrency)
    engine = SyncEngine(state_db.engine(), budget, context.run.run_id, partition, retry=retry, logger=context.log)
    try:
        report = engine.push(items, ep, dry_run=dry_run, local_validate=local_validate)
    except SyncAborted as exc:
        raise dg.Failure(description=str(exc), metadata=report_metadata(exc.report), allow_retries=False) from None
    finally:
        for c in owned:
            c.close()
    return dg.MaterializeResult(metadata=report_metadata(report))
