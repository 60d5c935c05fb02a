"""The identity graph across runs: a full recompute, and a day's changes applied incrementally.

Resolution is a function of each *candidate component* (records joined by any usable, non-shared
identifier) on its own, plus one global fact per identifier (is it shared?). So a change only needs
the components it can reach:

    R = changed records
      + every record carrying an identifier a changed record had or has (their shared flag may flip)
      + the whole previous candidate component of each of those records.

R is closed: a record outside R linked to R by an untouched identifier was in the same previous
component, so it is in R. Identifiers outside the touched set keep their previous shared flag (their
complete record set may lie partly outside R). Recomputing R with the previous assignment for stable
ids therefore gives exactly what a full recompute gives (tested property)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from voyado_sync.identity.explain import decisions as build_decisions
from voyado_sync.identity.golden import golden_profiles
from voyado_sync.identity.keys import (alongside, as_objects, as_text, index_in, isin, isin_ints, joined, rows,
                                      str_array, text_hash)
from voyado_sync.identity.normalize import normalize_identifiers
from voyado_sync.identity.records import IDENTIFIER_COLUMNS, RECORD_COLUMNS, IdentityInput
from voyado_sync.identity.resolve import SHARED, gc_paused, resolve
from voyado_sync.identity.rules import IdentityRules
from voyado_sync.identity.stable_ids import ALIAS_COLUMNS, PROFILE_COLUMNS, assign_stable_ids, record_hash

EDGE_COLUMNS = [*IDENTIFIER_COLUMNS, "value", "status", "reason", "outcome", "rule", "component"]
GRAPH_RECORD_COLUMNS = [*RECORD_COLUMNS, "profile_id", "component"]
# In-memory graphs only (never stored): each edge's value as text_hash, to find a value's carriers
# without hashing every edge's text; SQL answers the same question from its index.
VALUE_KEY = "value_key"
CONTACT_MAP_COLUMNS = ["profile_id", "voyado_contact_id", "status", "other_contact_ids", "detail"]


# Bumped when what the stored graph holds is computed differently (2: record hashes over Arrow
# buffers): a changed fingerprint makes the next run a full recompute, with stable ids.
GRAPH_FORMAT = 2


def rules_fingerprint(rules: IdentityRules) -> str:
    return hashlib.sha256(f"{GRAPH_FORMAT}:{rules.model_dump_json()}".encode()).hexdigest()[:16]


@dataclass
class IdentityGraph:
    """Everything the next run needs (persisted by voyado_sync.state.identity).

    An incremental run reads the graph only through the ``*_with_*``/``*_in_*`` questions below;
    ``IdentityStateStore.source()`` answers the same questions with indexed SQL, so a day's run reads
    its region of the stored graph, never all of it."""

    records: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GRAPH_RECORD_COLUMNS))
    edges: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EDGE_COLUMNS))
    profiles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROFILE_COLUMNS))
    aliases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ALIAS_COLUMNS))
    golden: pd.DataFrame = field(default_factory=pd.DataFrame)
    run_seq: int = 0
    rules_fingerprint: str | None = None

    def records_with_keys(self, keys) -> pd.DataFrame:
        return rows(self.records, isin(self.records["record_key"], keys))

    def records_in_components(self, comps) -> pd.DataFrame:
        return rows(self.records, isin_ints(self.records["component"].to_numpy(), comps))

    def edges_in_components(self, comps) -> pd.DataFrame:
        return rows(self.edges, isin_ints(self.edges["component"].to_numpy(), comps))

    def components_carrying(self, touched: pd.DataFrame) -> np.ndarray:
        """Components of the records that carry any of ``touched`` (id_type, value)."""
        if not len(touched):
            return np.zeros(0, dtype=np.int64)
        if VALUE_KEY in self.edges.columns:   # candidates by hash, confirmed on the text below
            carrier = np.flatnonzero(isin_ints(self.edges[VALUE_KEY].to_numpy(), text_hash(touched["value"])))
        else:
            carrier = np.flatnonzero(isin(self.edges["value"], touched["value"]))
        if not len(carrier):
            return np.zeros(0, dtype=np.int64)
        # Same value, and of the same type: compared as one "type<US>value" text (no frame merge).
        hit = self.edges[["id_type", "value"]].iloc[carrier]
        same = isin(joined(hit["id_type"], hit["value"]), joined(touched["id_type"], touched["value"]))
        return self.edges["component"].to_numpy(dtype=np.int64)[carrier[same]]

    def profiles_with_ids(self, ids) -> pd.DataFrame:
        return self.profiles[isin(self.profiles["profile_id"], ids)]

    def ids_in_use(self, ids) -> np.ndarray:
        """Which of ``ids`` were ever issued (live profiles and aliases): a new id must differ."""
        return isin(ids, self.profiles["profile_id"]) | isin(ids, self.aliases["alias_id"])

    def whole(self) -> "IdentityGraph":
        return self


@dataclass
class RunResult:
    profiles: pd.DataFrame      # golden rows of the profiles this run touched
    decisions: pd.DataFrame
    aliases: pd.DataFrame       # aliases created by this run
    contact_map: pd.DataFrame   # for the touched profiles
    edges: pd.DataFrame         # edges of the touched records, with outcomes
    retired: list[str]          # profile ids that stopped existing (aliased or all records removed)
    scope_keys: pd.Index        # records recomputed or removed by this run
    mode: str                   # "full" | "incremental"
    records: pd.DataFrame       # GRAPH_RECORD_COLUMNS of the recomputed records
    id_profiles: pd.DataFrame   # PROFILE_COLUMNS of the live profiles this run recomputed
    run_seq: int
    rules_fingerprint: str
    _graph: "IdentityGraph | Callable[[], IdentityGraph]" = field(repr=False)

    @property
    def graph(self) -> IdentityGraph:
        """The whole graph after this run. An incremental run splices it together only when asked:
        saving to SQL needs just the recomputed region above."""
        if callable(self._graph):
            self._graph = self._graph()
        return self._graph


def full_run(inp: IdentityInput, rules: IdentityRules, previous: IdentityGraph | None = None) -> RunResult:
    """Recompute everything from ``inp`` (the complete set of records); ids stay stable against
    ``previous``. Records in ``previous`` but not in ``inp`` are treated as removed."""
    previous = previous or IdentityGraph()
    ids = inp.identifiers[IDENTIFIER_COLUMNS]

    def records_and_rows() -> tuple[pd.DataFrame, np.ndarray]:
        recs = _unique_records(inp.records[RECORD_COLUMNS])
        return recs, index_in(ids["record_key"], recs["record_key"])

    with gc_paused():
        # Each row's record is looked up while the values are normalized (both mostly GIL-free Arrow).
        (recs, erec), edges = alongside(records_and_rows, lambda: normalize_identifiers(ids, rules))
        return _recompute(previous, recs, edges, rules, forced_shared=None, mode="full", prev_rows=previous.records,
                          prev_edges=previous.edges, removed=pd.Index([]), erec=erec)


def apply_changes(graph: IdentityGraph, changes: IdentityInput, rules: IdentityRules,
                  removed: list[str] | None = None) -> RunResult:
    """Upsert the changed records (each with its complete identifier set) and drop ``removed``
    record keys, recomputing only the components they can reach. ``graph`` is an ``IdentityGraph``
    or anything answering its region questions (the SQL state's ``source()``). Rules that changed
    since the graph was built force a full recompute (with stable ids)."""
    if graph.rules_fingerprint not in (None, rules_fingerprint(rules)):
        whole = graph.whole()
        return full_run(graph_with_changes(whole, changes, removed), rules, previous=whole)
    with gc_paused():
        return _apply_changes(graph, changes, rules, removed)


def _apply_changes(graph, changes: IdentityInput, rules: IdentityRules, removed: list[str] | None) -> RunResult:
    new_recs = changes.records[RECORD_COLUMNS]
    removed_keys = np.asarray(removed or [], dtype=object)
    # Reads of the stored graph overlap with work that does not need them (the reads are Arrow
    # kernels or SQL round trips, both outside the GIL).
    hit_rows, all_new_edges = alongside(
        lambda: graph.records_with_keys(np.concatenate([as_objects(new_recs["record_key"]), removed_keys])),
        lambda: normalize_identifiers(changes.identifiers[IDENTIFIER_COLUMNS], rules))
    unit = hit_rows["observed_at"].dtype
    if isinstance(unit, pd.DatetimeTZDtype) and new_recs["observed_at"].dtype != unit:
        # The stored records' time unit when that loses nothing: otherwise splicing the whole graph
        # re-casts it to the finer unit.
        ts = pd.to_datetime(new_recs["observed_at"], utc=True)
        coarse = ts.astype(unit)
        if (coarse.isna() == ts.isna()).all() and (coarse[ts.notna()] == ts[ts.notna()]).all():
            new_recs = new_recs.assign(observed_at=coarse)
    # A replayed old partition never overwrites a newer version of a record.
    seen = pd.to_datetime(hit_rows.set_index("record_key")["observed_at"].reindex(
        new_recs["record_key"].to_numpy()), utc=True).to_numpy()
    incoming = pd.to_datetime(new_recs["observed_at"], utc=True).to_numpy()
    stale = pd.notna(seen) & pd.notna(incoming) & (incoming < seen)
    new_recs = new_recs[~stale]
    upsert = new_recs["record_key"].to_numpy(dtype=object)
    changed = pd.Index(np.concatenate([upsert, removed_keys])).unique()

    new_edges = rows(all_new_edges, isin(all_new_edges["record_key"], upsert))
    changed_comps = hit_rows.loc[isin(hit_rows["record_key"], changed), "component"].unique()
    near_edges = graph.edges_in_components(changed_comps)
    old_edges = near_edges[isin(near_edges["record_key"], changed)]
    # Identifiers a changed record had or has; every record carrying one joins the recomputed region.
    touched = pd.concat([old_edges.loc[(old_edges["status"] == "ok").to_numpy(), ["id_type", "value"]],
                         new_edges.loc[(new_edges["status"] == "ok").to_numpy(), ["id_type", "value"]]]
                        ).drop_duplicates()
    comps = np.union1d(np.asarray(changed_comps, dtype=np.int64), graph.components_carrying(touched))
    # The changed records' components' edges were read already: only the components they reach are new.
    reached = np.setdiff1d(comps, np.asarray(changed_comps, dtype=np.int64))
    region_recs, reached_edges = alongside(lambda: graph.records_in_components(comps),
                                           lambda: graph.edges_in_components(reached))
    region_edges = pd.concat([near_edges, reached_edges], ignore_index=True)
    stay_r = ~isin(region_recs["record_key"], changed)
    stay_e = ~isin(region_edges["record_key"], changed)
    sub_recs = pd.concat([region_recs.loc[stay_r, RECORD_COLUMNS], new_recs], ignore_index=True)
    sub_edges = pd.concat([region_edges.loc[stay_e, IDENTIFIER_COLUMNS + ["value", "status", "reason"]], new_edges],
                          ignore_index=True)
    # Untouched identifiers keep their previous shared flag (their carriers may lie outside R).
    prev_shared = region_edges.loc[stay_e & (region_edges["outcome"] == SHARED).to_numpy(),
                                   ["id_type", "value"]].drop_duplicates()
    if len(prev_shared) and len(touched):
        prev_shared = prev_shared.merge(touched, how="left", indicator=True)
        prev_shared = prev_shared[prev_shared["_merge"] == "left_only"][["id_type", "value"]]
    return _recompute(graph, sub_recs, sub_edges, rules, forced_shared=prev_shared, mode="incremental",
                      prev_rows=region_recs, prev_edges=region_edges, removed=changed.difference(pd.Index(upsert)))


def graph_with_changes(graph: IdentityGraph, changes: IdentityInput, removed: list[str] | None) -> IdentityInput:
    gone = pd.Index(list(removed or [])).append(pd.Index(changes.records["record_key"]))
    recs = pd.concat([graph.records.loc[~isin(graph.records["record_key"], gone), RECORD_COLUMNS],
                      changes.records[RECORD_COLUMNS]], ignore_index=True)
    ids = pd.concat([graph.edges.loc[~isin(graph.edges["record_key"], gone), IDENTIFIER_COLUMNS],
                     changes.identifiers[IDENTIFIER_COLUMNS]], ignore_index=True)
    return IdentityInput(recs, ids, changes.rejects)


def _recompute(graph: IdentityGraph, recs: pd.DataFrame, edges: pd.DataFrame, rules: IdentityRules,
               forced_shared, mode: str, prev_rows: pd.DataFrame, prev_edges: pd.DataFrame,
               removed: pd.Index, erec: np.ndarray | None = None) -> RunResult:
    """``erec``: each edge row's position in ``recs`` when the caller looked it up already (then
    ``recs`` must be unique by record key)."""
    run_seq = graph.run_seq + 1
    # Record positions are the currency from here on: every identifier row learns its record's row
    # once (an Arrow hash lookup), and clusters, ids, golden records and decisions follow recs order.
    if erec is None:
        recs = _unique_records(recs)
        erec = index_in(edges["record_key"], recs["record_key"])
    keys = recs["record_key"]
    inside = erec >= 0
    if not inside.all():
        edges, erec = edges[inside], erec[inside]
    edges = edges.reset_index(drop=True)
    res = resolve(edges, rules, record_keys=keys, forced_shared=forced_shared, rec_codes=erec)
    clusters = res.clusters
    h = record_hash(keys)   # once: the anchors, survivorship and component labels all use it
    # Component label = smallest record hash in it: global, so partial recomputes can be spliced in.
    comp = clusters["component"].to_numpy()
    comp_min = np.full(comp.max() + 1 if len(comp) else 0, np.iinfo(np.int64).max, dtype=np.int64)
    _group_min(comp_min, comp, h)
    comp_label = comp_min[comp]

    previous = prev_rows[["record_key", "profile_id"]]
    involved = previous["profile_id"].unique()
    prev_profiles = graph.profiles_with_ids(involved)
    ids = assign_stable_ids(clusters[["record_key", "cluster"]], recs["source"], previous, prev_profiles,
                            graph.ids_in_use, rules, run_seq, record_hashes=h)
    new_records = recs.assign(profile_id=ids.assignment["profile_id"].array, component=comp_label)
    # One text hash per distinct value: golden records order values by it, and the in-memory graph
    # finds the carriers of a value by it (an integer scan instead of hashing every edge's text).
    vh = text_hash(res.values) if res.values is not None else None

    def golden_rows() -> pd.DataFrame:
        return golden_profiles(ids.assignment, recs, res.edges, rules, record_hashes=h, values=res.values,
                               value_hashes=vh)

    def decision_log() -> pd.DataFrame:
        return build_decisions(res, ids, run_seq, prev_edges=prev_edges if len(prev_edges) else None)

    # A region's golden records and decision log are built side by side (they only read the
    # resolution); a full run builds them one after the other (the log first: that order has the
    # lower peak), as both at once would raise its peak memory past 2 GB at a million records.
    if mode == "incremental":
        golden, decisions = alongside(golden_rows, decision_log)
    else:
        decisions = decision_log()
        golden = golden_rows()
    contact_map = build_contact_map(golden, res, _contact_conflict_profiles(res, ids.assignment))

    # Previous ids that no longer name a profile: aliased now, or every record removed.
    gone_ids = as_objects(involved)[~isin(involved, ids.profiles["profile_id"])].tolist()
    new_edges = res.edges.assign(component=comp_label[res.edges["rec"].to_numpy()])[EDGE_COLUMNS]
    fingerprint = rules_fingerprint(rules)
    if mode == "full":
        # text_hash of each edge's value from the distinct values' hashes (a missing value hashes as "").
        keys = (np.append(vh, text_hash([""]))[res.edges["val"].to_numpy()] if vh is not None
                else text_hash(new_edges["value"]))
        whole = IdentityGraph(records=new_records, edges=new_edges.assign(**{VALUE_KEY: keys}),
                              profiles=ids.profiles, aliases=_flatten_aliases(graph.aliases, ids.aliases),
                              golden=golden, run_seq=run_seq, rules_fingerprint=fingerprint)
        scope = pd.Index(recs["record_key"])
    else:
        scope = pd.Index(str_array(pc.unique(pa.concat_arrays(
            [as_text(prev_rows["record_key"]), as_text(recs["record_key"]), as_text(removed)]))))
        whole = lambda: _splice(graph.whole(), result)  # noqa: E731
    result = RunResult(profiles=golden, decisions=decisions, aliases=ids.aliases, contact_map=contact_map,
                       edges=new_edges, retired=sorted(gone_ids), scope_keys=scope, mode=mode,
                       records=new_records, id_profiles=ids.profiles, run_seq=run_seq,
                       rules_fingerprint=fingerprint, _graph=whole)
    return result


def _splice(old: IdentityGraph, r: RunResult) -> IdentityGraph:
    """The previous whole graph with the run's region replaced."""
    replaced = np.concatenate([as_objects(r.id_profiles["profile_id"]), np.asarray(r.retired, dtype=object)])
    records = pd.concat([rows(old.records, ~isin(old.records["record_key"], r.scope_keys)), r.records],
                        ignore_index=True)
    new_edges = r.edges
    if VALUE_KEY in old.edges.columns:   # a stored graph has none (then neither has the result)
        new_edges = new_edges.assign(**{VALUE_KEY: text_hash(new_edges["value"])})
    edges = pd.concat([rows(old.edges, ~isin(old.edges["record_key"], r.scope_keys)), new_edges], ignore_index=True)
    profiles = pd.concat([rows(old.profiles, ~isin(old.profiles["profile_id"], replaced)), r.id_profiles],
                         ignore_index=True)
    golden = r.profiles
    if len(old.golden):
        golden = pd.concat([rows(old.golden, ~isin(old.golden["profile_id"], replaced)), r.profiles],
                           ignore_index=True)
    return IdentityGraph(records=records, edges=edges, profiles=profiles,
                         aliases=_flatten_aliases(old.aliases, r.aliases), golden=golden, run_seq=r.run_seq,
                         rules_fingerprint=r.rules_fingerprint)


def _unique_records(recs: pd.DataFrame) -> pd.DataFrame:
    """One row per record key (the last one given wins), positions 0..n-1."""
    return recs.drop_duplicates("record_key", keep="last").reset_index(drop=True)


def _group_min(acc: np.ndarray, groups: np.ndarray, values: np.ndarray) -> None:
    if not len(groups):
        return
    o = np.lexsort((values, groups))
    g = groups[o]
    first = np.concatenate([[True], g[1:] != g[:-1]])
    acc[g[first]] = values[o][first]


def _contact_conflict_profiles(res, assignment: pd.DataFrame) -> pd.Series:
    """Record key -> profile id for the few records named in duplicate-contact conflicts."""
    c = res.conflicts
    dup = c[c["rule"] == "limit:voyado_contact_id"] if len(c) else c
    firsts = sorted({side[0] for sides in dup["sides"] for side in sides}) if len(dup) else []
    if not firsts:
        return pd.Series(dtype=object)
    pos = index_in(np.asarray(firsts, dtype=object), assignment["record_key"])
    pids = assignment["profile_id"].to_numpy(dtype=object)
    return pd.Series([pids[p] if p >= 0 else None for p in pos], index=firsts, dtype=object)


def _flatten_aliases(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Keep every alias pointing at a live id: an alias of a now-retired id follows it to its survivor."""
    if not len(new):
        return old.reset_index(drop=True)
    target = dict(zip(new["alias_id"], new["profile_id"]))
    old = old.copy()
    old["profile_id"] = old["profile_id"].map(lambda p: target.get(p, p))
    return pd.concat([old, new], ignore_index=True)


def build_contact_map(golden: pd.DataFrame, res, profile_of: pd.Series) -> pd.DataFrame:
    """Profile -> Voyado contact. An existing contact wins; several contacts for one person (one
    profile holding two, or two contacts refused by the one-contact limit) are reported as a
    conflict and never deleted. Only the conflicting profiles are handled one by one."""
    n = len(golden)
    if not n:
        return pd.DataFrame(columns=CONTACT_MAP_COLUMNS)
    lists = golden["voyado_contact_ids"]
    arr = getattr(lists.array, "_pa_array", None)
    counts = (pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False) if arr is not None
              else np.array([0 if v is None else len(v) for v in lists], dtype=np.int64))
    status = np.where(counts == 0, "create", np.where(counts == 1, "existing", "conflict")).astype(object)
    chosen = golden["voyado_contact_id"].to_numpy(dtype=object)
    others = np.empty(n, dtype=object)
    others[:] = [[] for _ in range(n)]
    detail = np.where(counts > 1, "profile holds several Voyado contacts", None).astype(object)
    for i in np.flatnonzero(counts > 1):
        others[i] = sorted(str(v) for v in lists.iloc[i] if v != chosen[i])
    dup = res.conflicts[res.conflicts["rule"] == "limit:voyado_contact_id"] if len(res.conflicts) else []
    if len(dup):
        pids = golden["profile_id"]
        side_pids = [[profile_of.get(side[0]) for side in sides] for sides in dup["sides"]]
        involved = sorted({p for ps in side_pids for p in ps if p is not None})
        where = dict(zip(involved, index_in(np.asarray(involved, dtype=object), pids)))
        for c_type, ps in zip(dup["id_type"], side_pids):
            rows_ = [where[p] for p in ps if p is not None and where[p] >= 0]
            for i in rows_:
                other = sorted({chosen[j] for j in rows_ if j != i and isinstance(chosen[j], str)})
                if other:
                    status[i] = "conflict"
                    others[i] = sorted(set(others[i]) | set(other))
                    detail[i] = f"possible duplicate Voyado contact (linked by {c_type}); kept apart, not deleted"
    return pd.DataFrame({"profile_id": golden["profile_id"].to_numpy(dtype=object), "voyado_contact_id": chosen,
                         "status": status, "other_contact_ids": others, "detail": detail})
