"""Loopback Engage and Elevate sandboxes (port 0, stopped at teardown) and clients pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.clients.engage import EngageClient
from voyado_sync.sandbox.elevate import ElevateSandbox
from voyado_sync.sandbox.engage import EngageSandbox
from voyado_sync.sandbox.http import SandboxServer

from .support import ELEVATE_KEY, FAST_RETRY, KEY


@pytest.fixture
def engage_server() -> Iterator[SandboxServer]:
    server = SandboxServer(EngageSandbox(api_keys={KEY: 200.0, "other-key": None})).start()
    yield server
    server.stop()


@pytest.fixture
def engage(engage_server) -> EngageSandbox:
    return engage_server.app


@pytest.fixture
def api(engage_server) -> Iterator[httpx.Client]:
    """Raw HTTP with the mandatory headers, to see the sandbox's answers as they are."""
    with httpx.Client(base_url=engage_server.url, headers={"apikey": KEY, "Content-Type": "application/json"},
                      timeout=10) as client:
        yield client


@pytest.fixture
def client(engage_server) -> Iterator[EngageClient]:
    with EngageClient(engage_server.url, KEY, retry=FAST_RETRY, timeout=5) as c:
        yield c


@pytest.fixture
def elevate_server() -> Iterator[SandboxServer]:
    server = SandboxServer(ElevateSandbox(api_keys={ELEVATE_KEY}, import_blocking_seconds=2.0)).start()
    yield server
    server.stop()


@pytest.fixture
def elevate(elevate_server) -> ElevateSandbox:
    return elevate_server.app


@pytest.fixture
def elevate_client(elevate_server) -> Iterator[ElevateClient]:
    with ElevateClient(elevate_server.url, ELEVATE_KEY, retry=FAST_RETRY, timeout=5) as c:
        yield c
