"""Voyado resources: configuration (API keys via `dg.EnvVar`) plus one pooled client per run.

``rate_limit_per_second`` paces this resource's own client (e.g. the contacts source reading one contact
per request); pushes additionally draw from the shared per-key budget of the sync engine, so a backfill
beside the daily run still stays within the key's limit. ``max_concurrency`` bounds parallel requests.
"""

from __future__ import annotations

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.clients.engage import EngageClient
from voyado_sync.resources.client import ApiClientResource


class EngageResource(ApiClientResource):
    """Voyado Engage (VOYADO_ENGAGE_URL, VOYADO_API_KEY): the real tenant or the sandbox by configuration."""

    base_url: str
    api_key: str
    rate_limit_per_second: float = 40.0
    max_concurrency: int = 8

    def _build(self) -> EngageClient:
        return EngageClient(self.base_url, self.api_key, timeout=self.timeout,
                            max_connections=max(1, self.max_concurrency),
                            rate_limit_per_second=self.rate_limit_per_second if self.rate_limit_per_second > 0 else None,
                            retry=self.retry_policy())

    def client(self) -> EngageClient:
        return super().client()


class ElevateResource(ApiClientResource):
    """Voyado Elevate admin API (VOYADO_ELEVATE_URL, VOYADO_ELEVATE_API_KEY). Not every tenant licenses
    Elevate: ``enabled=False`` (no VOYADO_ELEVATE_URL) makes the catalog push a documented no-op."""

    base_url: str = ""
    api_key: str = ""
    enabled: bool = True
    timeout: float = 60.0
    max_retry_seconds: float = 120.0

    def setup_for_execution(self, context) -> None:
        if self.enabled:
            super().setup_for_execution(context)

    def _build(self) -> ElevateClient:
        return ElevateClient(self.base_url, self.api_key, timeout=self.timeout, retry=self.retry_policy())

    def client(self) -> ElevateClient:
        return super().client()
