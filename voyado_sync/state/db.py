"""SQL engine for transactional cross-run state, and the one way its tables are created.

PostgreSQL in production and tests, SQLite for the embedded default. SQLAlchemy Core only. Each kind of
state declares its tables on its own MetaData beside this module (`sync_tables`: ledger, dead letters,
rate budget; `identity`: the identity graph) and creates them with `create_tables`."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from voyado_sync import jsonutil

# JSON columns (ledger and dead-letter payloads) hold receipt amounts as Decimal: store them as exact
# JSON numbers and read them back as Decimal, never through a float.
_JSON = {"json_serializer": jsonutil.dumps, "json_deserializer": jsonutil.loads}

_engines: dict[str, sa.Engine] = {}
_lock = threading.Lock()
_created: set[tuple[str, int]] = set()  # (engine, MetaData) pairs whose tables exist
_created_lock = threading.Lock()


def normalize_url(url: str) -> str:
    # SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3; we ship psycopg2 (see dagster P2).
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def get_engine(url: str) -> sa.Engine:
    """One pooled engine per URL per process."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                engine = sa.create_engine(url, connect_args={"timeout": 30}, **_JSON)

                @sa.event.listens_for(engine, "connect")
                def _wal(dbapi_conn, _record):  # concurrent runs share the file: WAL avoids lock errors
                    dbapi_conn.execute("PRAGMA journal_mode=WAL")
                    dbapi_conn.execute("PRAGMA synchronous=NORMAL")
            else:
                engine = sa.create_engine(url, pool_pre_ping=True, **_JSON)
            _engines[url] = engine
        return engine


def create_tables(engine: sa.Engine, metadata: sa.MetaData) -> None:
    """Create ``metadata``'s missing tables, once per engine and process: callers may ask before every use."""
    token = (f"{id(engine)}:{engine.url.render_as_string(hide_password=True)}", id(metadata))
    with _created_lock:
        if token in _created:
            return
        try:
            metadata.create_all(engine, checkfirst=True)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
            # Another process created them between our check and our CREATE: look again.
            metadata.create_all(engine, checkfirst=True)
        _created.add(token)


_IN_CHUNK = 900  # stays under SQLite's bound-parameter limit


def lookup(engine: sa.Engine, key: sa.Column, value: sa.Column, keys) -> dict:
    """``{key: value}`` for the rows of ``key``'s table whose key is in ``keys``, in chunks."""
    create_tables(engine, key.table.metadata)
    wanted = list(dict.fromkeys(keys))
    out: dict = {}
    with engine.connect() as conn:
        for i in range(0, len(wanted), _IN_CHUNK):
            out.update(conn.execute(sa.select(key, value).where(key.in_(wanted[i:i + _IN_CHUNK]))).all())
    return out


def upsert(conn: sa.Connection, table: sa.Table):
    """The dialect's ``INSERT ... ON CONFLICT`` for ``table`` (PostgreSQL or SQLite)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
