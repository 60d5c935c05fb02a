"""What the sync-engine tests share besides fixtures: an Engage sandbox on loopback, an engine on the real
state database, fault injection. (Fixtures live in conftest.py, which tests never import.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from voyado_sync.clients.engage import EngageClient
from voyado_sync.clients.http import RetryPolicy
from voyado_sync.sandbox.engage import EngageSandbox
from voyado_sync.sandbox.http import SandboxServer
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


@contextmanager
def engage_sandbox() -> Iterator[Engage]:
    """The Engage sandbox with the factories' contacts, served on loopback."""
    app = EngageSandbox(api_keys={API_KEY: None}, seed=0)
    app.seed_contacts(contact_docs())
    server = SandboxServer(app).start()
    try:
        yield Engage(app, server.url)
    finally:
        server.stop()


def make_engine(state: sa.Engine, *, rate: float = 500.0, concurrency: int = 8, run_id: str = "run-1",
                partition: str | None = PARTITION, api_key: str = API_KEY, retry: RetryPolicy = FAST_RETRY) -> SyncEngine:
    return SyncEngine(state, RateBudget(state, api_key, rate, concurrency), run_id, partition, retry=retry)


def set_faults(engage: Engage, rules: list[dict], *, seed: int = 3, latency_ms: float = 0.0) -> None:
    httpx.post(f"{engage.url}/__admin/faults", json={"seed": seed, "latency_ms": latency_ms, "rules": rules}).raise_for_status()
