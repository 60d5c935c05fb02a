"""Partition-level freshness: did yesterday's partition land by its deadline?

`FreshnessPolicy` on the assets is evaluated per asset, not per partition, so a backfill of an old day
can make an asset look fresh (dagster discussion #34023). These checks look at the latest *partition*
instead. The builders are superseded in Dagster 1.13 but still supported; we use them knowingly because
they are the only partition-aware freshness checks."""

import dagster as dg

from voyado_sync.chain import FRESHNESS_TRACKED
from voyado_sync.settings import get_settings

# The daily schedule starts the closed day at 00:15 + lag; two hours is the SLA for it to reach Voyado.
DEADLINE_CRON = "0 2 * * *"

partition_freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[dg.AssetKey(k) for k in FRESHNESS_TRACKED], deadline_cron=DEADLINE_CRON, timezone=get_settings().timezone,
    severity=dg.AssetCheckSeverity.WARN)

partition_freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=partition_freshness_checks, name="partition_freshness_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING)
