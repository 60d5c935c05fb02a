"""Voyado resources: configuration (API keys via `dg.EnvVar`) plus one pooled client per run.

``rate_limit_per_second`` paces this resource's own client (e.g. the contacts source reading one contact
per request); pushes additionally draw from the shared per-key budget of the sync engine, so a backfill
beside the daily run still stays within the key's limit. ``max_concurrency`` bounds parallel requests.
"""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.clients.engage import EngageClient
from voyado_sync.clients.http import RetryPolicy


class EngageResource(dg.ConfigurableResource):
    """Voyado Engage (VOYADO_ENGAGE_URL, VOYADO_API_KEY): the real tenant or the sandbox by configuration."""

    base_url: str
    api_key: str
    rate_limit_per_second: float = 40.0
    max_concurrency: int = 8
    timeout: float = 30.0
    max_attempts: int = 6
    max_retry_seconds: float = 60.0

    _client: EngageClient | None = PrivateAttr(default=None)

    def client(self) -> EngageClient:
        """The run's client (created on first use, closed at teardown); ``stats`` counts requests/retries."""
        if self._client is None:
            self._client = EngageClient(
                self.base_url, self.api_key, timeout=self.timeout, max_connections=max(1, self.max_concurrency),
                rate_limit_per_second=self.rate_limit_per_second if self.rate_limit_per_second > 0 else None,
                retry=RetryPolicy(max_attempts=self.max_attempts, max_total_seconds=self.max_retry_seconds),
            )
        return self._client

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.client()  # an empty URL or key fails here, once, before any asset starts

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ElevateResource(dg.ConfigurableResource):
    """Voyado Elevate admin API (VOYADO_ELEVATE_URL, VOYADO_ELEVATE_API_KEY)."""

    base_url: str
    api_key: str
    timeout: float = 60.0
    max_attempts: int = 6
    max_retry_seconds: float = 120.0

    _client: ElevateClient | None = PrivateAttr(default=None)

    def client(self) -> ElevateClient:
        if self._client is None:
            self._client = ElevateClient(
                self.base_url, self.api_key, timeout=self.timeout,
                retry=RetryPolicy(max_attempts=self.max_attempts, max_total_seconds=self.max_retry_seconds),
            )
        return self._client

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self.client()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
