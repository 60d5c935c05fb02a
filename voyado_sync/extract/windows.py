"""Extraction windows: which ``lastModifiedAt`` range a daily partition reads, and how to count it exactly.

A partition is ``[day, next day)`` in the configured time zone. The open day (and any window that reaches
into the last few minutes) is cut at ``now - safety lag``: writes become visible to queries a little after
their ``lastModifiedAt``, and a document modified while we read moves to a later ``lastModifiedAt``, hence a
later window, so nothing is lost and nothing is read twice within a window.

Commercetools caps ``total`` at 10 000 when a ``where`` is used, so an exact count of a big window is the sum
of counts of sub-windows that each stay under the cap (split in halves until they do)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from voyado_sync.timestamps import iso_ms

TOTAL_CAP = 10_000
# The API stores milliseconds; a window narrower than this cannot be split further.
MIN_SPLIT = timedelta(milliseconds=2)


@dataclass(frozen=True)
class Window:
    """Half-open UTC interval ``[start, end)`` of ``field`` (``lastModifiedAt`` unless stated)."""

    start: datetime
    end: datetime
    field: str = "lastModifiedAt"

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be time-zone aware")

    @property
    def empty(self) -> bool:
        return self.end <= self.start

    def predicate(self) -> str:
        return f'{self.field} >= "{iso_ms(self.start)}" and {self.field} < "{iso_ms(self.end)}"'

    def halves(self) -> tuple["Window", "Window"]:
        mid = self.start + (self.end - self.start) / 2
        mid = mid.replace(microsecond=(mid.microsecond // 1000) * 1000)  # keep ms-aligned bounds
        return Window(self.start, mid, self.field), Window(mid, self.end, self.field)

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    def as_metadata(self) -> dict[str, str]:
        return {"window_start": iso_ms(self.start), "window_end": iso_ms(self.end)}


def partition_window(day_start: datetime, day_end: datetime, now: datetime, safety_lag: timedelta,
                     field: str = "lastModifiedAt") -> Window:
    """The window a partition reads: its day, cut at ``now - safety_lag`` (may be empty for a future day)."""
    cutoff = (now - safety_lag).astimezone(timezone.utc)
    cutoff = cutoff.replace(microsecond=(cutoff.microsecond // 1000) * 1000)
    start = day_start.astimezone(timezone.utc)
    end = min(day_end.astimezone(timezone.utc), cutoff)
    return Window(start, max(start, end), field)


def partition_key_of(ts: datetime, tz: str) -> str:
    """The daily partition a timestamp belongs to (its local date in ``tz``)."""
    return ts.astimezone(ZoneInfo(tz)).date().isoformat()


def partition_keys_of(timestamps: Iterable[datetime], tz: str) -> list[str]:
    return sorted({partition_key_of(ts, tz) for ts in timestamps})


@dataclass(frozen=True)
class SubCount:
    window: Window
    count: int


def exact_count(window: Window, count: Callable[[Window], int], cap: int = TOTAL_CAP,
                cuts: Iterable[datetime] = ()) -> list[SubCount]:
    """Exact per-sub-window counts: any window whose reported total reaches ``cap`` is halved until each
    piece is under it. ``count`` is one API call. ``cuts`` (e.g. quantiles of what we already stored) split
    the window up front so a big window needs about N / cap calls instead of 2 * N / cap."""
    if window.empty:
        return []
    edges = sorted({window.start, window.end, *(c for c in cuts if window.start < c < window.end)})
    pending = [Window(a, b, window.field) for a, b in zip(edges, edges[1:])][::-1]
    done: list[SubCount] = []
    while pending:
        w = pending.pop()
        n = count(w)
        if n >= cap:
            if w.end - w.start < MIN_SPLIT:
                raise ValueError(f"more than {cap} documents share {w.predicate()}; cannot count exactly")
            pending.extend(reversed(w.halves()))
            continue
        done.append(SubCount(w, n))
    return sorted(done, key=lambda s: s.window.start)


def quantile_cuts(timestamps: Sequence[datetime], per_window: int) -> list[datetime]:
    """Millisecond-aligned cut points so that each piece holds about ``per_window`` of ``timestamps``."""
    ordered = sorted(timestamps)
    cuts = []
    for i in range(per_window, len(ordered), per_window):
        t = ordered[i]
        cuts.append(t.replace(microsecond=(t.microsecond // 1000) * 1000))
    return cuts
