"""The Commercetools resource: configuration (secrets via `dg.EnvVar`) plus one pooled client per run."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.clients.http import RetryPolicy


class CommercetoolsResource(dg.ConfigurableResource):
    """Points at a real project or the sandbox by configuration alone (CTP_* environment variables)."""

    api_url: str
    auth_url: str
    project_key: str
    client_id: str
    client_secret: str
    scopes: str = ""
    timeout: float = 30.0
    max_attempts: int = 6
    max_retry_seconds: float = 60.0
    retry_initial_backoff: float = 0.2
    max_connections: int = 10

    _client: CommercetoolsClient | None = PrivateAttr(default=None)

    def client(self) -> CommercetoolsClient:
        """The run's client (created on first use, closed at teardown); its ``stats`` count requests."""
        if self._client is None:
            self._client = CommercetoolsClient(
                self.api_url, self.auth_url, self.project_key, self.client_id, self.client_secret,
                scopes=self.scopes, timeout=self.timeout, max_connections=self.max_connections,
                retry=RetryPolicy(max_attempts=self.max_attempts, max_total_seconds=self.max_retry_seconds,
                                  initial_backoff=self.retry_initial_backoff, max_backoff=10.0),
            )
        return self._client

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Validate configuration before any asset starts work: an empty URL or key fails here, once.
        self.client()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
