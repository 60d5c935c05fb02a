"""The push seam: how a payload set becomes Dagster assets, and how any push reaches an API.

One `PushSpec` declares the payload asset (pure mapping, written as a Parquet partition with a ``key``
and a JSON ``payload`` column) and the sync asset that sends it through the sync engine; the spec says
what is built and how the frame becomes batches of items, the seam supplies the rest: keys, groups,
pools, resources, the dry run, metadata from the engine's report, one clear failure on wrong credentials.

`push` is the one way from an endpoint name to a push: the adapter is built on its API's client from the
run's resource (one connection pool per API per run), and every attempt draws from that API key's shared
rate budget. The sync assets, the dead-letter replay job and the CLI all push through it, so none of
them knows which endpoint lives on which API.
"""

# No ``from __future__ import annotations``: Dagster reads the asset functions' real annotations.
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.client import ApiClientResource
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api, api_of, build_endpoint
from voyado_sync.sync.engine import Endpoint, SyncAborted, SyncEngine, Validator
from voyado_sync.sync.models import Outcome, SyncItem, SyncReport
from voyado_sync.sync.rate_budget import RateBudget

# Per API: the Dagster pool its pushes queue in (one budget per key across concurrent runs) and the kind
# the UI shows.
POOLS = {Api.ENGAGE: "voyado_api", Api.ELEVATE: "elevate_api", Api.COMMERCETOOLS: "commercetools_api"}
KINDS = {Api.ENGAGE: "voyado", Api.ELEVATE: "voyado", Api.COMMERCETOOLS: "commercetools"}


class PushConfig(dg.Config):
    """Run config of every push asset."""

    dry_run: bool = False


# ---- pushing ------------------------------------------------------------------------------------------
def rate_budget(state_engine: sa.Engine, resource: ApiClientResource) -> RateBudget:
    terms = resource.budget_terms()
    return RateBudget(state_engine, terms.key, terms.per_second, terms.concurrency)


def endpoint_on(name: str, resource: ApiClientResource, **options: Any) -> Endpoint:
    """The adapter for ``name`` on the run's client of its API."""
    return build_endpoint(name, resource.push_client(), **options)


def push_target(resources: Mapping[Api, ApiClientResource], state_engine: sa.Engine
                ) -> Callable[[str], tuple[Endpoint, RateBudget]]:
    """Endpoint name -> its adapter and rate budget, from the given API resources (the replay's view)."""
    def target(name: str) -> tuple[Endpoint, RateBudget]:
        resource = resources.get(api_of(name))
        if resource is None or not resource.enabled:
            raise ValueError(f"{name} writes to {api_of(name).value}, which is not configured here")
        return endpoint_on(name, resource), rate_budget(state_engine, resource)

    return target


def push(items: Iterable[SyncItem], endpoint: str, resource: ApiClientResource, state_engine: sa.Engine, *,
         run_id: str, partition: str | None, dry_run: bool = False, local_validate: Validator | None = None,
         options: Mapping[str, Any] | None = None, logger: Any = None) -> SyncReport:
    """Push ``items`` to ``endpoint`` (a name of `voyado_sync.sync.endpoints.ENDPOINT_NAMES`) on
    ``resource``, the run's resource of the endpoint's API. Raises `SyncAborted` on wrong credentials."""
    engine = SyncEngine(state_engine, rate_budget(state_engine, resource), run_id, partition, logger=logger)
    return engine.push(items, endpoint_on(endpoint, resource, **(options or {})), dry_run=dry_run,
                       local_validate=local_validate)


def run_push(context: dg.AssetExecutionContext, items: Iterable[SyncItem], endpoint: str, *,
             resource: ApiClientResource, state_db: StateDatabase, dry_run: bool = False,
             local_validate: Validator | None = None, options: Mapping[str, Any] | None = None) -> SyncReport:
    """`push` for this run and partition; wrong credentials fail the step once, without step retries."""
    try:
        return push(items, endpoint, resource, state_db.engine(), run_id=context.run.run_id,
                    partition=context.partition_key if context.has_partition_key else None, dry_run=dry_run,
                    local_validate=local_validate, options=options, logger=context.log)
    except SyncAborted as exc:
        raise dg.Failure(description=str(exc), metadata=report_metadata(exc.report), allow_retries=False) from None


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


# ---- items a push dead-letters locally ----------------------------------------------------------------
def unmapped_payload(kind: Any, source_id: Any, reason: Any) -> dict[str, Any]:
    """The item a push sends for a document it could not map: local validation (`unmapped_reason`) turns
    it into a dead letter with the reason, so it never reaches the network."""
    return {"unmapped": kind, "sourceId": source_id, "reason": reason}


def unmapped_reason(payload: Any) -> str | None:
    return f"unmappable {payload['unmapped']}: {payload['reason']}" if isinstance(payload, Mapping) and \
        "unmapped" in payload else None


def json_column(payloads: Iterable[Any]) -> list[str | None]:
    """Payloads as the payload datasets store them (key-sorted JSON text; None stays None)."""
    import json

    return [json.dumps(p, sort_keys=True) if p is not None else None for p in payloads]


# ---- the asset pair ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch:
    """Items for one endpoint, with the adapter's options (e.g. a contact create's recruiting store)."""

    endpoint: str
    items: list[SyncItem]
    options: Mapping[str, Any] = field(default_factory=dict)
    local_validate: Validator | None = unmapped_reason


@dataclass
class Step:
    """What a spec's functions see of the step they run in."""

    context: dg.AssetExecutionContext
    store: PartitionStore
    state_db: StateDatabase
    dry_run: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)  # added to the materialization's metadata

    @property
    def partition_key(self) -> str:
        return self.context.partition_key

    def resource(self, name: str) -> Any:
        return getattr(self.context.resources, name)


@dataclass(frozen=True)
class Built:
    """A payload asset's result: the frame to store and what the materialization says about it."""

    frame: pd.DataFrame
    metadata: Mapping[str, Any] = field(default_factory=dict)
    checks: Sequence[dg.AssetCheckResult] = ()


def _doc(fn: Callable[..., Any], given: str | None) -> str:
    """An asset's description: the one given, else the docstring of the function that does its work."""
    return given or inspect.cleandoc(fn.__doc__ or "")


@dataclass(frozen=True)
class PayloadSpec:
    """The payload asset: ``build`` (its docstring describes the asset) maps the partition's inputs."""

    build: Callable[[Step], Built]
    deps: Sequence[dg.AssetKey]
    checks: Sequence[dg.AssetCheckSpec] = ()
    # Check results judged on the frame as stored, read back: what the push will send.
    verify: Callable[[Step, pd.DataFrame, Built], list[dg.AssetCheckResult]] | None = None
    resources: frozenset[str] = frozenset()  # besides partition_store and state_db
    description: str | None = None


@dataclass(frozen=True)
class PushSpec:
    """One payload set and its push. ``dataset`` is the payload dataset (``key`` + ``payload`` columns,
    which dead-letter replay reads); with ``payload`` the seam declares its asset ``<dataset>`` too,
    without it ``frame`` builds and stores the set in the push step itself (the write-back: what it
    writes is decided against a fresh read of Voyado at push time). ``plan`` turns the set into batches;
    its docstring describes the push asset."""

    key: tuple[str, str]
    api: Api
    dataset: str
    plan: Callable[[Step, pd.DataFrame], list[Batch]]
    payload: PayloadSpec | None = None
    frame: Callable[[Step], pd.DataFrame] | None = None
    deps: Sequence[dg.AssetKey] = ()
    checks: Sequence[dg.AssetCheckSpec] = ()
    # Extra metadata and check results after the push (e.g. reconciliation read back from the destination).
    summarize: Callable[[Step, pd.DataFrame, SyncReport], tuple[Mapping[str, Any], list[dg.AssetCheckResult]]] | None \
        = None
    resources: frozenset[str] = frozenset()
    group: str = "voyado"
    description: str | None = None

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(list(self.key))

    @property
    def payload_key(self) -> dg.AssetKey:
        return dg.AssetKey(self.dataset.split("/"))


def push_assets(spec: PushSpec) -> list[dg.AssetsDefinition]:
    """The payload asset (when the spec has one) and the push asset of ``spec``."""
    return ([_payload_asset(spec)] if spec.payload is not None else []) + [_push_asset(spec)]


def _payload_asset(spec: PushSpec) -> dg.AssetsDefinition:
    payload = spec.payload
    assert payload is not None

    @dg.asset(key=spec.payload_key, group_name=spec.group, kinds={"pandas", "parquet"},
              partitions_def=daily_partitions, deps=list(payload.deps), check_specs=list(payload.checks),
              description=_doc(payload.build, payload.description),
              required_resource_keys={"partition_store", "state_db", *payload.resources})
    def _payload(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        step = _step(context)
        built, checks = build_and_store(spec, step)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": dg.MetadataValue.int(len(built.frame)), **built.metadata, **step.metadata},
            check_results=checks)

    return _payload


def build_and_store(spec: PushSpec, step: Step) -> tuple[Built, list[dg.AssetCheckResult]]:
    """The work of ``spec``'s payload asset: build the set, write it as the step's partition, and judge the
    checks that read it back (the push sends what was stored)."""
    payload = spec.payload
    assert payload is not None
    built = payload.build(step)
    step.store.write_frame(spec.dataset, step.partition_key, built.frame)
    checks = list(built.checks)
    if payload.verify is not None:
        checks += payload.verify(step, step.store.read(spec.dataset, [step.partition_key]), built)
    return built, checks


def _push_asset(spec: PushSpec) -> dg.AssetsDefinition:
    deps = ([spec.payload_key] if spec.payload is not None else []) + list(spec.deps)

    @dg.asset(key=spec.asset_key, group_name=spec.group, kinds={KINDS[spec.api]}, partitions_def=daily_partitions,
              pool=POOLS[spec.api], deps=deps, check_specs=list(spec.checks),
              description=_doc(spec.plan, spec.description),
              required_resource_keys={"partition_store", "state_db", spec.api.value, *spec.resources})
    def _push(context: dg.AssetExecutionContext, config: PushConfig) -> dg.MaterializeResult:
        step = _step(context, config.dry_run)
        frame = spec.frame(step) if spec.frame is not None else step.store.read(spec.dataset, [context.partition_key])
        batches = spec.plan(step, frame)
        resource: ApiClientResource = step.resource(spec.api.value)
        if not resource.enabled:
            why = f"{spec.api.value} is not configured (its resource is disabled): nothing was pushed"
            context.log.warning(why)
            return dg.MaterializeResult(metadata={
                "dagster/row_count": dg.MetadataValue.int(0),
                "pending_lines": dg.MetadataValue.int(sum(len(b.items) for b in batches)),
                "skipped": dg.MetadataValue.text(why), **step.metadata}, check_results=[
                dg.AssetCheckResult(check_name=c.name, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                    description=f"{why}: nothing to read back") for c in spec.checks])
        reports = [run_push(context, b.items, b.endpoint, resource=resource, state_db=step.state_db,
                            dry_run=config.dry_run, local_validate=b.local_validate, options=b.options)
                   for b in batches]
        report = SyncReport.combine(reports, endpoint=",".join(dict.fromkeys(b.endpoint for b in batches)),
                                    run_id=context.run.run_id, partition=context.partition_key,
                                    dry_run=config.dry_run)
        metadata, checks = spec.summarize(step, frame, report) if spec.summarize is not None else ({}, [])
        return dg.MaterializeResult(metadata={**report_metadata(report), **metadata, **step.metadata},
                                    check_results=list(checks))

    return _push


def _step(context: dg.AssetExecutionContext, dry_run: bool = False) -> Step:
    store: PartitionStoreResource = context.resources.partition_store
    return Step(context, store.store(), context.resources.state_db, dry_run)
