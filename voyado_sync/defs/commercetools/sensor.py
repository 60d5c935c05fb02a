"""The Commercetools delta sensor: every few minutes, runs for just the partitions and datasets that changed.

Reading the cursor forward is `voyado_sync.extract.delta_reader`; this module loads and saves the cursor
and turns the changes into run requests."""

import hashlib
from datetime import datetime, timedelta, timezone

import dagster as dg

from voyado_sync.clients.http import ApiError
from voyado_sync.chain import CHAIN
from voyado_sync.extract import delta, delta_reader
from voyado_sync.extract.datasets import select_datasets
from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.commercetools import CommercetoolsResource
from voyado_sync.settings import get_settings

ERASURE_KEY = dg.AssetKey(["commercetools", delta.ERASURE])


def chain_followers(context: dg.SensorEvaluationContext) -> list[dg.AssetKey]:
    """Everything downstream of the sources in the daily chain (identity, payloads, pushes, sync log), so
    a change reaches Voyado in the same run. Empty when the sensor is ticked without its definitions."""
    try:
        graph = context.repository_def.asset_graph
    except Exception:  # ticked standalone (build_sensor_context without definitions)
        return []
    return sorted((k for k in CHAIN.resolve(graph) if k.path[0] not in ("commercetools", "pos")),
                  key=lambda k: k.to_user_string())


@dg.sensor(target=CHAIN, minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING, name="commercetools_delta_sensor",
           description="Every 5 minutes: reads the Messages API from its cursor (or lastModifiedAt watermarks "
                       "where there are no messages or they are disabled) and requests runs only for the "
                       "partitions and datasets that changed. Our own write-backs (same API client) are skipped.")
def commercetools_delta_sensor(context: dg.SensorEvaluationContext,
                               commercetools: CommercetoolsResource) -> dg.SensorResult:
    settings = get_settings()
    by_name = {ds.name: ds for ds in select_datasets(settings.ct_datasets)}
    cursor = delta.DeltaCursor.from_json(context.cursor)
    client = commercetools.client()
    try:
        read = delta_reader.read_changes(client, cursor, list(by_name.values()), settings.ct_delta_mode,
                                         timedelta(minutes=settings.safety_lag_minutes), settings.timezone,
                                         datetime.now(timezone.utc))
    except ApiError as exc:
        # Keep the cursor as it was: the next tick retries the same range, nothing is skipped.
        return dg.SensorResult(skip_reason=f"Commercetools unavailable: {exc}")
    new_cursor = cursor.to_json()
    valid = set(daily_partitions.get_partition_keys())
    requests, deferred = [], []
    token = hashlib.sha1(new_cursor.encode()).hexdigest()[:12]
    followers = chain_followers(context)
    for key in sorted(read.changes):
        if key not in valid:
            deferred.append(key)  # not a partition yet (the open day) or before the start date
            continue
        names = sorted(n for n in read.changes[key] if n == delta.ERASURE or n in by_name)
        if not names:
            continue
        assets = [ERASURE_KEY if n == delta.ERASURE else dg.AssetKey(by_name[n].asset_key) for n in names]
        requests.append(dg.RunRequest(run_key=f"ct-delta:{key}:{'+'.join(names)}:{token}", partition_key=key,
                                      asset_selection=assets + followers, tags={"voyado_sync/trigger": "delta"}))
    if deferred:
        context.log.info(f"changes in {deferred} wait for the daily schedule (not partitions yet)")
    if read.own_skipped:
        context.log.info(f"skipped {read.own_skipped} change(s) made by our own client {client.client_id!r}")
    if not requests:
        return dg.SensorResult(skip_reason=f"no changes ({read.mode} mode)", cursor=new_cursor)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor)
