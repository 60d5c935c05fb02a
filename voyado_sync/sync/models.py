"""What the sync engine consumes and reports: items with deterministic keys, per-item outcomes, a report.

Outcomes (one ledger row per item per push):

* ``sent`` — Voyado accepted it on the first attempt; ``retried`` — accepted after ``attempts`` > 1;
* ``accepted`` — Voyado took it but processes it later (receipts): it holds it only once a read-back
  finds it, which writes ``held`` (delivered) or ``not_held`` (a dead letter: resent on the next run);
* ``duplicate`` — Voyado (or, for triggers, the ledger) already had this key: no new effect;
* ``unchanged_skipped`` — same payload hash as the last successful send: not sent at all;
* ``deferred`` — changed while its accepted version awaits the read-back: sent (or corrected) once
  Voyado's answer is known;
* ``rejected`` — Voyado refused it for good (non-transient 4xx, per-row ``notAccepted``) → dead letters;
* ``dead_lettered`` — never got a verdict: failed local validation (no request made) or transient errors
  outlived the retry budget → dead letters;
* ``unknown`` — an effect without server-side de-duplication (custom triggers) whose fate is unknown
  (process killed mid-request, connection reset after sending). Never re-sent automatically → dead letters
  with reason ``outcome_unknown``: at-most-once, surfaced instead of guessed;
* ``in_flight`` — written *before* the request, replaced by one of the above after it; a row still in
  flight after the process is gone marks exactly the items a rerun must resolve;
* ``aborted`` — the push stopped (wrong credentials) before this item got an answer; no effect.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class Outcome(str, enum.Enum):
    SENT = "sent"
    RETRIED = "retried"
    ACCEPTED = "accepted"
    HELD = "held"
    NOT_HELD = "not_held"
    DUPLICATE = "duplicate"
    UNCHANGED_SKIPPED = "unchanged_skipped"
    DEFERRED = "deferred"
    REJECTED = "rejected"
    DEAD_LETTERED = "dead_lettered"
    UNKNOWN = "unknown"
    IN_FLIGHT = "in_flight"
    ABORTED = "aborted"


#: Outcomes after which Voyado holds the item: the payload hash of such a row is "last successful".
DELIVERED = frozenset({Outcome.SENT, Outcome.RETRIED, Outcome.DUPLICATE, Outcome.HELD})
#: Outcomes that put the item in the dead letters.
FAILED = frozenset({Outcome.REJECTED, Outcome.DEAD_LETTERED, Outcome.UNKNOWN, Outcome.NOT_HELD})


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(payload: Any) -> str:
    """Key-sorted, whitespace-free JSON: equal payloads give equal text, whatever the dict order."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)


def payload_hash(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SyncItem:
    """One write to Voyado. ``key`` is deterministic (uniqueReceiptId, contact externalId, trigger event
    key, point-transaction row key, catalog key); ``source`` names the payload dataset it came from
    (e.g. ``"voyado/receipts_payload"``) so a dead letter can be replayed from the current payload."""

    key: str
    endpoint: str
    payload: Any
    partition: str | None = None
    source: str | None = None

    @property
    def hash(self) -> str:
        return payload_hash(self.payload)


@dataclass
class RowResult:
    """What an endpoint learnt about one item from one request."""

    key: str
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None  # scrubbed error body / reason text
    reason: str | None = None  # short machine-readable reason for dead letters
    correlation_id: str | None = None
    remote_id: str | None = None  # what the API calls the item (a created or located contact's id)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


@dataclass
class SyncReport:
    endpoint: str
    run_id: str
    partition: str | None
    dry_run: bool = False
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    retries: int = 0  # extra attempts spent on transient errors
    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)
    # key -> (the API's id for it, the outcome that told it: sent = created, duplicate = already there)
    remote_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    error: str | None = None  # set when the push stopped (wrong credentials)
    # dry run only
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    invalid: int = 0
    sample_diff: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    parts: list["SyncReport"] = field(default_factory=list)  # a combined report: the pushes it adds up

    @classmethod
    def combine(cls, reports: list["SyncReport"], *, endpoint: str, run_id: str, partition: str | None,
                dry_run: bool) -> "SyncReport":
        """One report for several pushes of one step (one per endpoint or recruiting store): counts add
        up, so the failure rate and latency percentiles are those of all the step's items."""
        out = cls(endpoint=endpoint, run_id=run_id, partition=partition, dry_run=dry_run, parts=list(reports))
        for r in reports:
            out.total += r.total
            for name, n in r.counts.items():
                out.counts[name] = out.counts.get(name, 0) + n
            out.dead_letters += r.dead_letters
            out.retries += r.retries
            out.requests += r.requests
            out.latencies_ms += r.latencies_ms
            out.unknown_keys += r.unknown_keys
            out.remote_ids.update(r.remote_ids)
            out.new += r.new
            out.changed += r.changed
            out.unchanged += r.unchanged
            out.invalid += r.invalid
            out.sample_diff += r.sample_diff
            out.elapsed_s += r.elapsed_s
            out.error = out.error or r.error
        return out

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome.value, 0)

    def count_in(self, endpoints: tuple[str, ...], *outcomes: Outcome) -> int:
        """Items of a combined report's pushes to ``endpoints`` that ended in one of ``outcomes``."""
        return sum(p.count(o) for p in self.parts if p.endpoint in endpoints for o in outcomes)

    def add(self, outcome: Outcome, n: int = 1) -> None:
        self.counts[outcome.value] = self.counts.get(outcome.value, 0) + n

    @property
    def failed(self) -> int:
        return sum(self.count(o) for o in FAILED)

    @property
    def failure_rate(self) -> float:
        """Failed items over items that needed a decision (unchanged items are not attempts)."""
        considered = self.total - self.count(Outcome.UNCHANGED_SKIPPED)
        return round(self.failed / considered, 6) if considered > 0 else 0.0

    @property
    def aborted(self) -> bool:
        return self.error is not None

    def p50(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    def p95(self) -> float | None:
        return percentile(self.latencies_ms, 95)

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able figures (no payloads): used for metadata, CLI output and logs."""
        out: dict[str, Any] = {
            "endpoint": self.endpoint, "partition": self.partition, "dry_run": self.dry_run,
            "total": self.total, "counts": dict(sorted(self.counts.items())),
            "dead_letters": self.dead_letters, "failure_rate": self.failure_rate,
            "retries": self.retries, "requests": self.requests,
            "latency_p50_ms": _round(self.p50()), "latency_p95_ms": _round(self.p95()),
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if self.unknown_keys:
            out["unknown_keys"] = self.unknown_keys[:50]
        if self.error:
            out["error"] = self.error
        if self.dry_run:
            out.update(new=self.new, changed=self.changed, unchanged=self.unchanged, invalid=self.invalid,
                       sample_diff=self.sample_diff)
        return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)
