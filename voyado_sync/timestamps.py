"""Commercetools' DateTime text and back: UTC, millisecond precision, ``Z`` suffix (reference §1)."""

from __future__ import annotations

from datetime import datetime, timezone


def iso_ms(ts: datetime) -> str:
    """Commercetools DateTime literal: UTC, millisecond precision, ``Z`` suffix."""
    ts = ts.astimezone(timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def parse_ts(value: str) -> datetime:
    """Parse a Commercetools DateTime (``...Z`` or with offset) into an aware UTC datetime."""
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return ts.astimezone(timezone.utc)
