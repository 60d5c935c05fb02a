"""The hands-off path: one job runs the whole chain for a day partition (Commercetools and POS sources →
identity → Voyado payloads → blocking checks → pushes → sync log). The daily schedule launches it for the
day that just closed, and the Commercetools delta sensor launches it, within minutes, for the partitions
that changed. Unpartitioned reference assets (target audiences) refresh on their own schedule."""

import dagster as dg

from voyado_sync.chain import CHAIN, DAILY_JOB, REFERENCE

daily_sync_job = dg.define_asset_job(
    DAILY_JOB, selection=CHAIN,
    description="Everything for one day partition, in dependency order; blocking checks stop a bad push.",
    tags={"dagster/max_retries": "1", "dagster/retry_strategy": "FROM_FAILURE"},
)

voyado_reference_job = dg.define_asset_job(
    "voyado_reference", selection=REFERENCE, description="Unpartitioned Voyado reference data.")

voyado_reference_schedule = dg.ScheduleDefinition(
    name="voyado_reference_hourly", job=voyado_reference_job, cron_schedule="17 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING)
