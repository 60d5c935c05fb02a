"""What every API resource shares: retry settings, one pooled client per run, and its lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from voyado_sync.clients.http import RetryPolicy


@dataclass(frozen=True)
class BudgetTerms:
    """The shared rate budget a push draws from: one token bucket per ``key`` (hashed before it is stored),
    ``per_second`` requests, at most ``concurrency`` in flight per process."""

    key: str
    per_second: float
    concurrency: int


class ApiClientResource(dg.ConfigurableResource):
    """Subclasses add their API's settings and build the client in `_build`."""

    timeout: float = 30.0
    # An optional API (Elevate: not every tenant licenses it) can be switched off; its pushes then record
    # what is pending instead of sending.
    enabled: bool = True
    max_attempts: int = 6
    max_retry_seconds: float = 60.0
    retry_initial_backoff: float = 0.2

    _client: Any = PrivateAttr(default=None)

    def _build(self) -> Any:
        raise NotImplementedError

    def budget_terms(self) -> BudgetTerms:
        raise NotImplementedError

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, max_total_seconds=self.max_retry_seconds,
                           initial_backoff=self.retry_initial_backoff)

    def client(self) -> Any:
        """The run's client (created on first use, closed at teardown); its ``stats`` count requests."""
        if self._client is None:
            self._client = self._build()
        return self._client

    def push_client(self) -> Any:
        """The run's client as the sync engine uses it: one attempt per call on the same connection pool
        (the engine retries, every attempt drawn from the shared budget and counted in the ledger)."""
        return self.client().single_attempt()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Validate configuration before any asset starts work: an empty URL or key fails here, once.
        self.client()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        """Close the client (outside Dagster, e.g. in the CLI, the caller owns the lifecycle)."""
        if self._client is not None:
            self._client.close()
            self._client = None
