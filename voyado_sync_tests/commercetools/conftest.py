"""Fixtures for the Commercetools client and extraction tests: a real sandbox on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
from voyado_sync.sandbox.http import SandboxServer

from .support import FAST_RETRY, PROJECT


@pytest.fixture
def ct() -> Iterator[tuple[CommercetoolsSandbox, str]]:
    app = CommercetoolsSandbox(project_key=PROJECT)
    server = SandboxServer(app).start()
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def client(ct) -> Iterator[CommercetoolsClient]:
    _, url = ct
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", timeout=2.0,
                             retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
def resources(ct, sync_home, tmp_path):
    """Dagster resources pointing at the sandbox and a temporary Parquet store."""
    from voyado_sync.resources.commercetools import CommercetoolsResource
    from voyado_sync.resources.state import PartitionStoreResource

    _, url = ct
    return {
        "commercetools": CommercetoolsResource(api_url=url, auth_url=url, project_key=PROJECT,
                                               client_id="sandbox-client", client_secret="sandbox-secret",
                                               timeout=2.0, max_attempts=12, max_retry_seconds=30,
                                               retry_initial_backoff=0.01),
        "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet")),
    }
