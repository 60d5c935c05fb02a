"""Dead letters: items Voyado refused for good, items that failed local validation, items whose retries
ran out, and triggers whose outcome is unknown. One row per (endpoint, key); it leaves the open set only
when a later push or replay *succeeds* (``replayed``) or an operator dismisses it (``dismissed``).

Replay needs the payload, but the table must never hold raw PII. The design:

* every row keeps the **redacted** payload (what views, logs and metadata show) and a **source
  reference** (payload dataset + partition + key);
* the full payload is stored only when redaction would not change it, i.e. it carries no email, phone,
  name, address or secret (receipts keyed by externalId, point transactions, triggers, stock levels);
* otherwise replay re-derives the payload from the *current* payload dataset (see
  `voyado_sync.sync.replay`) — which is also what a replay after a mapping fix should send.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from voyado_sync.privacy import redact, scrub
from voyado_sync.state.sync_tables import dead_letters_t, ensure_schema
from voyado_sync.sync.ledger import now

OPEN, REPLAYED, DISMISSED = "open", "replayed", "dismissed"
MAX_ERROR_CHARS = 2000

@dataclass(frozen=True)
class DeadLetter:
    endpoint: str
    key: str
    partition: str | None
    source: str | None
    payload_hash: str
    payload: Any
    redacted_payload: Any
    status: str
    outcome: str
    status_code: int | None
    reason: str
    error: str | None
    failures: int
    first_failed_at: datetime
    last_failed_at: datetime
    replayed_at: datetime | None


def storable_payload(payload: Any) -> Any:
    """The payload itself if redaction leaves it untouched (nothing sensitive in it), else None."""
    return payload if redact(payload) == payload else None


def clean_error(text: Any) -> str | None:
    if text is None:
        return None
    return scrub(str(text))[:MAX_ERROR_CHARS]


def _insert(conn: sa.Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(dead_letters_t)


def record_failures(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert failures. ``rows``: endpoint, key, partition, source, payload (raw, filtered here),
    payload_hash, outcome, status_code, reason, error, run_id."""
    stamp = now()
    for r in rows:
        values = {
            "endpoint": r["endpoint"], "key": r["key"], "partition": r.get("partition"),
            "source": r.get("source"), "payload_hash": r["payload_hash"],
            "payload": storable_payload(r.get("payload")), "redacted_payload": redact(r.get("payload")),
            "status": OPEN, "outcome": r["outcome"], "status_code": r.get("status_code"),
            "reason": r["reason"][:64], "error": clean_error(r.get("error")), "failures": 1,
            "run_id": r.get("run_id"), "first_failed_at": stamp, "last_failed_at": stamp,
            "replayed_at": None, "resolution": None,
        }
        stmt = _insert(conn).values(**values)
        excluded = stmt.excluded
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["endpoint", "key"],
            set_={
                **{k: getattr(excluded, k) for k in ("partition", "source", "payload_hash", "payload",
                                                     "redacted_payload", "status", "outcome", "status_code",
                                                     "reason", "error", "run_id", "last_failed_at",
                                                     "replayed_at", "resolution")},
                "failures": dead_letters_t.c.failures + 1,
            },
        ))


def open_keys(conn: sa.Connection, endpoint: str) -> set[str]:
    c = dead_letters_t.c
    return set(conn.scalars(sa.select(c.key).where(c.endpoint == endpoint, c.status == OPEN)))


def mark_replayed(conn: sa.Connection, endpoint: str, keys: Iterable[str], run_id: str) -> int:
    """Close open dead letters whose key was just delivered."""
    keys = list(keys)
    if not keys:
        return 0
    c = dead_letters_t.c
    n = 0
    for i in range(0, len(keys), 900):
        n += conn.execute(sa.update(dead_letters_t)
                          .where(c.endpoint == endpoint, c.key.in_(keys[i:i + 900]), c.status == OPEN)
                          .values(status=REPLAYED, replayed_at=now(), resolution=f"delivered by run {run_id}")
                          ).rowcount
    return n


def dismiss(engine: sa.Engine, endpoint: str, keys: Iterable[str], resolution: str) -> int:
    """Close dead letters without sending (e.g. a trigger verified in Engage to have fired)."""
    ensure_schema(engine)
    c = dead_letters_t.c
    with engine.begin() as conn:
        return conn.execute(sa.update(dead_letters_t)
                            .where(c.endpoint == endpoint, c.key.in_(list(keys)), c.status == OPEN)
                            .values(status=DISMISSED, replayed_at=now(), resolution=clean_error(resolution))
                            ).rowcount


def list_dead_letters(engine: sa.Engine, *, endpoint: str | None = None, partition: str | None = None,
                      status: str | None = OPEN, keys: Iterable[str] | None = None,
                      reasons: Iterable[str] | None = None, limit: int | None = None) -> list[DeadLetter]:
    ensure_schema(engine)
    c = dead_letters_t.c
    query = sa.select(dead_letters_t).order_by(c.id)
    if endpoint:
        query = query.where(c.endpoint == endpoint)
    if partition:
        query = query.where(c.partition == partition)
    if status:
        query = query.where(c.status == status)
    if keys is not None:
        query = query.where(c.key.in_(list(keys)))
    if reasons is not None:
        query = query.where(c.reason.in_(list(reasons)))
    if limit:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [DeadLetter(**{f: getattr(r, f) for f in DeadLetter.__dataclass_fields__}) for r in conn.execute(query)]


def count_open(engine: sa.Engine, *, partition: str | None = None, endpoint: str | None = None) -> int:
    ensure_schema(engine)
    c = dead_letters_t.c
    query = sa.select(sa.func.count()).select_from(dead_letters_t).where(c.status == OPEN)
    if partition:
        query = query.where(c.partition == partition)
    if endpoint:
        query = query.where(c.endpoint == endpoint)
    with engine.connect() as conn:
        return int(conn.scalar(query) or 0)
