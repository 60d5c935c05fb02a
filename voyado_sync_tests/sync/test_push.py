"""Sync engine through the real Engage sandbox (HTTP) and PostgreSQL: de-duplication, unchanged skips,
idempotency keys, 429 handling, local validation, wrong credentials, dry run."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from voyado_sync.clients.http import RetryPolicy
from voyado_sync.state.sync_tables import ledger_t
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import PointTransactionsEndpoint, ReceiptsEndpoint, TriggersEndpoint
from voyado_sync.sync.engine import SyncAborted, batch_key
from voyado_sync.sync.ledger import last_successful_hashes
from voyado_sync.sync.models import Outcome, SyncItem
from voyado_sync_tests.sync.support import make_engine, set_faults
from voyado_sync_tests.sync.factories import PARTITION, point_row, points, receipt, receipts, triggers


def _ledger_rows(state, run_id=None):
    with state.connect() as conn:
        q = sa.select(ledger_t).order_by(ledger_t.c.id)
        if run_id:
            q = q.where(ledger_t.c.run_id == run_id)
        return [r._asdict() for r in conn.execute(q)]


def test_receipts_accepted_once_then_skipped_and_a_change_never_silently_resent(engage, state):
    items = receipts(20)
    report = make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    # Engage processes receipts later: a 202 is "accepted", not "held", until a read-back says so.
    assert report.count(Outcome.ACCEPTED) == 20 and report.failed == 0
    assert set(engage.app.receipts) == {it.key for it in items}
    assert {r["outcome"] for r in _ledger_rows(state, "run-1")} == {"accepted"}
    assert last_successful_hashes(state, "receipts", [it.key for it in items]) == {}

    before = len(engage.api_requests())
    rerun = make_engine(state, run_id="run-2").push(items, ReceiptsEndpoint(engage.client()))
    assert rerun.count(Outcome.UNCHANGED_SKIPPED) == 20
    assert len(engage.api_requests()) == before  # nothing went over the wire

    # A changed payload while the accepted one awaits its read-back is deferred, not sent: Voyado would
    # keep the first version under that uniqueReceiptId and the ledger would claim the second.
    changed = [SyncItem(items[3].key, "receipts", receipt(3, total=D("999.00")), PARTITION)]
    again = make_engine(state, run_id="run-3").push(changed, ReceiptsEndpoint(engage.client()))
    assert again.count(Outcome.DEFERRED) == 1 and len(engage.api_requests()) == before
    effects = Counter(e["key"] for e in engage.app.effects("receipt"))
    assert len(effects) == 20 and max(effects.values()) == 1
    assert engage.app.receipts[items[3].key]["receipt"]["totalGrossPrice"] == 450.0


def test_a_receipt_voyado_holds_is_final_under_its_id(engage, state):
    """Once read back as held, a changed payload under the same id is a dead letter naming the fix, never a
    resend Voyado would ignore."""
    from voyado_sync.sync.readback import confirm
    from voyado_sync.sync.rate_budget import RateBudget

    items = receipts(3)
    make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    verdicts = confirm(state, engage.client(), RateBudget(state, "sync-test-key", 100), {i.key: i for i in items},
                       run_id="read-back")
    assert {v.verdict for v in verdicts.values()} == {"held"}
    assert last_successful_hashes(state, "receipts", [i.key for i in items]) == {i.key: i.hash for i in items}
    changed = [SyncItem(items[0].key, "receipts", receipt(0, total=D("999.00")), PARTITION)]
    before = len(engage.api_requests())
    report = make_engine(state, run_id="run-2").push(changed, ReceiptsEndpoint(engage.client()))
    assert report.count(Outcome.DEAD_LETTERED) == 1 and len(engage.api_requests()) == before
    (dead,) = dlq.list_dead_letters(state)
    assert dead.reason == "changed_after_delivery" and "new key" in dead.error


def test_a_read_back_voyado_does_not_answer_judges_nothing(engage, state):
    """5xx on the contact lookup or on the transactions: every receipt is ``unreadable``; nothing is
    recorded as held or as lost (no resend, no dead letter) until Voyado answers."""
    from voyado_sync.clients.engage import EngageClient
    from voyado_sync.sync.ledger import key_states
    from voyado_sync.sync.rate_budget import RateBudget
    from voyado_sync.sync.readback import confirm

    items = receipts(3)
    make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    client = EngageClient(engage.url, "sync-test-key",
                          retry=RetryPolicy(max_attempts=2, max_total_seconds=1, initial_backoff=0.01))
    budget = RateBudget(state, "sync-test-key", 100)
    by_key = {i.key: i for i in items}
    for failing in ("GET /api/v3/contacts/id", "GET /api/v2/contacts/"):
        set_faults(engage, [{"pattern": failing, "probabilities": {"503": 1.0}}])
        verdicts = confirm(state, client, budget, by_key, run_id="read-back")
        assert {v.verdict for v in verdicts.values()} == {"unreadable"}, failing
        assert all("503" in v.detail for v in verdicts.values())
        with state.connect() as conn:
            assert {s.latest_outcome for s in key_states(conn, "receipts", by_key).values()} == {Outcome.ACCEPTED}
        assert dlq.list_dead_letters(state) == []
    set_faults(engage, [])
    assert {v.verdict for v in confirm(state, client, budget, by_key, run_id="read-back").values()} == {"held"}

@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_a_receipt_whose_answer_broke_after_its_202_is_not_posted_again(engage, state, kind):
    items = receipts(12)
    set_faults(engage, [{"pattern": "POST /api/v3/receipts", "probabilities": {kind: 1.0}}])
    report = make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    assert report.count(Outcome.ACCEPTED) == 12 and report.retries == 0 and report.failed == 0
    posts = Counter(r.subject for r in engage.api_requests("/receipts"))
    assert posts == {it.key: 1 for it in items}  # the 202 status line said Engage has it: no second POST
    assert all(r.fault == kind and r.status == 202 for r in engage.api_requests("/receipts"))
    assert set(engage.app.receipts) == {it.key for it in items}


def test_a_receipt_dropped_before_any_answer_is_posted_again_and_absorbed(engage, state):
    items = receipts(12)
    set_faults(engage, [{"pattern": "POST /api/v3/receipts", "probabilities": {"drop": 0.5}}], seed=4)
    report = make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    assert report.count(Outcome.ACCEPTED) == 12 and report.failed == 0
    log = engage.api_requests("/receipts")
    dropped = {r.subject for r in log if r.fault == "drop"}
    assert dropped and report.retries >= len(dropped)  # nobody can know: keyed, so sent again
    posts = Counter(r.subject for r in log)
    assert all(posts[k] >= 2 for k in dropped)
    effects = Counter(e["key"] for e in engage.app.effects("receipt"))
    assert effects == {it.key: 1 for it in items}  # Voyado absorbed the repeats


def test_every_answer_reaches_the_ledger_when_workers_write_it_with_their_next_unit(engage, state):
    items = receipts(40)
    report = make_engine(state, concurrency=4).push(items, ReceiptsEndpoint(engage.client()))
    rows = _ledger_rows(state, "run-1")
    assert report.count(Outcome.ACCEPTED) == 40 and report.requests == 40 and len(report.latencies_ms) == 40
    assert sorted(r["key"] for r in rows) == sorted(it.key for it in items)
    assert {r["outcome"] for r in rows} == {"accepted"} and all(r["attempts"] == 1 and r["latency_ms"] for r in rows)


def test_an_answer_is_written_even_when_the_next_unit_cannot_be_put_in_flight(engage, state, monkeypatch):
    from voyado_sync.sync import ledger

    real, calls = ledger.insert_rows, []

    def failing_fourth(conn, rows):  # 1: the rows not sent (none), 2: the canary, 3: the next unit
        calls.append(rows)
        if len(calls) == 4:
            raise RuntimeError("database went away")
        return real(conn, rows)

    monkeypatch.setattr(ledger, "insert_rows", failing_fourth)
    with pytest.raises(RuntimeError, match="database went away"):
        make_engine(state, concurrency=1).push(receipts(5), ReceiptsEndpoint(engage.client()))
    rows = _ledger_rows(state, "run-1")
    # The canary and the next unit were sent; the third never went in flight and was never sent. Both
    # answers are in the ledger, the second one (due with the third's insert) written on its own.
    assert [r["outcome"] for r in rows] == ["accepted", "accepted"]
    assert len(engage.api_requests("/receipts")) == 2


def test_point_transactions_carry_deterministic_idempotency_key(engage, state):
    items = points(30)
    endpoint = PointTransactionsEndpoint(engage.client(), batch_size=10)
    # Every other answer is cut after the server booked the batch: the retry re-sends the same key.
    set_faults(engage, [{"pattern": "point-accounts/transactions", "probabilities": {"reset": 0.5}}], seed=11)
    report = make_engine(state).push(items, endpoint)
    assert report.count(Outcome.SENT) + report.count(Outcome.RETRIED) == 30
    assert report.retries > 0, "the fault plan should have cut some answers"
    booked = Counter(t["description"] for t in engage.app.point_transactions)
    assert len(booked) == 30 and max(booked.values()) == 1
    keys = {r["batch_key"] for r in _ledger_rows(state)}
    assert len(keys) == 3
    # The key is a pure function of the batch's rows: same rows → same key, a changed row → another key.
    assert batch_key("point_transactions", items[:10], [i.hash for i in items[:10]]) in keys
    changed = [SyncItem(items[0].key, items[0].endpoint, {**point_row(0), "amount": 1})] + items[1:10]
    assert batch_key("point_transactions", changed, [i.hash for i in changed]) not in keys


def test_rate_limit_429_is_retried_honouring_retry_after(engage, state):
    engage.app.set_rate_limit("sync-test-key", 20)
    items = receipts(45)
    # Our budget (1000/s) overshoots what Voyado grants this key (20/s), as when another client shares it.
    retry = RetryPolicy(max_attempts=8, max_total_seconds=30, initial_backoff=0.1, max_backoff=1.0)
    report = make_engine(state, rate=1000, retry=retry).push(items, ReceiptsEndpoint(engage.client()))
    statuses = Counter(r.status for r in engage.api_requests("/receipts"))
    assert statuses[429] > 0
    assert report.count(Outcome.ACCEPTED) == 45
    assert report.retries >= statuses[429]
    assert len(engage.app.receipts) == 45
    assert max(r["attempts"] for r in _ledger_rows(state)) > 1


def test_local_validation_failure_goes_to_dead_letters_without_a_request(engage, state):
    bad = SyncItem("r-bad", "receipts", {**receipt(1), "uniqueReceiptId": "r-bad", "items": []}, PARTITION)
    also_bad = SyncItem("r-bad2", "receipts", receipt(2), PARTITION)  # key differs from uniqueReceiptId
    report = make_engine(state).push([bad, also_bad], ReceiptsEndpoint(engage.client()),
                                     local_validate=lambda p: None)
    assert engage.api_requests() == []
    assert report.count(Outcome.DEAD_LETTERED) == 2 and report.dead_letters == 2
    rows = {d.key: d for d in dlq.list_dead_letters(state)}
    assert rows["r-bad"].reason == "local_validation" and "items is empty" in rows["r-bad"].error
    assert "uniqueReceiptId" in rows["r-bad2"].error
    # A caller-supplied validator (e.g. the blocking money checks) dead-letters the same way.
    report = make_engine(state, run_id="run-2").push(
        receipts(3), ReceiptsEndpoint(engage.client()),
        local_validate=lambda p: ["totalGrossPrice != sum of items"] if p["uniqueReceiptId"].endswith("1") else None)
    assert report.count(Outcome.DEAD_LETTERED) == 1 and report.count(Outcome.ACCEPTED) == 2
    assert len(engage.api_requests()) == 2


def test_rejected_by_voyado_is_dead_lettered_and_partition_completes(engage, state):
    bad = receipt(5)
    bad["contact"]["matchKeyType"] = "Shoe"  # a valid receipt to us, but no key type Voyado knows: it answers 400
    items = receipts(5) + [SyncItem("r-00005", "receipts", bad, PARTITION)]
    report = make_engine(state).push(items, ReceiptsEndpoint(engage.client()))
    assert report.count(Outcome.ACCEPTED) == 5 and report.count(Outcome.REJECTED) == 1
    (row,) = dlq.list_dead_letters(state)
    assert row.status_code == 400 and row.reason == "http_400_InvalidReceipt" and "matchKeyType" in row.error


def test_wrong_credentials_stop_with_one_clear_error_after_one_request(engage, state):
    with pytest.raises(SyncAborted) as info:
        make_engine(state).push(receipts(30), ReceiptsEndpoint(engage.client("wrong-key")))
    assert "API key" in str(info.value) and "401" in str(info.value)
    assert "wrong-key" not in str(info.value)
    assert len(engage.api_requests()) == 1
    assert info.value.report.count(Outcome.ABORTED) == 30
    assert dlq.list_dead_letters(state) == []  # not the items' fault: nothing parked, the next run sends them


def test_dry_run_sends_nothing_and_diffs_against_the_ledger(engage, state):
    make_engine(state).push(receipts(6), ReceiptsEndpoint(engage.client()))
    engage.app.log.clear()
    items = receipts(8)
    items[2] = SyncItem(items[2].key, "receipts", receipt(2, total=D("500.00")), PARTITION)
    items.append(SyncItem("r-bad", "receipts", {"uniqueReceiptId": "r-bad"}, PARTITION))
    report = make_engine(state, run_id="dry").push(items, ReceiptsEndpoint(engage.client()), dry_run=True)
    assert engage.app.requests(admin=False) == []
    assert (report.new, report.changed, report.unchanged, report.invalid) == (2, 1, 5, 1)
    diff = next(d for d in report.sample_diff if d["change"] == "changed")
    assert diff["key"] == "r-00002"
    assert {"path": "totalGrossPrice", "old": 450.0, "new": 500.0} in diff["fields"]
    assert _ledger_rows(state, "dry") == [] and dlq.list_dead_letters(state) == []


def test_triggers_are_fired_once_and_never_refired(engage, state):
    items = triggers(10)
    report = make_engine(state).push(items, TriggersEndpoint(engage.client()))
    assert report.count(Outcome.SENT) == 10
    again = make_engine(state, run_id="run-2").push(items, TriggersEndpoint(engage.client()))
    assert again.count(Outcome.UNCHANGED_SKIPPED) == 10
    changed = [SyncItem(items[0].key, "triggers", {**items[0].payload, "data": {"eventKey": "x"}}, PARTITION)]
    third = make_engine(state, run_id="run-3").push(changed, TriggersEndpoint(engage.client()))
    assert third.count(Outcome.DUPLICATE) == 1
    assert len(engage.app.triggers) == 10
