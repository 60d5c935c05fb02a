"""A push process killed with SIGKILL mid-run, then rerun: 0 lost and 0 duplicated effects for receipts
(uniqueReceiptId), point transactions (same Idempotency-Key) and triggers (at-most-once + explicit unknown)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from voyado_sync.state.sync_tables import ledger_t
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.models import Outcome
from voyado_sync.sync.replay import replay_dead_letters
from voyado_sync.sync.rate_budget import RateBudget
from voyado_sync.sync.endpoints import TriggersEndpoint
from voyado_sync_tests.sync import push_worker
from voyado_sync_tests.sync.support import FAST_RETRY, make_engine, set_faults
from voyado_sync_tests.sync.factories import API_KEY

REPO = Path(__file__).resolve().parents[2]
N_RECEIPTS, N_POINTS, N_TRIGGERS = 120, 200, 60


def _count(engage, part: str) -> int:
    return sum(1 for r in engage.api_requests(part) if r.status < 300)


def _ledger_after_kill(state):
    """The killed run's ledger once PostgreSQL has settled it: a COMMIT the process sent just before the
    kill can still be applied after the process is gone, so read until two reads agree."""
    seen = None
    while True:
        with state.connect() as conn:
            left = Counter(r.outcome for r in conn.execute(sa.select(ledger_t.c.outcome).where(ledger_t.c.run_id == "killed")))
            unfinished = {r.endpoint for r in conn.execute(
                sa.select(ledger_t.c.endpoint).where(ledger_t.c.outcome == "in_flight"))}
        if (left, unfinished) == seen:
            return left, unfinished
        seen = (left, unfinished)
        time.sleep(0.3)


@pytest.mark.slow
def test_sigkill_mid_push_then_rerun_loses_and_duplicates_nothing(engage, state, pg_url):
    set_faults(engage, [], latency_ms=15)  # slow enough to be killed mid-flight
    proc = subprocess.Popen([sys.executable, "-m", "voyado_sync_tests.sync.push_worker", engage.url, pg_url, "killed",
                             str(N_RECEIPTS), str(N_POINTS), str(N_TRIGGERS)], cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if _count(engage, "/receipts") >= 20 and _count(engage, "/transactions") >= 10 and _count(engage, "/customTriggers") >= 10:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left, unfinished = _ledger_after_kill(state)
    assert left[Outcome.IN_FLIGHT.value] > 0, f"the kill should land mid-flight: {left}"
    assert "triggers" in unfinished or "receipts" in unfinished, unfinished
    delivered_before = sum(left[o.value] for o in (Outcome.SENT, Outcome.RETRIED, Outcome.ACCEPTED))
    assert 0 < delivered_before < N_RECEIPTS + N_POINTS + N_TRIGGERS

    # The rerun: same items, a new run. Only unfinished items go out again.
    reports = [make_engine(state, run_id="rerun").push(items, ep)
               for items, ep in push_worker.plan(engage.url, N_RECEIPTS, N_POINTS, N_TRIGGERS)]
    assert sum(r.count(Outcome.UNCHANGED_SKIPPED) for r in reports) == delivered_before

    receipts = Counter(e["key"] for e in engage.app.effects("receipt"))
    assert len(receipts) == N_RECEIPTS and max(receipts.values()) == 1
    booked = Counter(t["description"] for t in engage.app.point_transactions)
    assert len(booked) == N_POINTS and max(booked.values()) == 1

    fired = Counter(t["data"]["eventKey"] for t in engage.app.triggers)
    assert max(fired.values()) == 1, "a trigger fired twice"
    unknown = {d.key for d in dlq.list_dead_letters(state, endpoint="triggers", reasons=["outcome_unknown"])}
    assert set(fired) | unknown == {f"ev-{i:05d}" for i in range(N_TRIGGERS)}, "a trigger was silently lost"
    assert len(unknown) <= 4  # at most the worker's in-flight requests
    assert reports[2].unknown_keys == sorted(unknown) or set(reports[2].unknown_keys) == unknown

    # The operator resolves the unknowns: ones that fired are dismissed, the others replayed.
    landed = unknown & set(fired)
    if landed:
        assert dlq.dismiss(state, "triggers", landed, "verified in Engage: fired") == len(landed)
    client = engage.client()
    budget = RateBudget(state, API_KEY, 100)
    replay = replay_dead_letters(state, lambda name: (TriggersEndpoint(client), budget),
                                 endpoint="triggers", include_unknown=True, retry=FAST_RETRY)
    assert replay.still_open == 0, (replay.summary(), [(d.key, d.reason, d.error) for d in dlq.list_dead_letters(state)])
    final = Counter(t["data"]["eventKey"] for t in engage.app.triggers)
    assert len(final) == N_TRIGGERS and max(final.values()) == 1
