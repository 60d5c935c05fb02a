"""The Commercetools schedules: the daily run of the whole chain for the day that just closed, and the
weekly reconciliation sweep re-running the last ``Settings.reconcile_days`` days."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import dagster as dg

from voyado_sync.chain import DAILY_JOB
from voyado_sync.partitions import daily_partitions
from voyado_sync.settings import get_settings

# The closed day: its window ends at midnight, plus the safety lag, plus slack for late commits. The key is
# computed (not "the last partition"), so this stays right whether or not the open day is a partition.
_lag = get_settings().safety_lag_minutes
_DAILY_AT = (min(23, (_lag + 10) // 60), (_lag + 10) % 60)


def closed_day_key(scheduled: datetime, tz: str) -> str:
    return (scheduled.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)).isoformat()


@dg.schedule(cron_schedule=f"{_DAILY_AT[1]} {_DAILY_AT[0]} * * *", job_name=DAILY_JOB,
             name="commercetools_daily_schedule", execution_timezone=get_settings().timezone,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Runs the whole daily chain (sources, identity, payloads, pushes) for the day that just closed.")
def commercetools_daily_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    key = closed_day_key(context.scheduled_execution_time or datetime.now(timezone.utc), get_settings().timezone)
    return dg.RunRequest(run_key=f"daily:{key}", partition_key=key, tags={"voyado_sync/trigger": "daily"})


def reconciliation_keys(now: datetime, days: int) -> list[str]:
    """The last ``days`` closed partitions before ``now`` (oldest first), bounded by the start date."""
    last_closed = closed_day_key(now, get_settings().timezone)
    keys = [k for k in daily_partitions.get_partition_keys(current_time=now) if k <= last_closed]
    return keys[-days:]


@dg.schedule(cron_schedule="30 3 * * 0", job_name=DAILY_JOB, name="commercetools_reconciliation",
             execution_timezone=get_settings().timezone, default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Weekly sweep re-extracting the last VOYADO_SYNC_RECONCILE_DAYS days, to catch anything "
                         "the delta sensor missed (changes without messages, late commits, downtime).")
def commercetools_reconciliation(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    now = context.scheduled_execution_time or datetime.now(timezone.utc)
    stamp = now.strftime("%Y-%m-%d")
    return [dg.RunRequest(run_key=f"reconcile:{stamp}:{k}", partition_key=k,
                          tags={"voyado_sync/trigger": "reconciliation"})
            for k in reconciliation_keys(now, get_settings().reconcile_days)]
