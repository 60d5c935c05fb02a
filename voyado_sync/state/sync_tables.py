"""The sync engine's tables: the push ledger, the dead letters and the per-API-key rate budget.

What they mean and how they are written lives in `voyado_sync.sync` (``ledger``, ``dead_letters``,
``rate_budget``); the tables share one MetaData here so `ensure_schema` creates all three together,
whichever of those modules is used first."""

from __future__ import annotations

import sqlalchemy as sa

from voyado_sync.state.db import create_tables

metadata = sa.MetaData()

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

ledger_t = sa.Table(
    "sync_ledger", metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("latency_ms", sa.Float),
    sa.Column("correlation_id", sa.String(128)),
    sa.Column("partition", sa.String(64)),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("batch_key", sa.String(64)),  # the Idempotency-Key / bulk request the row travelled in
    sa.Column("redacted_payload", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_sync_ledger_endpoint_key", "endpoint", "key", "id"),
    sa.Index("ix_sync_ledger_partition", "partition", "endpoint"),
    sa.Index("ix_sync_ledger_run", "run_id"),
)

dead_letters_t = sa.Table(
    "sync_dead_letters", metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("partition", sa.String(64)),
    sa.Column("source", sa.String(256)),  # payload dataset, e.g. "voyado/receipts_payload"
    sa.Column("payload_hash", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON),  # only when it holds nothing sensitive (see voyado_sync.sync.dead_letters)
    sa.Column("redacted_payload", sa.JSON),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(24), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("error", sa.Text),  # scrubbed error body / validation messages
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("replayed_at", sa.DateTime(timezone=True)),
    sa.Column("resolution", sa.Text),
    sa.UniqueConstraint("endpoint", "key", name="uq_sync_dead_letters_endpoint_key"),
    sa.Index("ix_sync_dead_letters_status", "status", "endpoint"),
)

rate_budget_t = sa.Table(
    "sync_rate_budget", metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("stamp", sa.Float, nullable=False),  # epoch seconds of the last refill
    sa.Column("rate", sa.Float, nullable=False),
    sa.Column("burst", sa.Float, nullable=False),
)


def ensure_schema(engine: sa.Engine) -> None:
    """Create the sync tables once per engine and process."""
    create_tables(engine, metadata)
