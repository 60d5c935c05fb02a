"""SQL persistence of the identity graph (SQLAlchemy Core; SQLite and PostgreSQL).

Tables hold real identifier values (the contact sync needs them); they are state, not logs.
Saving is compare-and-set on the run sequence: two runs that loaded the same state cannot both
write, the second gets ``StaleIdentityState`` and can simply be retried."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from voyado_sync.identity.golden import LIST_COLUMNS
from voyado_sync.identity.incremental import EDGE_COLUMNS, GRAPH_RECORD_COLUMNS, IdentityGraph, RunResult
from voyado_sync.identity.stable_ids import ALIAS_COLUMNS, PROFILE_COLUMNS
from voyado_sync.state.db import create_tables

metadata = sa.MetaData()
_S = sa.Text

meta_t = sa.Table("identity_meta", metadata, sa.Column("key", sa.String(64), primary_key=True),
                  sa.Column("value", _S))
records_t = sa.Table(
    "identity_records", metadata,
    sa.Column("record_key", sa.String(300), primary_key=True), sa.Column("source", sa.String(32)),
    sa.Column("record_id", sa.String(256)), sa.Column("country", sa.String(8)),
    sa.Column("observed_at", sa.DateTime(timezone=True)), sa.Column("first_name", _S),
    sa.Column("last_name", _S), sa.Column("profile_id", sa.String(40), index=True),
    sa.Column("component", sa.BigInteger, index=True))
edges_t = sa.Table(
    "identity_edges", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("record_key", sa.String(300), index=True), sa.Column("id_type", sa.String(32)),
    sa.Column("raw_value", _S), sa.Column("country", sa.String(8)), sa.Column("value", _S),
    sa.Column("status", sa.String(16)), sa.Column("reason", _S), sa.Column("outcome", sa.String(24)),
    sa.Column("rule", _S), sa.Column("component", sa.BigInteger, index=True),
    sa.Index("ix_identity_edges_type_value", "id_type", "value"))
profiles_t = sa.Table(
    "identity_profiles", metadata, sa.Column("profile_id", sa.String(40), primary_key=True),
    sa.Column("anchor_record", sa.String(300)), sa.Column("born", sa.BigInteger))
aliases_t = sa.Table(
    "identity_aliases", metadata, sa.Column("alias_id", sa.String(40), primary_key=True),
    sa.Column("profile_id", sa.String(40), index=True), sa.Column("reason", _S),
    sa.Column("run_seq", sa.BigInteger))
golden_t = sa.Table(
    "identity_golden", metadata, sa.Column("profile_id", sa.String(40), primary_key=True),
    sa.Column("record_count", sa.Integer), sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("sources", _S), sa.Column("first_name", _S), sa.Column("last_name", _S),
    sa.Column("country", sa.String(8)), sa.Column("email", _S), sa.Column("mobile_phone", _S),
    sa.Column("ct_customer_id", _S), sa.Column("voyado_contact_id", _S), sa.Column("member_number", _S),
    sa.Column("external_id", _S), sa.Column("identifier_count", sa.Integer),
    sa.Column("identifiers", _S))  # JSON {list column: [values]}

GOLDEN_SCALARS = ["profile_id", "record_count", "updated_at", "sources", "first_name", "last_name", "country",
                  "email", "mobile_phone", "ct_customer_id", "voyado_contact_id", "member_number", "external_id",
                  "identifier_count"]
_CHUNK = 5000
_COPY_ROWS = 20_000   # from this many rows on, PostgreSQL gets them by COPY (fewer: batched INSERTs)


class StaleIdentityState(RuntimeError):
    """Another run saved the identity state after this one loaded it; retry the run."""


class IdentityStateStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(self) -> None:
        create_tables(self.engine, metadata)

    # ------------------------------------------------------------------ load
    def load(self) -> IdentityGraph:
        self.create()
        with self.engine.connect() as conn:
            meta = dict(conn.execute(sa.select(meta_t.c.key, meta_t.c.value)).all())
            records = _frame(conn, records_t, GRAPH_RECORD_COLUMNS)
            edges = _frame(conn, edges_t, EDGE_COLUMNS)
            profiles = _frame(conn, profiles_t, PROFILE_COLUMNS)
            aliases = _frame(conn, aliases_t, ALIAS_COLUMNS)
            golden = _frame(conn, golden_t, [*GOLDEN_SCALARS, "identifiers"])
        records, edges, profiles = _typed(records), _typed(edges), _typed(profiles)
        return IdentityGraph(records=records, edges=edges, profiles=profiles, aliases=aliases,
                             golden=_golden_from_sql(golden), run_seq=int(meta.get("run_seq", 0)),
                             rules_fingerprint=meta.get("rules_fingerprint"))

    def profile_for(self, profile_or_alias: str) -> str | None:
        """The live profile id for an id that may have been retired into an alias."""
        with self.engine.connect() as conn:
            hit = conn.execute(sa.select(profiles_t.c.profile_id).where(
                profiles_t.c.profile_id == profile_or_alias)).scalar()
            if hit:
                return hit
            return conn.execute(sa.select(aliases_t.c.profile_id).where(
                aliases_t.c.alias_id == profile_or_alias)).scalar()

    def contacts_of_records(self, record_keys: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """Record key -> (its profile, the Voyado contact identity resolution chose for that profile)."""
        self.create()
        keys = list(dict.fromkeys(record_keys))
        r, g = records_t.c, golden_t.c
        out: dict[str, tuple[str, str | None]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(keys), _CHUNK):
                query = (sa.select(r.record_key, r.profile_id, g.voyado_contact_id)
                         .select_from(records_t.outerjoin(golden_t, g.profile_id == r.profile_id))
                         .where(r.record_key.in_(keys[i:i + _CHUNK])))
                for key, profile, contact in conn.execute(query):
                    if profile:
                        out[key] = (profile, contact or None)
        return out

    def source(self) -> "SqlGraphSource":
        """The stored graph as an incremental run sees it: region questions answered by indexed SQL."""
        self.create()
        return SqlGraphSource(self)

    def summary(self, giant_bound: int) -> dict:
        """Whole-graph figures for metadata and the giant-profile check, without loading the graph."""
        self.create()
        g = golden_t.c
        with self.engine.connect() as conn:
            total, biggest, most = conn.execute(sa.select(
                sa.func.count(), sa.func.max(g.identifier_count), sa.func.max(g.record_count))).one()
            giants = conn.execute(sa.select(g.profile_id).where(g.identifier_count > giant_bound)
                                  .order_by(g.profile_id).limit(20)).scalars().all()
            n_giants = conn.execute(sa.select(sa.func.count()).where(g.identifier_count > giant_bound)).scalar()
            aliases = conn.execute(sa.select(sa.func.count()).select_from(aliases_t)).scalar()
        return {"profiles_total": int(total or 0), "largest_profile_identifiers": int(biggest or 0),
                "largest_profile_records": int(most or 0), "giant_profiles": list(giants),
                "giant_profile_count": int(n_giants or 0), "aliases_total": int(aliases or 0)}

    # ------------------------------------------------------------------ save
    def save(self, result: RunResult, expected_run_seq: int) -> None:
        """Persist a run: everything on a full run, only the recomputed region otherwise."""
        self.create()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7324501)"))
            current = conn.execute(sa.select(meta_t.c.value).where(meta_t.c.key == "run_seq")).scalar()
            if int(current or 0) != expected_run_seq:
                raise StaleIdentityState(
                    f"identity state moved from run {expected_run_seq} to {current} while this run computed")
            if result.mode == "full":
                for t in (records_t, edges_t, profiles_t, golden_t, aliases_t):
                    conn.execute(t.delete())
                aliases = result.graph.aliases
            else:
                keys = list(result.scope_keys)
                _delete_in(conn, records_t, records_t.c.record_key, keys)
                _delete_in(conn, edges_t, edges_t.c.record_key, keys)
                gone = list(set(result.id_profiles["profile_id"]) | set(result.retired))
                _delete_in(conn, profiles_t, profiles_t.c.profile_id, gone)
                _delete_in(conn, golden_t, golden_t.c.profile_id, gone)
                # Older aliases of an id retired now follow it to its survivor.
                for alias_id, survivor in zip(result.aliases["alias_id"], result.aliases["profile_id"]):
                    conn.execute(aliases_t.update().where(aliases_t.c.profile_id == alias_id)
                                 .values(profile_id=survivor))
                aliases = result.aliases
            _insert(conn, records_t, result.records[GRAPH_RECORD_COLUMNS])
            _insert(conn, edges_t, result.edges[EDGE_COLUMNS])
            _insert(conn, profiles_t, result.id_profiles[PROFILE_COLUMNS])
            _insert(conn, aliases_t, aliases[ALIAS_COLUMNS])
            _insert(conn, golden_t, _golden_to_sql(result.profiles))
            for k, v in (("run_seq", str(result.run_seq)), ("rules_fingerprint", result.rules_fingerprint or "")):
                conn.execute(meta_t.delete().where(meta_t.c.key == k))
                conn.execute(meta_t.insert().values(key=k, value=v))


class SqlGraphSource:
    """``IdentityGraph``'s region questions over the stored tables (indexes on record key, component
    and (id_type, value)). Reads are not one snapshot: a run that saved meanwhile makes this run's
    save fail its run-sequence check, and the caller retries on fresh state."""

    def __init__(self, store: IdentityStateStore) -> None:
        self.store = store
        with store.engine.connect() as conn:
            meta = dict(conn.execute(sa.select(meta_t.c.key, meta_t.c.value)).all())
        self.run_seq = int(meta.get("run_seq", 0))
        self.rules_fingerprint = meta.get("rules_fingerprint")

    def _select(self, table: sa.Table, columns: list[str], col, values) -> pd.DataFrame:
        values = [v.item() if isinstance(v, np.generic) else v for v in values if v is not None]
        parts = []
        with self.store.engine.connect() as conn:
            for i in range(0, len(values), _CHUNK):
                parts.extend(conn.execute(sa.select(*[table.c[c] for c in columns])
                                          .where(col.in_(values[i:i + _CHUNK]))).all())
        return _typed(pd.DataFrame(parts, columns=columns))

    def records_with_keys(self, keys) -> pd.DataFrame:
        return self._select(records_t, GRAPH_RECORD_COLUMNS, records_t.c.record_key,
                            pd.unique(np.asarray(keys, dtype=object)))

    def records_in_components(self, comps) -> pd.DataFrame:
        return self._select(records_t, GRAPH_RECORD_COLUMNS, records_t.c.component, np.unique(comps))

    def edges_in_components(self, comps) -> pd.DataFrame:
        return self._select(edges_t, EDGE_COLUMNS, edges_t.c.component, np.unique(comps))

    def components_carrying(self, touched: pd.DataFrame) -> np.ndarray:
        out = []
        with self.store.engine.connect() as conn:
            for id_type, group in touched.groupby("id_type", sort=True):
                values = sorted(set(group["value"]))
                for i in range(0, len(values), _CHUNK):
                    out.extend(conn.execute(sa.select(edges_t.c.component).distinct().where(
                        edges_t.c.id_type == id_type, edges_t.c.value.in_(values[i:i + _CHUNK]))).scalars())
        return np.asarray(out, dtype=np.int64)

    def profiles_with_ids(self, ids) -> pd.DataFrame:
        return self._select(profiles_t, PROFILE_COLUMNS, profiles_t.c.profile_id, list(ids))

    def ids_in_use(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=object)
        found: set[str] = set()
        with self.store.engine.connect() as conn:
            for i in range(0, len(ids), _CHUNK):
                chunk = list(ids[i:i + _CHUNK])
                found.update(conn.execute(sa.select(profiles_t.c.profile_id)
                                          .where(profiles_t.c.profile_id.in_(chunk))).scalars())
                found.update(conn.execute(sa.select(aliases_t.c.alias_id)
                                          .where(aliases_t.c.alias_id.in_(chunk))).scalars())
        return np.array([i in found for i in ids], dtype=bool)

    def whole(self) -> IdentityGraph:
        return self.store.load()


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The column types ``load`` gives, so SQL and in-memory regions look alike."""
    if "observed_at" in df.columns:
        df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    for col in ("component", "born"):
        if col in df.columns:
            df[col] = df[col].astype(np.int64)
    return df


def _frame(conn, table: sa.Table, columns: list[str]) -> pd.DataFrame:
    rows = conn.execute(sa.select(*[table.c[c] for c in columns])).all()
    return pd.DataFrame(rows, columns=columns)


def _delete_in(conn, table: sa.Table, col, values: Iterable) -> None:
    values = list(values)
    for i in range(0, len(values), _CHUNK):
        conn.execute(table.delete().where(col.in_(values[i:i + _CHUNK])))


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _insert(conn, table: sa.Table, df: pd.DataFrame) -> None:
    if not len(df):
        return
    if conn.dialect.name == "postgresql" and len(df) >= _COPY_ROWS:
        _copy(conn, table, df)
        return
    cols = list(df.columns)
    rows = df.astype(object).where(df.notna(), None).to_numpy()
    for i in range(0, len(rows), _CHUNK):
        conn.execute(table.insert(), [{c: _clean(v) for c, v in zip(cols, row)} for row in rows[i:i + _CHUNK]])


def _copy(conn, table: sa.Table, df: pd.DataFrame) -> None:
    """PostgreSQL's COPY (text format) inside the save's transaction: a full save of a million records
    took minutes as batched INSERTs."""
    text = []
    for c in df.columns:
        col = df[c]
        if isinstance(table.c[c].type, sa.Integer):
            col = col.astype("Int64")           # integers held as floats (NaN for none) print as "3", not "3.0"
        t = col.astype(object).astype(str)      # missing values are replaced by COPY's \N below
        for ch, esc in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
            t = t.str.replace(ch, esc, regex=False)
        text.append(pa.array(t.where(col.notna(), "\\N").to_numpy(dtype=object), pa.large_string()))
    lines = pc.binary_join_element_wise(*text, pa.scalar("\t", pa.large_string()))
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in df.columns)}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cur:
        cur.copy_expert(sql, io.StringIO("\n".join(lines.to_pylist()) + "\n"))


def _golden_to_sql(golden: pd.DataFrame) -> pd.DataFrame:
    if not len(golden):
        return pd.DataFrame(columns=[*GOLDEN_SCALARS, "identifiers"])
    out = golden[GOLDEN_SCALARS].copy()
    lists = {col: golden[col].to_numpy(dtype=object) for col in LIST_COLUMNS.values()}
    out["identifiers"] = [json.dumps({col: [] if v[i] is None else [str(x) for x in v[i]]
                                      for col, v in lists.items()}, sort_keys=True) for i in range(len(golden))]
    return out


def _golden_from_sql(df: pd.DataFrame) -> pd.DataFrame:
    if not len(df):
        return pd.DataFrame()
    out = df.drop(columns=["identifiers"]).copy()
    parsed = [json.loads(s) if s else {} for s in df["identifiers"]]
    for col in LIST_COLUMNS.values():
        out[col] = [p.get(col, []) for p in parsed]
    out["updated_at"] = pd.to_datetime(out["updated_at"], utc=True)
    return out
