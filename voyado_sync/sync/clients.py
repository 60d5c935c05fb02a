"""Clients as the sync engine needs them: ONE attempt per call. The engine owns retries, so that every
attempt draws from the API key's shared rate budget, is counted in the ledger, and an interrupted
at-most-once write is never blindly repeated by a lower layer."""

from __future__ import annotations

from typing import Any

from voyado_sync.clients.http import RetryPolicy

SINGLE_ATTEMPT = RetryPolicy(max_attempts=1, max_total_seconds=0.0)
TIMEOUT_S = 30.0


def engage_client(base_url: str, api_key: str, *, max_concurrency: int = 8, timeout: float = TIMEOUT_S) -> Any:
    from voyado_sync.clients.engage import EngageClient

    return EngageClient(base_url, api_key, timeout=timeout, retry=SINGLE_ATTEMPT,
                        max_connections=max(10, max_concurrency))


def elevate_client(base_url: str, api_key: str, *, timeout: float = 120.0) -> Any:
    """A full catalog import is idempotent (PUT replaces everything) and rare, so this client keeps its own
    retries — in particular while polling a long import, where a transient error must not restart it."""
    from voyado_sync.clients.elevate import ElevateClient

    return ElevateClient(base_url, api_key, timeout=timeout)


def commercetools_client(resource: Any, *, timeout: float = TIMEOUT_S) -> Any:
    """A client on a CommercetoolsResource's settings with one attempt per call (the engine retries)."""
    from voyado_sync.clients.commercetools import CommercetoolsClient

    return CommercetoolsClient(resource.api_url, resource.auth_url, resource.project_key, resource.client_id,
                               resource.client_secret, scopes=resource.scopes, timeout=timeout,
                               retry=SINGLE_ATTEMPT, max_connections=resource.max_connections)
