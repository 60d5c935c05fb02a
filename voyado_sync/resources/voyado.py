"""Voyado resources: configuration (API keys via `dg.EnvVar`) plus one pooled client per run.

``rate_limit_per_second`` paces this resource's own client (e.g. the contacts source reading one contact
per request); pushes additionally draw from the shared per-key budget of the sync engine, so a backfill
beside the daily run still stays within the key's limit. ``max_concurrency`` bounds parallel requests.
"""

from __future__ import annotations

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.clients.engage import EngageClient
from voyado_sync.resources.client import ApiClientResource, BudgetTerms


class EngageResource(ApiClientResource):
    """Voyado Engage (VOYADO_ENGAGE_URL, VOYADO_API_KEY): the real tenant or the sandbox by configuration."""

    base_url: str
    api_key: str
    rate_limit_per_second: float = 40.0
    max_concurrency: int = 8

    def _build(self) -> EngageClient:
        return EngageClient(self.base_url, self.api_key, timeout=self.timeout,
                            max_connections=max(10, self.max_concurrency),
                            rate_limit_per_second=self.rate_limit_per_second if self.rate_limit_per_second > 0 else None,
                            retry=self.retry_policy())

    def client(self) -> EngageClient:
        return super().client()

    def budget_terms(self) -> BudgetTerms:
        return BudgetTerms(self.api_key, self.rate_limit_per_second, self.max_concurrency)


class ElevateResource(ApiClientResource):
    """Voyado Elevate admin API (VOYADO_ELEVATE_URL, VOYADO_ELEVATE_API_KEY). Not every tenant licenses
    Elevate: ``enabled=False`` (no VOYADO_ELEVATE_URL) makes the catalog push a documented no-op."""

    base_url: str = ""
    api_key: str = ""
    timeout: float = 120.0
    max_retry_seconds: float = 120.0
    # Catalog imports are few and heavy, and Elevate runs one at a time; its limits are not published.
    push_rate_per_second: float = 5.0

    def setup_for_execution(self, context) -> None:
        if self.enabled:
            super().setup_for_execution(context)

    def _build(self) -> ElevateClient:
        return ElevateClient(self.base_url, self.api_key, timeout=self.timeout, retry=self.retry_policy())

    def client(self) -> ElevateClient:
        return super().client()

    def push_client(self) -> ElevateClient:
        # An import is idempotent (a full import replaces everything, an incremental one repeats its
        # lines) and polling a long one must survive a transient error: this client keeps its retries.
        return self.client()

    def budget_terms(self) -> BudgetTerms:
        return BudgetTerms(self.api_key, self.push_rate_per_second, 1)
