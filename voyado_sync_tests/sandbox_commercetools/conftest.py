"""One Commercetools sandbox server per test session (starting/stopping a server costs ~0.5 s), reset to an
empty project before every test so tests never see each other's documents, tokens or faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
from voyado_sync.sandbox.http import SandboxServer

from voyado_sync.sandbox.run import CT_PROJECT_KEY as PROJECT
# Verbatim copies of the official example documents (reference/commercetools-examples), kept in the repo so
# the round-trip tests run on a fresh clone.
EXAMPLES_DIR = Path(__file__).parent / "reference_examples"


@dataclass
class CT:
    app: CommercetoolsSandbox
    url: str

    def token(self, client: str = "sandbox-client", secret: str = "sandbox-secret", scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        resp = httpx.post(f"{self.url}/oauth/token", auth=(client, secret), data=data)
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    def api(self, token: str | None = None, **kw) -> httpx.Client:
        """A client on ``{url}/{projectKey}`` carrying a bearer token (the admin client's unless given)."""
        kw.setdefault("timeout", 10)
        return httpx.Client(base_url=f"{self.url}/{PROJECT}",
                            headers={"Authorization": f"Bearer {token or self.token()}"}, **kw)


@pytest.fixture(scope="session")
def _ct_server() -> Iterator[tuple[CommercetoolsSandbox, SandboxServer]]:
    app = CommercetoolsSandbox(project_key=PROJECT, seed=0)
    server = SandboxServer(app).start()
    yield app, server
    server.stop()


@pytest.fixture
def ct(_ct_server) -> CT:
    app, server = _ct_server
    app.reset()
    return CT(app, server.url)


@pytest.fixture
def api(ct: CT) -> Iterator[httpx.Client]:
    with ct.api() as client:
        yield client


@pytest.fixture
def reference_examples() -> Callable[[str], Any]:
    """Load an official example document by name (``order`` -> ``order.example.json``), freshly parsed."""
    def load(name: str) -> Any:
        return json.loads((EXAMPLES_DIR / f"{name}.example.json").read_text(encoding="utf-8"))
    return load
