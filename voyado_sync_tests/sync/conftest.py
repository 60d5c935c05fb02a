"""Sync-engine fixtures: a real Engage sandbox over loopback HTTP and the real PostgreSQL state DB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from voyado_sync.state.db import get_engine
from voyado_sync_tests.sync.support import Engage, engage_sandbox


@pytest.fixture
def engage() -> Iterator[Engage]:
    with engage_sandbox() as box:
        yield box


@pytest.fixture
def state(pg_url) -> sa.Engine:
    return get_engine(pg_url)
