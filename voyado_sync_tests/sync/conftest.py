"""Sync-engine fixtures: a real Engage sandbox over loopback HTTP and the real PostgreSQL state DB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from voyado_sync.clients.engage import EngageClient
from voyado_sync.clients.http import RetryPolicy
from voyado_sync.sandbox.engage import EngageSandbox
from voyado_sync.sandbox.http import SandboxServer
from voyado_sync.state.db import get_engine
from voyado_sync.sync.engine import SyncEngine
from voyado_sync.sync.rate_budget import RateBudget
from voyado_sync_tests.sync.factories import API_KEY, PARTITION, contact_docs

FAST_RETRY = RetryPolicy(max_attempts=8, max_total_seconds=20.0, initial_backoff=0.02, max_backoff=0.2)


@dataclass
class Engage:
    app: EngageSandbox
    url: str

    def client(self, api_key: str = API_KEY):
        return EngageClient(self.url, api_key).single_attempt()

    def api_requests(self, path_part: str = "/api/"):
        return [r for r in self.app.requests() if path_part in r.path]


@pytest.fixture
def engage() -> Iterator[Engage]:
    app = EngageSandbox(api_keys={API_KEY: None}, seed=0)
    app.seed_contacts(contact_docs())
    server = SandboxServer(app).start()
    try:
        yield Engage(app, server.url)
    finally:
        server.stop()


@pytest.fixture
def state(pg_url) -> sa.Engine:
    return get_engine(pg_url)


def make_engine(state: sa.Engine, *, rate: float = 500.0, concurrency: int = 8, run_id: str = "run-1",
                partition: str | None = PARTITION, api_key: str = API_KEY, retry: RetryPolicy = FAST_RETRY) -> SyncEngine:
    return SyncEngine(state, RateBudget(state, api_key, rate, concurrency), run_id, partition, retry=retry)


def set_faults(engage: Engage, rules: list[dict], *, seed: int = 3, latency_ms: float = 0.0) -> None:
    import httpx

    httpx.post(f"{engage.url}/__admin/faults", json={"seed": seed, "latency_ms": latency_ms, "rules": rules}).raise_for_status()
