"""One request budget per Voyado API key, shared by every run and process that uses the key.

Voyado counts its limit per API key (recommended < 50 req/s, 429 above 200 req/s), so a backfill running
beside the daily run must not get its own budget. Choices and why:

* **Token bucket stored in the state database**, one row per *hashed* API key (the key itself is never
  stored). Every process that pushes with the key draws from the same row. The state database is
  already shared by all runs (PostgreSQL in production, one SQLite file for the embedded default), so
  this needs no new infrastructure, works across processes and hosts (Dagster run workers, the CLI,
  the benchmark) and survives restarts. Dagster pools only bound how many *steps* run at once; they
  cannot say "40 requests per second across whatever is running", so they complement this rather than
  replace it (put push assets in ``pool="voyado_api"`` to also cap concurrent pushers).
* **Claimed in small chunks** (about 1/20 s of rate) under a row lock: the transaction first touches the
  row with an UPDATE, which takes the row lock on PostgreSQL and the database write lock on SQLite (the
  equivalent of ``SELECT … FOR UPDATE`` / ``BEGIN IMMEDIATE``), then refills by elapsed time, takes what it
  can and commits. Chunks keep the database at ~20 short transactions per second per process instead of
  one per request. Claimed tokens that are not spent within ``hold_s`` are discarded, so a stalled
  process cannot later burst with stale tokens. The clock is the database's own on PostgreSQL (so hosts
  with skewed clocks still share one timeline) and the local clock for a SQLite file (one host).
* **Small burst** (default 1/10 s of rate): the bucket smooths traffic, so over any one-second window
  all processes together send at most ``rate + burst`` requests plus one unspent chunk per process.
* **Bounded concurrency** per process: a semaphore of ``max_concurrency`` in-flight requests shared by
  every push using this budget object; each run's thread pool is sized to it as well.
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from voyado_sync.privacy import hash_value
from voyado_sync.state.sync_tables import ensure_schema, rate_budget_t

DEFAULT_RATE = 40.0
PENALTY_WINDOW_S = 1.0

class RateBudget:
    def __init__(self, state_engine: sa.Engine, api_key: str, rate_per_second: float = DEFAULT_RATE,
                 max_concurrency: int = 8, *, burst: float | None = None, chunk: int | None = None,
                 hold_s: float = 0.25) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        ensure_schema(state_engine)
        self.engine = state_engine
        self.key_hash = hash_value(api_key, "voyado-api-key")
        self.rate = float(rate_per_second)
        self.max_concurrency = int(max_concurrency)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate / 10)
        self.chunk = int(chunk) if chunk is not None else max(1, min(int(self.burst), round(self.rate / 20)))
        self.hold_s = hold_s
        self._local = 0
        self._expires = 0.0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._penalty_lock = threading.Lock()
        self._penalized_at = float("-inf")
        self.claims = 0  # database transactions spent (for benchmarks)
        self.penalties = 0
        self.waited_s = 0.0

    def __repr__(self) -> str:
        return f"RateBudget(key={self.key_hash}, rate={self.rate}/s, burst={self.burst}, concurrency={self.max_concurrency})"

    def _db_now(self, conn: sa.Connection) -> float:
        if conn.dialect.name == "postgresql":
            return float(conn.scalar(sa.text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")))
        return time.time()

    def _claim(self, want: int) -> tuple[int, float]:
        """Take up to ``want`` tokens from the shared bucket: (granted, seconds to wait if none)."""
        t = rate_budget_t.c
        with self.engine.begin() as conn:
            # Touch first: this UPDATE takes the row lock (PostgreSQL) / write lock (SQLite) for the
            # whole transaction, so the read-refill-write below cannot interleave with another process.
            touched = conn.execute(sa.update(rate_budget_t).where(t.key_hash == self.key_hash)
                                   .values(rate=self.rate, burst=self.burst)).rowcount
            now = self._db_now(conn)
            if not touched:
                insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(rate_budget_t)
                conn.execute(insert.values(key_hash=self.key_hash, tokens=self.burst, stamp=now, rate=self.rate,
                                           burst=self.burst).on_conflict_do_nothing(index_elements=["key_hash"]))
                conn.execute(sa.update(rate_budget_t).where(t.key_hash == self.key_hash).values(rate=self.rate))
            row = conn.execute(sa.select(t.tokens, t.stamp).where(t.key_hash == self.key_hash)).one()
            tokens = min(self.burst, row.tokens + max(0.0, now - row.stamp) * self.rate)
            # All or nothing: a partial grant would cost one transaction per token when pushers contend.
            want = min(want, max(1, int(self.burst)))
            granted = want if tokens >= want else 0
            tokens -= granted
            conn.execute(sa.update(rate_budget_t).where(t.key_hash == self.key_hash)
                         .values(tokens=tokens, stamp=max(now, row.stamp)))
        self.claims += 1
        wait = 0.0 if granted else (min(want, self.burst) - tokens) / self.rate
        return granted, wait

    def acquire(self) -> None:
        """Block until one request may be sent under the key's shared rate."""
        # One thread claims for the whole process while the others queue on the lock: threads never
        # race each other to the database, and local tokens are handed out in arrival order.
        with self._lock:
            while True:
                if self._local > 0 and time.monotonic() < self._expires:
                    self._local -= 1
                    return
                granted, wait = self._claim(self.chunk)
                if granted:
                    self._local, self._expires = granted - 1, time.monotonic() + self.hold_s
                    return
                pause = max(0.001, wait) * random.uniform(1.0, 1.2)  # jitter: pushers do not claim in lockstep
                self.waited_s += pause
                time.sleep(pause)

    def penalize(self, retry_after: float | None = None) -> None:
        """Voyado answered 429: the key is over its limit whatever our arithmetic says (another client may
        share it). Empty the shared bucket so every pusher waits for it to refill, instead of each retrying
        into the limit. (The refused request itself waits for its Retry-After in the retry policy.)

        At most once a second from this process (or once per ``retry_after``, the server's own back-off,
        when that is longer): emptying the bucket pauses the key for at most its burst, a tenth of a
        second of rate, and the 429s that answer requests sent meanwhile are the same signal. Emptying it
        for each of them cost a tenth of the throughput the server allowed when 6 % of answers were 429,
        while every refused request still waits for its own Retry-After."""
        window = max(retry_after or 0.0, PENALTY_WINDOW_S)
        with self._penalty_lock:
            now = time.monotonic()
            if now - self._penalized_at < window:
                return
            self._penalized_at = now
        with self.engine.begin() as conn:
            t = rate_budget_t.c
            conn.execute(sa.update(rate_budget_t).where(t.key_hash == self.key_hash, t.tokens > 0).values(tokens=0.0))
        self.penalties += 1

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One in-flight request: bounded concurrency, then a token from the shared rate."""
        with self._slots:
            self.acquire()
            yield
