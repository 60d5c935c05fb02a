"""The sync engine every push to Voyado goes through: validate, skip what is unchanged, send with a shared
rate budget and bounded retries, and account for every item in the ledger and the dead letters.

Crash safety: an item's ledger row is written as ``in_flight`` *before* its request and finalized after.
After a SIGKILL a rerun finds the unfinished rows and, per the endpoint's delivery guarantee:

* ``keyed`` (receipts: ``uniqueReceiptId`` de-dup; point transactions: the same ``Idempotency-Key``,
  because batches are rebuilt from the rows that travelled together; PATCH/PUT writes are idempotent):
  re-send — Voyado absorbs the repeat, so nothing is lost and nothing doubles;
* ``lookup`` (contact create is not idempotent): ask Voyado whether it landed (look the key up) and
  only send what is missing;
* ``at_most_once`` (custom triggers: no server de-dup and no way to read a fired trigger back): never
  re-send. The row becomes ``unknown`` and a dead letter with reason ``outcome_unknown``; an operator
  checks Engage and either dismisses it or replays it with ``include_unknown``. The same rule applies to
  a trigger whose connection died *after* the request was sent and before a status line came back
  (reset, read timeout, 502/504): only answers that prove the trigger was not processed (429, 503, no
  connection made) are retried.

A 2xx status line whose body was then cut settles a trigger, and every item of an endpoint whose status
alone is its answer (``status_is_answer``: receipts): they are not sent again.

Transient errors are retried with backoff honouring ``Retry-After`` within a bounded time, every
attempt drawing a token from the API key's shared `RateBudget`. Permanent refusals, per-row
``notAccepted`` and local validation failures become dead letters and the push goes on. Wrong
credentials stop the push at once: the first request is sent alone (a canary), so a bad API key
costs exactly one request, not a retry storm.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from voyado_sync.clients.http import (DEFAULT_RETRY, ApiError, AuthError, RetryPolicy, TransientError,
                                      proves_not_processed)
from voyado_sync.privacy import redact, scrub
from voyado_sync.state.sync_tables import ensure_schema
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync import ledger
from voyado_sync.sync.models import DELIVERED, FAILED, Outcome, RowResult, SyncItem, SyncReport, canonical_json
from voyado_sync.sync.rate_budget import RateBudget

log = logging.getLogger("voyado_sync.sync")

SAMPLE_DIFFS = 5
UNKNOWN_CODE = "OutcomeUnknown"  # EngageClient: a non-idempotent write may have been processed
CHANGED_AFTER_DELIVERY = ("changed after Voyado holds it under this key, which it never updates: not re-sent "
                          "(correct it under a new key)")

Validator = Callable[[Any], "str | Iterable[str] | None"]


class Delivery(str, enum.Enum):
    KEYED = "keyed"
    LOOKUP = "lookup"
    AT_MOST_ONCE = "at_most_once"


class Endpoint(Protocol):
    """An adapter for one Voyado write (see `voyado_sync.sync.endpoints`)."""

    name: str
    batch_size: int  # 1: one request per item; N: up to N items per request with per-row outcomes
    delivery: Delivery
    status_is_answer: bool  # a 2xx status line alone settles the items of a request (its body is not needed)
    answered: Outcome  # the outcome such a status line settles an item as (receipts: accepted, read back later)

    def validate(self, item: SyncItem) -> list[str]:
        """Local checks from the API reference; a failure never reaches the network."""

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        """One attempt. Raises the typed errors of `voyado_sync.clients.http` for whole-request failures."""

    def lookup(self, items: Sequence[SyncItem]) -> dict[str, RowResult]:
        """``lookup`` endpoints only: results for the items Voyado already holds."""


class SyncAborted(RuntimeError):
    """The push stopped (wrong credentials): one clear message, the partial report attached."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


class _OutcomeUnknown(ApiError):
    """An at-most-once write whose request may have been processed: never retried."""


def batch_key(endpoint: str, items: Sequence[SyncItem], hashes: Sequence[str]) -> str:
    """Deterministic from the rows a batch carries: a rerun after a crash rebuilds the same batch and
    therefore sends the same ``Idempotency-Key``; a changed row changes the key."""
    rows = sorted(f"{it.key}:{h}" for it, h in zip(items, hashes))
    return hashlib.sha256("\n".join([endpoint, *rows]).encode()).hexdigest()[:40]


def _errors_of(result: str | Iterable[str] | None) -> list[str]:
    if not result:
        return []
    if isinstance(result, str):
        return [result]
    return [str(e) for e in result if e]


def _error_text(exc: ApiError) -> str:
    body = exc.body if exc.body is not None else ""
    text = body if isinstance(body, str) else canonical_json(body)
    return scrub(f"{exc} {text}".strip())


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def diff_payloads(old: Any, new: Any, limit: int = 20) -> list[dict[str, Any]]:
    """Field-level differences between two (already redacted) payloads."""
    a, b = _flatten(old), _flatten(new)
    changes = [{"path": p, "old": a.get(p), "new": b.get(p)} for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)]
    return changes[:limit]


@dataclass
class _Work:
    item: SyncItem
    hash: str
    recovering: bool = False  # a previous process left it in flight


@dataclass
class _Unit:
    works: list[_Work]
    batch_key: str | None


@dataclass
class _Settled:
    """A unit's answer, ready for the ledger: written in the transaction that puts the same worker's next
    unit in flight (one transaction per unit instead of two), or alone for a worker's last unit."""

    unit: _Unit
    updates: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    delivered: list[str]
    outcomes: list[Outcome]
    retries: int
    requests: int
    latency: float | None
    remote_ids: dict[str, tuple[str, str]]


@dataclass
class _Push:
    endpoint: Endpoint
    report: SyncReport
    open_dlq: set[str]
    abort: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    processed: int = 0  # items whose unit ran (the rest were never started because the push stopped)


class _Queue:
    """The units of a push, handed out one at a time to whichever worker asks."""

    def __init__(self, units: Sequence[_Unit]) -> None:
        self._units = iter(units)
        self._lock = threading.Lock()

    def __iter__(self) -> "_Queue":
        return self

    def __next__(self) -> _Unit:
        with self._lock:
            return next(self._units)


class SyncEngine:
    def __init__(self, state_engine: sa.Engine, budget: RateBudget, run_id: str, partition: str | None = None,
                 *, retry: RetryPolicy = DEFAULT_RETRY, logger: Any = None) -> None:
        ensure_schema(state_engine)
        self.db = state_engine
        self.budget = budget
        self.run_id = run_id
        self.partition = partition
        self.retry = retry
        self.log = logger or log

    # ------------------------------------------------------------------------------------------
    def push(self, items: Iterable[SyncItem], endpoint: Endpoint, dry_run: bool = False,
             local_validate: Validator | None = None, *, resend_unknown: bool = False) -> SyncReport:
        """Push ``items`` to ``endpoint``; returns the report. Raises `SyncAborted` on wrong credentials.

        ``resend_unknown`` (replay only): send at-most-once items even if an earlier attempt's outcome is
        unknown — for an operator who verified in Engage that they did not land."""
        started = time.perf_counter()
        items = list(items)
        report = SyncReport(endpoint=endpoint.name, run_id=self.run_id, partition=self.partition,
                            dry_run=dry_run, total=len(items))
        works, invalid, duplicates = self._validate(items, endpoint, local_validate)
        with self.db.connect() as conn:
            states = ledger.key_states(conn, endpoint.name, [w.item.key for w in works])
        to_send: list[_Work] = []
        skipped: list[tuple[_Work, Outcome, str | None]] = []
        for w in works:
            state = states.get(w.item.key)
            if state is None:
                to_send.append(w)
            elif state.delivered_hash == w.hash and not state.pending:
                skipped.append((w, Outcome.UNCHANGED_SKIPPED, None))
            elif state.awaiting_read_back and state.latest_hash == w.hash:
                skipped.append((w, Outcome.UNCHANGED_SKIPPED, "accepted earlier; awaiting the read-back"))
            elif state.awaiting_read_back and getattr(endpoint, "held_is_final", False):
                skipped.append((w, Outcome.DEFERRED, "changed while the accepted version awaits the read-back"))
            elif getattr(endpoint, "held_is_final", False) and state.delivered_hash and not state.pending:
                # Voyado keeps what it holds under this key and ignores a resend: a silent "delivered" would
                # be a lie. The caller corrects it under a new key (see voyado_sync.mapping.corrections).
                skipped.append((w, Outcome.DEAD_LETTERED, CHANGED_AFTER_DELIVERY))
            elif endpoint.delivery is Delivery.AT_MOST_ONCE and state.pending and not resend_unknown:
                skipped.append((w, Outcome.UNKNOWN, "outcome unknown after an interrupted send; not re-sent "
                                                    "(at-most-once): verify in Engage, then dismiss or replay"))
            elif endpoint.delivery is Delivery.AT_MOST_ONCE and state.delivered_hash and not state.pending:
                skipped.append((w, Outcome.DUPLICATE, "event key already delivered with another payload; "
                                                      "a trigger is never fired twice"))
            elif state.delivered_hash == w.hash:  # delivered, then an interrupted resend: nothing to do
                skipped.append((w, Outcome.UNCHANGED_SKIPPED, None))
            else:
                w.recovering = state.latest_outcome is Outcome.IN_FLIGHT
                to_send.append(w)
        if getattr(endpoint, "full_replace", False) and to_send:
            # A full replace deletes what it does not carry: once anything changed, everything travels.
            to_send += [w for w, o, _ in skipped if o is Outcome.UNCHANGED_SKIPPED]
            skipped = [s for s in skipped if s[1] is not Outcome.UNCHANGED_SKIPPED]

        if dry_run:
            self._dry_run(report, invalid, skipped, to_send, states)
            report.elapsed_s = time.perf_counter() - started
            self.log.info(f"voyado sync dry run {endpoint.name}: {report.summary()}")
            return report

        with self.db.begin() as conn:
            open_dlq = dlq.open_keys(conn, endpoint.name)
            self._record_unsent(conn, endpoint, report, invalid, duplicates, skipped)
            # A dead letter whose payload was delivered since (e.g. by a later run) is settled.
            settled = [w.item.key for w, o, _ in skipped if o is Outcome.UNCHANGED_SKIPPED and w.item.key in open_dlq]
            if settled:
                dlq.mark_replayed(conn, endpoint.name, settled, self.run_id)
        push = _Push(endpoint, report, open_dlq)
        units = self._units(endpoint, to_send, states)
        if units:
            self._run_units(push, iter(units[:1]))  # canary: a bad API key costs one request
            rest = units[1:]
            if rest and not push.abort.is_set():
                workers = min(self.budget.max_concurrency, len(rest))
                queue = _Queue(rest)
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"push-{endpoint.name}") as pool:
                    for future in [pool.submit(self._run_units, push, queue) for _ in range(workers)]:
                        future.result()
            never_started = sum(len(u.works) for u in units) - push.processed
            if never_started > 0:
                report.add(Outcome.ABORTED, never_started)
        report.elapsed_s = time.perf_counter() - started
        if report.error:
            self.log.error(f"voyado sync {endpoint.name} stopped: {report.error}")
            raise SyncAborted(report.error, report)
        self.log.info(f"voyado sync {endpoint.name}: {report.summary()}")
        return report

    # ------------------------------------------------------------------------------------------
    def _validate(self, items: list[SyncItem], endpoint: Endpoint, local_validate: Validator | None):
        works: list[_Work] = []
        invalid: list[tuple[_Work, list[str]]] = []
        duplicates: list[tuple[_Work, Outcome, str]] = []
        seen: dict[str, str] = {}
        for item in items:
            w = _Work(item, item.hash)
            errors: list[str] = []
            if item.endpoint != endpoint.name:
                errors.append(f"item is for endpoint {item.endpoint!r}, not {endpoint.name!r}")
            if not item.key or not str(item.key).strip():
                errors.append("empty key")
            elif len(item.key) > 256:
                errors.append("key longer than 256 characters")
            elif scrub(item.key) != item.key:
                errors.append("key looks like an email or phone number: keys are stored in the ledger, so use a "
                              "non-personal key (externalId, order id) or privacy.hash_value()")
            if not errors:
                try:
                    # The caller's verdict first: an item it already knows is unsendable (a document that could
                    # not be mapped) is refused for that reason alone, not also for every field it lacks.
                    errors += _errors_of(local_validate(item.payload)) if local_validate is not None else []
                    errors += [] if errors else endpoint.validate(item)
                except Exception as exc:  # a validator bug must not crash the partition
                    errors.append(f"validator failed: {type(exc).__name__}: {exc}")
            if errors:
                invalid.append((w, errors))
                continue
            if item.key in seen:
                if seen[item.key] == w.hash:
                    duplicates.append((w, Outcome.DUPLICATE, "same key twice in this push"))
                else:
                    invalid.append((w, ["same key twice in this push with different payloads"]))
                continue
            seen[item.key] = w.hash
            works.append(w)
        return works, invalid, duplicates

    def _row(self, w: _Work, endpoint: str, outcome: Outcome, **extra: Any) -> dict[str, Any]:
        return {"endpoint": endpoint, "key": w.item.key, "payload_hash": w.hash, "outcome": outcome.value,
                "partition": w.item.partition or self.partition, "run_id": self.run_id,
                "redacted_payload": redact(w.item.payload), **extra}

    def _dlq_row(self, w: _Work, endpoint: str, outcome: Outcome, reason: str, error: str | None,
                 status_code: int | None = None) -> dict[str, Any]:
        return {"endpoint": endpoint, "key": w.item.key, "partition": w.item.partition or self.partition,
                "source": w.item.source, "payload": w.item.payload, "payload_hash": w.hash,
                "outcome": outcome.value, "status_code": status_code, "reason": reason, "error": error,
                "run_id": self.run_id}

    def _record_unsent(self, conn, endpoint: Endpoint, report: SyncReport, invalid, duplicates, skipped) -> None:
        name = endpoint.name
        rows, failures = [], []
        for w, errors in invalid:
            text = scrub("; ".join(errors))
            rows.append(self._row(w, name, Outcome.DEAD_LETTERED, error=text))
            failures.append(self._dlq_row(w, name, Outcome.DEAD_LETTERED, "local_validation", text))
            report.add(Outcome.DEAD_LETTERED)
        # A second copy of a key within one push gets no ledger row of its own: a "duplicate" row would
        # read as delivered to the next run even if the first copy failed.
        if duplicates:
            report.add(Outcome.DUPLICATE, len(duplicates))
        for w, outcome, note in skipped:
            rows.append(self._row(w, name, outcome, error=note))
            report.add(outcome)
            if outcome is Outcome.UNKNOWN:
                report.unknown_keys.append(w.item.key)
                failures.append(self._dlq_row(w, name, outcome, "outcome_unknown", note))
            elif outcome is Outcome.DEAD_LETTERED:
                failures.append(self._dlq_row(w, name, outcome, "changed_after_delivery", note))
        unknown = [w.item.key for w, o, _ in skipped if o is Outcome.UNKNOWN]
        if unknown:
            ledger.mark_stale(conn, name, unknown, Outcome.UNKNOWN, "process ended before the answer")
        ledger.insert_rows(conn, rows)
        dlq.record_failures(conn, failures)
        report.dead_letters += len(failures)

    def _units(self, endpoint: Endpoint, works: list[_Work], states: dict[str, ledger.KeyState]) -> list[_Unit]:
        if endpoint.batch_size <= 1:
            return [_Unit([w], None) for w in works]
        # Rows a dead process left in flight travel together again, so the batch (and its key) is the same.
        groups: dict[str, list[_Work]] = {}
        fresh: list[_Work] = []
        for w in works:
            stale = states.get(w.item.key)
            if w.recovering and stale and stale.latest_batch_key:
                groups.setdefault(stale.latest_batch_key, []).append(w)
            else:
                fresh.append(w)
        chunks = [g[i:i + endpoint.batch_size] for g in groups.values() for i in range(0, len(g), endpoint.batch_size)]
        chunks += [fresh[i:i + endpoint.batch_size] for i in range(0, len(fresh), endpoint.batch_size)]
        return [_Unit(c, batch_key(endpoint.name, [w.item for w in c], [w.hash for w in c])) for c in chunks]

    # ------------------------------------------------------------------------------------------
    def _run_units(self, push: _Push, units: Iterator[_Unit]) -> None:
        """One worker: units in turn until none is left or the push stops. Each unit's answer reaches the
        ledger with the next unit's in-flight rows (the in-flight row still precedes its request, and an
        answer never waits for anything but that insert); the worker's last answer goes alone."""
        settled: _Settled | None = None
        try:
            for unit in units:
                if push.abort.is_set():
                    break
                with self.db.begin() as conn:
                    if settled is not None:
                        self._write(conn, push, settled)
                    ids = ledger.insert_rows(conn, [self._row(w, push.endpoint.name, Outcome.IN_FLIGHT,
                                                              batch_key=unit.batch_key) for w in unit.works])
                if settled is not None:
                    self._count(push, settled)
                    settled = None
                settled = self._run_unit(push, unit, ids)
        finally:
            if settled is not None:  # not written yet: the worker's last answer, or the next insert failed
                with self.db.begin() as conn:
                    self._write(conn, push, settled)
                self._count(push, settled)

    def _run_unit(self, push: _Push, unit: _Unit, ids: list[int]) -> _Settled:
        """Send a unit whose ledger rows ``ids`` are in flight; its answer, not yet written."""
        endpoint = push.endpoint
        attempts = 0
        retries = 0
        requests = 0
        latency: float | None = None
        ambiguous = any(w.recovering for w in unit.works)
        found: dict[str, RowResult] = {}

        def attempt() -> list[RowResult]:
            nonlocal attempts, latency, ambiguous, requests
            attempts += 1
            pending = [w.item for w in unit.works if w.item.key not in found]
            if endpoint.delivery is Delivery.LOOKUP and ambiguous:
                with self.budget.slot():
                    requests += len(pending)
                    found.update(endpoint.lookup(pending))
                pending = [it for it in pending if it.key not in found]
                if not pending:
                    return []
            with self.budget.slot():
                t0 = time.perf_counter()
                requests += 1
                try:
                    try:
                        return endpoint.send(pending, unit.batch_key)
                    except ApiError as exc:
                        # The client's own guard for non-idempotent writes: surface the transient cause.
                        if exc.code == UNKNOWN_CODE and isinstance(exc.__cause__, TransientError):
                            raise exc.__cause__ from exc.__cause__.__cause__
                        raise
                except TransientError as exc:
                    accepted = exc.status is not None and 200 <= exc.status < 300
                    if accepted and (endpoint.status_is_answer or endpoint.delivery is Delivery.AT_MOST_ONCE):
                        # The status line said accepted; only the body was cut (or the connection broke
                        # while it came). Sending again would repeat what Voyado already holds.
                        settled = endpoint.answered if endpoint.status_is_answer else Outcome.SENT
                        return [RowResult(it.key, settled, exc.status,
                                          correlation_id=exc.correlation_id) for it in pending]
                    if not proves_not_processed(exc):
                        ambiguous = True
                        if endpoint.delivery is Delivery.AT_MOST_ONCE:
                            raise _OutcomeUnknown(str(exc), status=exc.status,
                                                  correlation_id=exc.correlation_id) from exc
                    raise
                finally:
                    latency = (time.perf_counter() - t0) * 1000

        def on_retry(exc: ApiError, attempt_number: int) -> None:
            nonlocal retries
            retries += 1
            if exc.status == 429:
                self.budget.penalize(exc.retry_after)

        results: dict[str, RowResult] = {}
        try:
            for r in self.retry.call(attempt, on_retry=on_retry):
                results[r.key] = r
        except AuthError as exc:
            push.abort.set()
            message = (f"Voyado rejected the API key ({exc.status}) on {exc.method or ''} {exc.url or endpoint.name}: "
                       f"check VOYADO_API_KEY / the resource's api_key. The push was stopped; nothing was retried.")
            with push.lock:
                push.report.error = push.report.error or scrub(message)
            for w in unit.works:
                results[w.item.key] = RowResult(w.item.key, Outcome.ABORTED, exc.status, error=scrub(str(exc)),
                                                correlation_id=exc.correlation_id)
        except _OutcomeUnknown as exc:
            for w in unit.works:
                results[w.item.key] = RowResult(w.item.key, Outcome.UNKNOWN, exc.status,
                                                error=scrub(f"outcome unknown: {exc}"), reason="outcome_unknown",
                                                correlation_id=exc.correlation_id)
        except TransientError as exc:
            for w in unit.works:
                results[w.item.key] = RowResult(w.item.key, Outcome.DEAD_LETTERED, exc.status,
                                                error=_error_text(exc), reason="retries_exhausted",
                                                correlation_id=exc.correlation_id)
        except ApiError as exc:
            reason = f"http_{exc.status}" + (f"_{exc.code}" if exc.code else "")
            for w in unit.works:
                results[w.item.key] = RowResult(w.item.key, Outcome.REJECTED, exc.status, error=_error_text(exc),
                                                reason=reason, correlation_id=exc.correlation_id)
        except Exception as exc:  # a client bug on one item must not crash the partition
            for w in unit.works:
                results[w.item.key] = RowResult(w.item.key, Outcome.DEAD_LETTERED, None,
                                                error=scrub(f"{type(exc).__name__}: {exc}"), reason="client_error")
        results = {**found, **results}
        return self._settle(push, unit, ids, results, attempts, retries, requests, latency)

    def _settle(self, push: _Push, unit: _Unit, ids: list[int], results: dict[str, RowResult], attempts: int,
                retries: int, requests: int, latency: float | None) -> _Settled:
        endpoint = push.endpoint
        updates, failures, delivered = [], [], []
        outcomes: list[Outcome] = []
        remote_ids: dict[str, tuple[str, str]] = {}
        for row_id, w in zip(ids, unit.works):
            r = results.get(w.item.key) or RowResult(w.item.key, Outcome.DEAD_LETTERED, error="no per-row result "
                                                      "in the response", reason="missing_row_result")
            outcome = r.outcome
            if outcome is Outcome.SENT and attempts > 1:
                outcome = Outcome.RETRIED
            outcomes.append(outcome)
            if r.remote_id:
                remote_ids[w.item.key] = (r.remote_id, outcome.value)
            updates.append({"_id": row_id, "outcome": outcome.value, "status_code": r.status_code,
                            "attempts": attempts, "latency_ms": latency, "correlation_id": r.correlation_id,
                            "error": scrub(r.error) if r.error else None})
            if outcome in DELIVERED:
                delivered.append(w.item.key)
            elif outcome in FAILED:
                failures.append(self._dlq_row(w, endpoint.name, outcome, r.reason or outcome.value,
                                              r.error, r.status_code))
        return _Settled(unit, updates, failures, delivered, outcomes, retries, requests, latency, remote_ids)

    def _write(self, conn: sa.Connection, push: _Push, s: _Settled) -> None:
        ledger.finalize_rows(conn, s.updates)
        dlq.record_failures(conn, s.failures)
        replayed = [k for k in s.delivered if k in push.open_dlq]
        if replayed:
            dlq.mark_replayed(conn, push.endpoint.name, replayed, self.run_id)

    def _count(self, push: _Push, s: _Settled) -> None:
        """Into the report, once its ledger rows are committed."""
        with push.lock:
            report = push.report
            push.processed += len(s.unit.works)
            for w, outcome in zip(s.unit.works, s.outcomes):
                report.add(outcome)
                if outcome is Outcome.UNKNOWN:
                    report.unknown_keys.append(w.item.key)
            report.remote_ids.update(s.remote_ids)
            report.dead_letters += len(s.failures)
            report.retries += s.retries
            report.requests += s.requests
            if s.latency is not None:
                report.latencies_ms.append(s.latency)

    # ------------------------------------------------------------------------------------------
    def _dry_run(self, report: SyncReport, invalid, skipped, to_send: list[_Work],
                 states: dict[str, ledger.KeyState]) -> None:
        report.invalid = len(invalid)
        report.unchanged = sum(1 for _, o, _ in skipped if o is Outcome.UNCHANGED_SKIPPED)
        new = [w for w in to_send if not (states.get(w.item.key) and states[w.item.key].latest_hash)]
        changed = [w for w in to_send if w not in new] + [w for w, o, _ in skipped if o is Outcome.DEFERRED]
        report.changed, report.new = len(changed), len(new)
        sample = changed[:SAMPLE_DIFFS]
        last_sent = {w.item.key: states[w.item.key].delivered_id or states[w.item.key].latest_id for w in sample}
        with self.db.connect() as conn:
            old = ledger.redacted_payloads(conn, [i for i in last_sent.values() if i is not None])
        for w in sample:
            report.sample_diff.append({"key": w.item.key, "change": "changed",
                                       "fields": diff_payloads(old.get(last_sent[w.item.key]), redact(w.item.payload))})
        for w in new[:SAMPLE_DIFFS]:
            report.sample_diff.append({"key": w.item.key, "change": "new",
                                       "fields": diff_payloads(None, redact(w.item.payload))})
        for w, errors in invalid[:SAMPLE_DIFFS]:
            report.sample_diff.append({"key": w.item.key, "change": "invalid", "errors": [scrub(e) for e in errors]})
