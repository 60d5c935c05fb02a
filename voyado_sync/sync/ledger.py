"""The push ledger: one row per item per push, in SQL (PostgreSQL in production and tests, SQLite for the
embedded default), so every write to Voyado is accounted for and a rerun sends only what changed.

A row is inserted as ``in_flight`` *before* its request and finalized after, so a push killed mid-run
leaves exactly its unfinished items marked. The "last successful hash" of an (endpoint, key) is the
payload hash of its latest row whose outcome is delivered (sent / retried / duplicate).

Only the *redacted* payload is stored (``voyado_sync.privacy.redact``): the ledger is safe to browse and
export; the full payload lives in the payload asset it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from voyado_sync.state.sync_tables import ensure_schema, ledger_t
from voyado_sync.sync.models import DELIVERED, Outcome, percentile

_LOOKUP_CHUNK = 900  # keys per IN (...) query; below SQLite's bound-parameter limit


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class KeyState:
    """What the ledger knows about one (endpoint, key)."""

    delivered_hash: str | None = None
    delivered_id: int | None = None
    latest_outcome: Outcome | None = None  # latest of delivered / accepted / not_held / in_flight / unknown rows
    latest_hash: str | None = None
    latest_id: int | None = None
    latest_batch_key: str | None = None

    @property
    def awaiting_read_back(self) -> bool:
        """Accepted for later processing and not yet read back: sending it again proves nothing more."""
        return self.latest_outcome is Outcome.ACCEPTED

    @property
    def pending(self) -> bool:
        """The latest decisive row is an unfinished or unknown send."""
        return self.latest_outcome in (Outcome.IN_FLIGHT, Outcome.UNKNOWN)


_STATEFUL = [o.value for o in (*DELIVERED, Outcome.ACCEPTED, Outcome.NOT_HELD, Outcome.IN_FLIGHT, Outcome.UNKNOWN)]


def key_states(conn: sa.Connection, endpoint: str, keys: Iterable[str]) -> dict[str, KeyState]:
    """Latest delivered hash and latest pending state per key (keys never pushed are absent)."""
    keys = list(dict.fromkeys(keys))
    out: dict[str, KeyState] = {}
    c = ledger_t.c
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[i:i + _LOOKUP_CHUNK]
        rows = conn.execute(
            sa.select(c.id, c.key, c.payload_hash, c.outcome, c.batch_key)
            .where(c.endpoint == endpoint, c.key.in_(chunk), c.outcome.in_(_STATEFUL))
            .order_by(c.id)
        )
        for row in rows:
            state = out.setdefault(row.key, KeyState())
            outcome = Outcome(row.outcome)
            if outcome in DELIVERED:
                state.delivered_hash, state.delivered_id = row.payload_hash, row.id
            elif outcome is Outcome.NOT_HELD and state.delivered_hash == row.payload_hash:
                state.delivered_hash = state.delivered_id = None  # read back: Voyado does not hold it after all
            state.latest_outcome, state.latest_hash, state.latest_batch_key = outcome, row.payload_hash, row.batch_key
            state.latest_id = row.id
    return out


def accepted_at(conn: sa.Connection, endpoint: str, keys: Iterable[str]) -> dict[str, datetime]:
    """When each key was last accepted (the read-back gives an API time to process it)."""
    keys = list(dict.fromkeys(keys))
    c = ledger_t.c
    out: dict[str, datetime] = {}
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        rows = conn.execute(sa.select(c.key, sa.func.max(c.updated_at))
                            .where(c.endpoint == endpoint, c.key.in_(keys[i:i + _LOOKUP_CHUNK]),
                                   c.outcome == Outcome.ACCEPTED.value).group_by(c.key))
        for key, stamp in rows:
            out[key] = stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    return out


def last_successful_hashes(engine: sa.Engine, endpoint: str, keys: Iterable[str]) -> dict[str, str]:
    """The payload hash of the last successful send per key of ``endpoint``."""
    ensure_schema(engine)
    with engine.connect() as conn:
        return {k: s.delivered_hash for k, s in key_states(conn, endpoint, keys).items() if s.delivered_hash}


def redacted_payloads(conn: sa.Connection, row_ids: Sequence[int]) -> dict[int, Any]:
    if not row_ids:
        return {}
    rows = conn.execute(sa.select(ledger_t.c.id, ledger_t.c.redacted_payload).where(ledger_t.c.id.in_(list(row_ids))))
    return {r.id: r.redacted_payload for r in rows}


def insert_rows(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert ledger rows; returns their ids in input order."""
    if not rows:
        return []
    stamp = now()
    for r in rows:
        r.setdefault("created_at", stamp)
        r.setdefault("updated_at", stamp)
        r.setdefault("attempts", 0)
    result = conn.execute(sa.insert(ledger_t).returning(ledger_t.c.id, sort_by_parameter_order=True), rows)
    return [r.id for r in result]


def finalize_rows(conn: sa.Connection, updates: list[dict[str, Any]]) -> None:
    """``updates``: dicts with ``_id`` plus outcome, status_code, attempts, latency_ms, correlation_id, error."""
    if not updates:
        return
    stamp = now()
    for u in updates:
        u.setdefault("updated_at", stamp)
        for col in ("status_code", "latency_ms", "correlation_id", "error"):
            u.setdefault(col, None)
    c = ledger_t.c
    conn.execute(
        sa.update(ledger_t).where(c.id == sa.bindparam("_id")).values(
            outcome=sa.bindparam("outcome"), status_code=sa.bindparam("status_code"),
            attempts=sa.bindparam("attempts"), latency_ms=sa.bindparam("latency_ms"),
            correlation_id=sa.bindparam("correlation_id"), error=sa.bindparam("error"),
            updated_at=sa.bindparam("updated_at")),
        updates,
    )


def mark_stale(conn: sa.Connection, endpoint: str, keys: Sequence[str], outcome: Outcome, error: str) -> None:
    """Settle in-flight rows left by a dead process (e.g. a trigger whose fate is unknown)."""
    c = ledger_t.c
    for i in range(0, len(keys), _LOOKUP_CHUNK):
        conn.execute(sa.update(ledger_t).where(c.endpoint == endpoint, c.key.in_(list(keys[i:i + _LOOKUP_CHUNK])),
                                             c.outcome == Outcome.IN_FLIGHT.value)
                     .values(outcome=outcome.value, error=error, updated_at=now()))


def partition_summary(engine: sa.Engine, partition: str, endpoint: str | None = None) -> dict[str, Any]:
    """Counts by outcome (latest decisive row per endpoint and key: a replayed dead letter counts as
    delivered), failure rate, p50/p95 latency over all requests of the partition."""
    ensure_schema(engine)
    c = ledger_t.c
    query = sa.select(c.endpoint, c.key, c.outcome, c.latency_ms).where(c.partition == partition).order_by(c.id)
    if endpoint:
        query = query.where(c.endpoint == endpoint)
    latest: dict[tuple[str, str], str] = {}
    latencies: list[float] = []
    rows = 0
    with engine.connect() as conn:
        for r in conn.execute(query):
            rows += 1
            if r.latency_ms is not None:
                latencies.append(float(r.latency_ms))
            k = (r.endpoint, r.key)
            # A skip says nothing new about a key that already has a verdict.
            if r.outcome != Outcome.UNCHANGED_SKIPPED.value or k not in latest:
                latest[k] = r.outcome
    counts: dict[str, int] = {}
    by_endpoint: dict[str, dict[str, int]] = {}
    for (ep, _), outcome in latest.items():
        counts[outcome] = counts.get(outcome, 0) + 1
        by_endpoint.setdefault(ep, {})
        by_endpoint[ep][outcome] = by_endpoint[ep].get(outcome, 0) + 1
    failed = sum(counts.get(o, 0) for o in ("rejected", "dead_lettered", "unknown", "in_flight", "not_held"))
    considered = len(latest) - counts.get(Outcome.UNCHANGED_SKIPPED.value, 0)
    return {
        "partition": partition,
        "items": len(latest),
        "ledger_rows": rows,
        "counts": dict(sorted(counts.items())),
        "by_endpoint": {k: dict(sorted(v.items())) for k, v in sorted(by_endpoint.items())},
        "failed": failed,
        "failure_rate": round(failed / considered, 6) if considered else 0.0,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
    }
