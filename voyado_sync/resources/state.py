"""Resources for where state lives: the SQL state database and the Parquet partition store."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from voyado_sync.state.db import get_engine
from voyado_sync.storage import PartitionStore


class StateDatabase(dg.ConfigurableResource):
    """Ledger, dead letters, identity graph: PostgreSQL in production, SQLite for the embedded default."""

    url: str

    def engine(self) -> sa.Engine:
        return get_engine(self.url)


class PartitionStoreResource(dg.ConfigurableResource):
    """Parquet per partition under ``base_dir`` (a local folder by default)."""

    base_dir: str

    def store(self) -> PartitionStore:
        return PartitionStore(self.base_dir)
