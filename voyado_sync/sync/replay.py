"""Replay dead letters after a fix: re-send them through the same engine (ledger, budget, retries).

Which payload is sent: the *current* one from the payload dataset the item came from (so a mapping fix
re-materialized upstream is what goes out), else the payload stored with the dead letter (kept only when
it holds nothing sensitive, see `voyado_sync.sync.dead_letters`). A row with neither stays open with
reason ``payload_unavailable``. A row leaves the dead letters only when the re-send succeeds.

Payload datasets follow one convention so replay can find an item: a Parquet partition in the
`PartitionStore` with a ``key`` column and a ``payload`` column holding the JSON text.

Triggers whose outcome is unknown are left alone unless ``include_unknown`` is set (an operator checked
Engage and found they did not fire); ones that did fire are closed with `dismiss`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from voyado_sync.clients.http import DEFAULT_RETRY, RetryPolicy
from voyado_sync import jsonutil
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import NOT_REPLAYABLE
from voyado_sync.sync.engine import Endpoint, SyncAborted, SyncEngine
from voyado_sync.sync.readback import confirm
from voyado_sync.sync.models import SyncItem
from voyado_sync.sync.rate_budget import RateBudget

PayloadSource = Callable[[dlq.DeadLetter], Any]
Target = Callable[[str], "tuple[Endpoint, RateBudget]"]
log = logging.getLogger("voyado_sync.sync.replay")
UNKNOWN_REASON = "outcome_unknown"


def partition_store_source(store: Any) -> PayloadSource:
    """Look a dead letter's current payload up in its payload dataset (``key`` + JSON ``payload`` columns)."""
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def load(dl: dlq.DeadLetter) -> Any:
        if not dl.source or not dl.partition:
            return None
        ck = (dl.source, dl.partition)
        if ck not in cache:
            cache[ck] = {}
            if store.exists(dl.source, dl.partition):
                try:
                    frame = store.read(dl.source, [dl.partition], columns=["key", "payload"])
                except Exception as exc:  # a dataset without the convention's columns: payload unavailable
                    log.warning(f"replay: {dl.source}/{dl.partition} has no key/payload columns ({type(exc).__name__})")
                else:
                    cache[ck] = dict(zip(frame["key"].astype(str), frame["payload"]))
        raw = cache[ck].get(dl.key)
        return jsonutil.loads(raw) if isinstance(raw, (str, bytes)) else raw

    return load


@dataclass
class ReplayReport:
    selected: int = 0
    replayed: int = 0
    still_open: int = 0
    payload_unavailable: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # endpoint -> why its rows were not re-sent
    pushes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        out = {"selected": self.selected, "replayed": self.replayed, "still_open": self.still_open,
               "payload_unavailable": self.payload_unavailable, "pushes": self.pushes}
        if self.skipped:
            out["skipped"] = dict(sorted(self.skipped.items()))
        if self.error:
            out["error"] = self.error
        return out


def replay_dead_letters(state_engine: sa.Engine, target: Target, *, endpoint: str | None = None,
                        partition: str | None = None, keys: list[str] | None = None, include_unknown: bool = False,
                        payload_source: PayloadSource | None = None, run_id: str | None = None,
                        limit: int | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                        logger: Any = None) -> ReplayReport:
    """Re-send open dead letters (filtered by endpoint / partition / keys) through ``target``: endpoint name
    -> (adapter, the rate budget of its API key). Raises `ValueError` for an endpoint whose dead letters
    are not replayable (`NOT_REPLAYABLE`; without a filter their rows are left open, said in ``skipped``) and
    `SyncAborted` on wrong credentials (after recording what was done)."""
    if endpoint in NOT_REPLAYABLE:
        raise ValueError(NOT_REPLAYABLE[endpoint])
    run_id = run_id or f"replay-{uuid.uuid4().hex[:12]}"
    rows = dlq.list_dead_letters(state_engine, endpoint=endpoint, partition=partition, keys=keys, limit=limit)
    if not include_unknown:
        rows = [r for r in rows if r.reason != UNKNOWN_REASON]
    report = ReplayReport()
    for name, why in NOT_REPLAYABLE.items():
        n = sum(1 for r in rows if r.endpoint == name)
        if n:
            report.skipped[name] = f"{n} left open: {why}"
    rows = [r for r in rows if r.endpoint not in NOT_REPLAYABLE]
    report.selected = len(rows)
    groups: dict[tuple[str, str | None], list[SyncItem]] = {}
    for r in rows:
        payload = payload_source(r) if payload_source else None
        if payload is None:
            payload = r.payload
        if payload is None:
            report.payload_unavailable += 1
            continue
        groups.setdefault((r.endpoint, r.partition), []).append(
            SyncItem(r.key, r.endpoint, payload, r.partition, r.source))
    try:
        for (name, part), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            try:
                adapter, budget = target(name)
            except ValueError as exc:  # e.g. the endpoint's API is not configured where this runs
                report.skipped[name] = f"{len(items)} left open: {exc}"
                continue
            engine = SyncEngine(state_engine, budget, run_id, part, retry=retry, logger=logger)
            pushed = engine.push(items, adapter, resend_unknown=include_unknown)
            report.pushes.append(pushed.summary())
            if getattr(adapter, "held_is_final", False):
                # Accepted is not held: only what Voyado answers it holds leaves the dead letters.
                confirm(state_engine, adapter.client, budget, {it.key: it for it in items}, run_id=run_id)
    except SyncAborted as exc:
        report.error = str(exc)
        report.pushes.append(exc.report.summary())
        raise
    finally:
        after = {(r.endpoint, r.key): r.status for r in dlq.list_dead_letters(
            state_engine, endpoint=endpoint, partition=partition, keys=[r.key for r in rows] if rows else [], status=None)}
        for r in rows:
            if after.get((r.endpoint, r.key)) == dlq.OPEN:
                report.still_open += 1
            else:
                report.replayed += 1
    return report
