"""The revision of each receipt Voyado holds (`voyado_sync.mapping.corrections`): revision 1 is the
receipt under its own id; each correction of a held receipt credits the live revision and sends the next."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

import sqlalchemy as sa
from voyado_sync.state.db import create_tables, lookup, upsert

metadata = sa.MetaData()

revisions_t = sa.Table(
    "receipt_revisions", metadata,
    sa.Column("base_id", sa.String(256), primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


def live(engine: sa.Engine, base_ids: Iterable[str]) -> dict[str, int]:
    """The live revision of each receipt ever corrected (absent: revision 1)."""
    return lookup(engine, revisions_t.c.base_id, revisions_t.c.revision, base_ids)


def advance(engine: sa.Engine, revisions: Mapping[str, int]) -> None:
    """Record new live revisions (never lowers one: a concurrent correction may have gone further)."""
    if not revisions:
        return
    create_tables(engine, metadata)
    stamp = datetime.now(timezone.utc)
    rows = [{"base_id": b, "revision": n, "updated_at": stamp} for b, n in revisions.items()]
    with engine.begin() as conn:
        insert = upsert(conn, revisions_t)
        conn.execute(insert.on_conflict_do_update(
            index_elements=[revisions_t.c.base_id],
            set_={"revision": sa.func.max(revisions_t.c.revision, insert.excluded.revision)
                  if conn.dialect.name == "sqlite" else sa.func.greatest(revisions_t.c.revision,
                                                                          insert.excluded.revision),
                  "updated_at": insert.excluded.updated_at}), rows)
