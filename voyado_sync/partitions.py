"""The one daily partitions definition shared by every partitioned asset.

A partition is the ``lastModifiedAt`` window ``[day, next day)`` in the configured time zone. The open
day is a partition too (``end_offset=1``): the delta sensor keeps it current within minutes, reading up
to now minus the safety lag, and the daily schedule re-extracts it completely once it has closed."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from voyado_sync.settings import get_settings

_settings = get_settings()

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=_settings.start_date.isoformat(), timezone=_settings.timezone, end_offset=1
)


def last_closed_partition_key() -> str:
    """The latest day whose window has fully passed (yesterday in the partition time zone)."""
    return daily_partitions.get_partition_keys()[-2]


def window_utc(context_window: dg.TimeWindow) -> tuple[datetime, datetime]:
    """A partition's time window converted to UTC, as Commercetools predicates need."""
    return context_window.start.astimezone(timezone.utc), context_window.end.astimezone(timezone.utc)


def partition_window_utc(partition_key: str) -> tuple[datetime, datetime]:
    return window_utc(daily_partitions.time_window_for_partition_key(partition_key))
