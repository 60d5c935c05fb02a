"""Which Voyado contact this sync created or located for a profile, as Voyado answered it (the id in a
create's response, or the one a lookup by key found). Identity resolution learns such a contact only when
it is read back through the contacts feed, a day or so later; receipts of the same run need it now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

import sqlalchemy as sa
from voyado_sync.state.db import create_tables, lookup, upsert

metadata = sa.MetaData()

links_t = sa.Table(
    "voyado_contact_links", metadata,
    sa.Column("profile_id", sa.String(40), primary_key=True),
    sa.Column("contact_id", sa.String(64), nullable=False),
    sa.Column("via", sa.String(24), nullable=False),  # created | located
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


def record(engine: sa.Engine, links: Mapping[str, tuple[str, str]]) -> None:
    """``links``: profile id -> (contact id, via). The latest answer wins."""
    if not links:
        return
    create_tables(engine, metadata)
    stamp = datetime.now(timezone.utc)
    rows = [{"profile_id": p, "contact_id": c, "via": via, "updated_at": stamp} for p, (c, via) in links.items()]
    with engine.begin() as conn:
        insert = upsert(conn, links_t)
        conn.execute(insert.on_conflict_do_update(
            index_elements=[links_t.c.profile_id],
            set_={"contact_id": insert.excluded.contact_id, "via": insert.excluded.via,
                  "updated_at": insert.excluded.updated_at}), rows)


def contacts_of(engine: sa.Engine, profile_ids: Iterable[str]) -> dict[str, str]:
    return lookup(engine, links_t.c.profile_id, links_t.c.contact_id, profile_ids)
