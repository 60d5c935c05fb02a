"""Fixtures every test area shares: an isolated voyado_sync home, and a private PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("VOYADO_SYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sync_home(tmp_path, monkeypatch) -> Iterator[os.PathLike]:
    """Point every default path (Parquet, SQLite state, POS drop) into a temporary folder."""
    home = tmp_path / "home"
    monkeypatch.setenv("VOYADO_SYNC_HOME", str(home))
    monkeypatch.delenv("VOYADO_SYNC_DATA_DIR", raising=False)
    monkeypatch.delenv("VOYADO_SYNC_STATE_DB", raising=False)
    yield home


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL on the real PostgreSQL (database ``test``) whose search_path is a fresh schema,
    dropped afterwards, so tests (and xdist workers) never see each other's tables."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        from voyado_sync.state import db

        for url in [u for u in db._engines if schema in u]:
            db._engines.pop(url).dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
