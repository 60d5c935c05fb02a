"""The Commercetools resource: configuration (secrets via `dg.EnvVar`) plus one pooled client per run."""

from __future__ import annotations

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.resources.client import ApiClientResource, BudgetTerms


class CommercetoolsResource(ApiClientResource):
    """Points at a real project or the sandbox by configuration alone (CTP_* environment variables)."""

    api_url: str
    auth_url: str
    project_key: str
    client_id: str
    client_secret: str
    scopes: str = ""
    max_connections: int = 10
    # Write-backs share the project's API client with extraction; Commercetools throttles per project,
    # not per request rate, so this only keeps the write-back a polite neighbour.
    write_rate_per_second: float = 20.0

    def _build(self) -> CommercetoolsClient:
        return CommercetoolsClient(self.api_url, self.auth_url, self.project_key, self.client_id, self.client_secret,
                                   scopes=self.scopes, timeout=self.timeout, max_connections=self.max_connections,
                                   retry=self.retry_policy())

    def client(self) -> CommercetoolsClient:
        return super().client()

    def budget_terms(self) -> BudgetTerms:
        return BudgetTerms(self.client_id, self.write_rate_per_second, self.max_connections)
