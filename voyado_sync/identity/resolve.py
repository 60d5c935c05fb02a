"""Clustering records into profiles with ordered passes, per-profile limits and shared identifiers.

Shape of the algorithm (all integer arrays; strings only at the edges):

1. Accepted candidates = normalized identifiers with status ok, of a configured type, not removed by a
   manual unmerge entry. Values beyond a per-profile limit *inside one record* are refused up front.
2. Shared: a value carried by records holding more than ``shared_threshold`` distinct values of some
   other strong type (e.g. one phone on 4 commercetools accounts) never links; it stays an attribute.
3. One sparse connected-components pass over records x identifiers gives candidate components. Limits
   are monotone (a subset never has more distinct values than its superset), so a component whose
   union satisfies every limit and no manual unmerge is exactly what the ordered passes would build:
   it is final. Only the components that hit a rule go further.
4. Those run the ordered passes strong -> weak: per pass, profiles linked by that type's values whose
   union respects the rules merge (vectorized); the rest are settled value by value in a
   deterministic order (type priority, then value) by a small union-find, and every refused value is
   a conflict with the rule and both sides recorded.

Outcomes per (record, identifier) edge: merged, preserved_conflict, shared, blocked, invalid."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from voyado_sync.identity.keys import alongside, as_text, index_in, isin_ints, str_array
from voyado_sync.identity.rules import SOURCES as SOURCE_NAMES
from voyado_sync.identity.rules import IdentityRules

MERGED, CONFLICT, SHARED, BLOCKED, INVALID = "merged", "preserved_conflict", "shared", "blocked", "invalid"
OUTCOMES = (MERGED, CONFLICT, SHARED, BLOCKED, INVALID)
_OUTCOME_CODES = [MERGED, CONFLICT, INVALID, BLOCKED, SHARED]
_NO_LIMIT = np.iinfo(np.int64).max  # a type without a limit (np.iinfo is slow in the union-find loop)


@dataclass
class Resolution:
    clusters: pd.DataFrame   # record_key, cluster (int label), component (candidate component label)
    edges: pd.DataFrame      # input identifier rows + outcome, rule
    conflicts: pd.DataFrame  # id_type, value, rule, sides (list of lists of record keys)
    shared: pd.DataFrame     # id_type, value, strong_count
    links: pd.DataFrame      # merged values linking >= 2 records: id_type, value, record_count, first_record,
    #                          first_rec (its row in clusters), sources
    values: pd.Index | None = None  # distinct normalized values; edges["val"] indexes it (-1 = none)


@contextmanager
def gc_paused():
    """Batch passes allocate millions of short-lived containers that cannot form cycles; the cyclic
    collector would otherwise rescan every live object many times over (about a fifth of the run)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def resolve(ids: pd.DataFrame, rules: IdentityRules, record_keys=None,
            forced_shared: pd.DataFrame | None = None, rec_codes: np.ndarray | None = None) -> Resolution:
    with gc_paused():
        return _resolve(ids, rules, record_keys, forced_shared, rec_codes)


def _resolve(ids: pd.DataFrame, rules: IdentityRules, record_keys=None,
             forced_shared: pd.DataFrame | None = None, rec_codes: np.ndarray | None = None) -> Resolution:
    """``ids``: normalized identifier rows (record_key, id_type, value, status, reason); record keys are
    ``<source>:<id>``. ``record_keys``: every record (unique), a superset of the keys in ``ids``,
    including records without any usable identifier. ``forced_shared``: (id_type, value) known to be
    shared from outside this subset (incremental). ``rec_codes``: each row's position in
    ``record_keys`` when the caller already has it; ``clusters`` then follows ``record_keys`` order."""
    ids = ids.reset_index(drop=True)
    # Integer ids for the distinct values, and (unless the caller has them) each row's record: two
    # string hash passes, run side by side.
    if record_keys is not None:
        rkeys = pd.Index(record_keys)
        # One Arrow lookup of each row's record (not a factorize of the rows plus a set difference
        # to find the records without identifiers).
        if rec_codes is not None:
            r_all, (vc_all, vuniq) = np.asarray(rec_codes), pd.factorize(ids["value"])
        else:
            r_all, (vc_all, vuniq) = alongside(lambda: index_in(ids["record_key"], rkeys),
                                               lambda: pd.factorize(ids["value"]))
        if len(r_all) and r_all.min() < 0:
            raise ValueError("identifier rows name records missing from record_keys")
    else:
        (r_all, rkeys), (vc_all, vuniq) = alongside(lambda: pd.factorize(ids["record_key"]),
                                                    lambda: pd.factorize(ids["value"]))
        rkeys = pd.Index(rkeys)
    n_rec = len(rkeys)
    r_all = r_all.astype(np.int64)

    priority = rules.priority
    nt = len(priority)
    # Small-cardinality columns: factorize once, map the few distinct values.
    tc, tu = pd.factorize(ids["id_type"])
    tcode = np.array([rules.type_rank.get(t, -1) for t in tu] + [-1], dtype=np.int64)[tc]
    sc, su = pd.factorize(ids["status"])
    st_map = {"ok": 0, "invalid": 2, "blocked": 3}
    # status code: 0 ok, 2 invalid, 3 blocked (matching _OUTCOME_CODES below)
    status = np.array([st_map.get(x, 2) for x in su] + [2], dtype=np.int8)[sc]
    rc_, ru = pd.factorize(ids["reason"])
    reason_names = [str(x) for x in ru]
    rule_code = rc_.astype(np.int32)  # index into rule_names, -1 = none
    rule_names = list(reason_names)

    def rule_id(name: str) -> int:
        if name not in rule_names:
            rule_names.append(name)
        return rule_names.index(name)

    unknown = (tcode < 0) & (status == 0)
    status[unknown], rule_code[unknown] = 2, rule_id("unconfigured_type")
    hit = _identifier_unmerges(ids, rules, tcode, status)
    if hit is not None:
        status[hit], rule_code[hit] = 3, rule_id("manual_unmerge")
    cand = np.flatnonzero(status == 0)

    # Integer identifier ids (vid) per distinct (type, value).
    combo = vc_all[cand].astype(np.int64) * nt + tcode[cand]
    vid_c, vkeys = pd.factorize(combo)
    vid_type = (vkeys % nt).astype(np.int64)
    # Distinct values stay one Arrow array: only the few that reach a conflict, the shared list or a
    # sort become Python strings (a million of them cost seconds).
    vid_value = as_text(vuniq).take(pa.array(vkeys // nt, type=pa.int64()))
    n_vid = len(vkeys)

    # Distinct (record, vid) edges.
    ekey = r_all[cand].astype(np.int64) * max(n_vid, 1) + vid_c
    ekey_u, e_first = np.unique(ekey, return_index=True)
    er = (ekey_u // max(n_vid, 1)).astype(np.int64)
    ev = (ekey_u % max(n_vid, 1)).astype(np.int64)
    et = vid_type[ev]
    live = np.ones(len(er), dtype=bool)          # still a linking candidate
    refused: dict[int, str] = {}                 # vid -> rule for conflict outcomes (all its edges)
    edge_refused = np.zeros(len(er), dtype=bool)  # per-edge refusal (within-record over limit)
    conflicts: list[dict] = []

    limits = np.full(nt, _NO_LIMIT, dtype=np.int64)
    for t, lim in rules.limits.items():
        limits[rules.type_rank[t]] = lim
    bridge = np.zeros((nt, nt), dtype=bool)
    for t, us in rules.no_bridge.items():
        for u in us:
            bridge[rules.type_rank[t], rules.type_rank[u]] = True

    # 1. A single record over a limit keeps its first values (by value order) and refuses the rest.
    per_rt = np.bincount(er * nt + et, minlength=n_rec * nt) if len(er) else np.zeros(0, np.int64)
    over = np.flatnonzero((per_rt.reshape(-1, nt) > limits).ravel()) if len(per_rt) else np.array([], int)
    for key in over:
        r, t = divmod(int(key), nt)
        sel = np.flatnonzero((er == r) & (et == t))
        order = sel[np.argsort(_texts(vid_value, ev[sel]), kind="stable")]
        extra = order[limits[t]:]
        edge_refused[extra] = True
        live[extra] = False
        conflicts.append({"id_type": priority[t], "value": None, "rule": f"limit:{priority[t]}",
                          "sides": [[rkeys[r]]], "detail": "more values on one record than the limit"})

    # 2. Shared identifiers.
    strong = [rules.type_rank[t] for t in rules.strong_types]
    vid_records = np.bincount(ev[live], minlength=n_vid)
    shared_count = np.zeros(n_vid, dtype=np.int64)
    maybe = vid_records > rules.shared_threshold
    if maybe.any() and strong:
        for st in strong:
            holder = np.full(n_rec, -1, dtype=np.int64)
            s_edges = live & (et == st)
            holder[er[s_edges]] = ev[s_edges]
            sel = live & maybe[ev] & (et != st) & (holder[er] >= 0)
            if not sel.any():
                continue
            pairs = pd.unique(ev[sel] * np.int64(n_vid) + holder[er[sel]])
            cnt = np.bincount(pairs // n_vid, minlength=n_vid)
            shared_count = np.maximum(shared_count, cnt)
    is_shared = shared_count > rules.shared_threshold
    forced = np.zeros(n_vid, dtype=bool)
    if forced_shared is not None and len(forced_shared) and n_vid:
        vi = pd.MultiIndex.from_arrays([np.asarray(priority, dtype=object)[vid_type],
                                        _texts(vid_value, np.arange(n_vid))])
        forced = vi.isin(pd.MultiIndex.from_frame(forced_shared[["id_type", "value"]]))
        is_shared |= forced
    live &= ~is_shared[ev]

    # 3. Candidate components over records: each value joins its records to the first one carrying it
    # (a star per value: half the nodes of the records x values graph, the same components).
    lv = np.flatnonzero(live)
    anchor = np.full(n_vid, n_rec, dtype=np.int64)
    np.minimum.at(anchor, ev[lv], er[lv])
    rec_comp = _components(n_rec, er[lv], anchor[ev[lv]])
    cluster = rec_comp.copy()

    # 4. Components that break a limit or a manual unmerge.
    pairs_cl = _record_unmerge_pairs(rules, rkeys)
    live_vids = np.flatnonzero(anchor < n_rec)
    val_comp = np.full(n_vid, -1, dtype=np.int64)
    val_comp[live_vids] = rec_comp[anchor[live_vids]]
    bad = _component_violations(val_comp, vid_type, live_vids=live_vids, limits=limits, nt=nt,
                                rec_comp=rec_comp, pairs_cl=pairs_cl, bridge=bridge)
    if len(bad):
        in_bad = isin_ints(rec_comp, bad)
        sub_recs = np.flatnonzero(in_bad)
        sub_edges = lv[in_bad[er[lv]]]
        labels, refused_sub, confl = _ordered_passes(
            sub_recs, er[sub_edges], ev[sub_edges], et[sub_edges], vid_value, limits, nt, priority,
            pairs_cl, rkeys, bridge)
        cluster[sub_recs] = labels + rec_comp.max() + 1
        refused.update(refused_sub)
        conflicts.extend(confl)

    # Per input row outcome, as categorical codes (no per-row strings).
    edge_idx_of_cand = np.searchsorted(ekey_u, ekey)
    out_code = status.copy()                       # 0 merged, 1 conflict, 2 invalid, 3 blocked, 4 shared
    c_code = np.zeros(len(cand), dtype=np.int8)
    c_rule = np.full(len(cand), -1, dtype=np.int32)
    sh = is_shared[vid_c]
    c_code[sh], c_rule[sh] = 4, rule_id("shared_threshold")
    er_ref = edge_refused[edge_idx_of_cand]
    if er_ref.any():
        c_code[er_ref] = 1
        c_rule[er_ref] = [rule_id(f"limit:{priority[t]}") for t in tcode[cand][er_ref]]
    if refused:
        ref_vids = np.fromiter(refused.keys(), dtype=np.int64)
        lookup = np.full(n_vid, -1, dtype=np.int64)
        lookup[ref_vids] = [rule_id(r) for r in refused.values()]
        hit = (lookup[vid_c] >= 0) & ~sh & ~er_ref
        c_code[hit] = 1
        c_rule[hit] = lookup[vid_c[hit]]
    out_code[cand] = c_code
    rule_code[cand] = c_rule
    vid_all = np.full(len(ids), -1, dtype=np.int64)
    vid_all[cand] = vid_c
    # rec/vid/val: integer positions (into `clusters`, distinct (type, value), distinct values) that let
    # golden records and decisions work without touching strings again. Not persisted.
    edges = ids.assign(outcome=pd.Categorical.from_codes(out_code, categories=_OUTCOME_CODES),
                       rule=pd.Categorical.from_codes(rule_code, categories=rule_names),
                       rec=r_all, vid=vid_all, val=vc_all)

    # The key column stays in its Arrow form: a round trip through Python objects costs seconds at 1M.
    key_col = rkeys.array if isinstance(rkeys.dtype, pd.StringDtype) else rkeys.to_numpy(dtype=object)
    clusters = pd.DataFrame({"record_key": key_col, "cluster": cluster, "component": rec_comp})
    conflicts_df = pd.DataFrame(conflicts, columns=["id_type", "value", "rule", "sides", "detail"])
    new_shared = is_shared & ~forced
    shared_df = pd.DataFrame({"id_type": [priority[t] for t in vid_type[new_shared]],
                              "value": _texts(vid_value, np.flatnonzero(new_shared)),
                              "strong_count": shared_count[new_shared]})
    links = _links(er, ev, live, refused, vid_type, vid_value, priority, rkeys, n_vid)
    return Resolution(clusters=clusters, edges=edges, conflicts=conflicts_df, shared=shared_df, links=links,
                      values=pd.Index(vuniq))


def _texts(values: pa.Array, positions: np.ndarray) -> np.ndarray:
    """Some of the distinct values as Python strings."""
    return values.take(pa.array(positions, type=pa.int64())).to_numpy(zero_copy_only=False).astype(object)


def _links(er, ev, live, refused, vid_type, vid_value, priority, rkeys: pd.Index, n_vid) -> pd.DataFrame:
    """One row per accepted value that links two or more records, with per-source record counts."""
    ok = live.copy()
    if refused:
        ok &= ~isin_ints(ev, np.fromiter(refused.keys(), dtype=np.int64))
    e_r, e_v = er[ok], ev[ok]
    count = np.bincount(e_v, minlength=n_vid)
    sel = (count >= 2)[e_v]
    e_r, e_v = e_r[sel], e_v[sel]
    if not len(e_v):
        return pd.DataFrame(columns=["id_type", "value", "record_count", "first_record", "first_rec", "sources"])
    first_of = np.full(n_vid, len(rkeys), dtype=np.int64)   # the smallest record carrying each value
    np.minimum.at(first_of, e_v, e_r)
    vids = np.flatnonzero(count >= 2)
    first = first_of[vids]
    sources = list(SOURCE_NAMES)
    used = np.flatnonzero(np.bincount(e_r, minlength=len(rkeys)))
    keys = pd.Series(rkeys[used])
    src_code = np.full(len(rkeys), len(sources), dtype=np.int64)
    for i, name in enumerate(sources):
        src_code[used[keys.str.startswith(name + ":").to_numpy(dtype=bool)]] = i
    ns = len(sources) + 1
    per = np.zeros((len(vids), ns), dtype=np.int64)
    pos_of = np.zeros(n_vid, dtype=np.int64)
    pos_of[vids] = np.arange(len(vids))
    vpos = pos_of[e_v]
    np.add.at(per, (vpos, src_code[e_r]), 1) if len(vids) < 50_000 else _bincount2(per, vpos, src_code[e_r], ns)
    # Few distinct source mixes: build each description once.
    packed = (per[:, :ns] * (np.int64(1) << (np.arange(ns, dtype=np.int64) * 12))).sum(axis=1)
    codes, uniq = pd.factorize(packed)
    first_rows = np.unique(codes, return_index=True)[1]
    names = [*sources, "other"]
    mixes = pa.array([",".join(f"{names[j]}={int(per[i, j])}" for j in range(ns) if per[i, j])
                      for i in first_rows], type=pa.large_string())
    # Text columns are built as Arrow arrays: pandas would convert 300k Python strings one by one.
    return pd.DataFrame({"id_type": str_array(pa.array(priority, type=pa.large_string()).take(vid_type[vids])),
                         "value": str_array(vid_value.take(pa.array(vids, type=pa.int64()))),
                         "record_count": count[vids], "first_record": rkeys[first].array,
                         "first_rec": first, "sources": str_array(mixes.take(codes))})


def _bincount2(per, rows, cols, ncols) -> None:
    per += np.bincount(rows * ncols + cols, minlength=per.shape[0] * ncols).reshape(per.shape)


def _components(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    g = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes)).tocsr()
    return connected_components(g, directed=False)[1].astype(np.int64)


def _identifier_unmerges(ids: pd.DataFrame, rules: IdentityRules, tcode, status) -> np.ndarray | None:
    """Rows removed from linking by an ``unmerge: {id_type, value}`` entry (matched on the normalized
    or the raw value, case-insensitively)."""
    entries = [(u.id_type, u.value) for u in rules.unmerge if u.id_type is not None]
    if not entries:
        return None
    hit = np.zeros(len(ids), dtype=bool)
    for id_type, value in entries:
        want = value.strip().lower()
        pos = np.flatnonzero((tcode == rules.type_rank[id_type]) & (status == 0))
        if not len(pos):
            continue
        low = ids["value"].iloc[pos].astype(str).str.lower().to_numpy()
        raw = (ids["raw_value"].iloc[pos].astype(str).str.strip().str.lower().to_numpy()
               if "raw_value" in ids.columns else low)
        hit[pos[(low == want) | (raw == want)]] = True
    return hit


def _record_unmerge_pairs(rules: IdentityRules, rkeys: np.ndarray) -> np.ndarray:
    """Cannot-link pairs (record code, record code) from `unmerge: records` entries."""
    entries = [u.records for u in rules.unmerge if u.records]
    if not entries:
        return np.zeros((0, 2), dtype=np.int64)
    index = pd.Index(rkeys)
    out = []
    for recs in entries:
        codes = [c for c in index.get_indexer(recs) if c >= 0]
        out += [(a, b) for i, a in enumerate(codes) for b in codes[i + 1:] if a != b]
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _violations(labels_of_rec, er, ev, et, limits, nt, pairs_cl, profile_of_rec=None, guarded=()) -> np.ndarray:
    """Labels (of the records' grouping) whose distinct limited values exceed a limit, that put a
    cannot-link pair together, or that join two profiles each holding a value of a ``guarded`` type."""
    bad: list[np.ndarray] = []
    for u in guarded:
        sel_u = et == u
        if not sel_u.any():
            continue
        prof = profile_of_rec[er[sel_u]]
        pairs = pd.unique(labels_of_rec[er[sel_u]].astype(np.int64) * np.int64(len(labels_of_rec) + 1) + prof)
        grp = pd.Series(pairs // np.int64(len(labels_of_rec) + 1)).value_counts()
        bad.append(grp.index.to_numpy()[grp.to_numpy() > 1])
    limited = limits < _NO_LIMIT
    sel = limited[et]
    if sel.any():
        lab = labels_of_rec[er[sel]]
        uniq = pd.unique(lab.astype(np.int64) * np.int64(ev.max() + 1 if len(ev) else 1) + ev[sel])
        m = np.int64(ev.max() + 1 if len(ev) else 1)
        u_lab, u_vid = uniq // m, uniq % m
        tt = et_of_vid(ev[sel], et[sel], u_vid)
        key = pd.Series(u_lab * np.int64(nt) + tt).value_counts()
        k = key.index.to_numpy()
        bad.append(k[key.to_numpy() > limits[k % nt]] // nt)
    if len(pairs_cl):
        la, lb = labels_of_rec[pairs_cl[:, 0]], labels_of_rec[pairs_cl[:, 1]]
        bad.append(la[la == lb])
    return np.unique(np.concatenate(bad)).astype(np.int64) if bad else np.array([], dtype=np.int64)


def _component_violations(val_comp, vid_type, live_vids, limits, nt, rec_comp, pairs_cl, bridge) -> np.ndarray:
    """Global variant of `_violations` (``val_comp``: each live value's component): every live value
    sits in exactly one component, so counting values per (component, type) needs no de-duplication.
    For no-bridge rules it is conservative (two values of the guarded type plus one of the bridging
    type send the component to the passes)."""
    limited = limits < _NO_LIMIT
    watched = limited | bridge.any(axis=0) | bridge.any(axis=1)
    v = live_vids[watched[vid_type[live_vids]]]
    t = vid_type[v]
    counts = np.bincount(val_comp[v] * np.int64(nt) + t)   # dense: components x types fit easily
    k = np.flatnonzero(counts)
    cnt = counts[k]
    over = k[cnt > limits[k % nt]] // nt
    bad = [over]
    for bt, bu in zip(*np.nonzero(bridge)):
        has_t = k[(k % nt == bt)] // nt
        many_u = k[(k % nt == bu) & (cnt >= 2)] // nt
        bad.append(np.intersect1d(has_t, many_u))
    if len(pairs_cl):
        la, lb = rec_comp[pairs_cl[:, 0]], rec_comp[pairs_cl[:, 1]]
        bad.append(la[la == lb])
    return np.unique(np.concatenate(bad)).astype(np.int64)


def et_of_vid(ev: np.ndarray, et: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    lookup = np.zeros(int(ev.max()) + 1 if len(ev) else 1, dtype=np.int64)
    lookup[ev] = et
    return lookup[wanted]


class _UnionFind:
    def __init__(self, items, values: dict[int, dict[int, set]], cannot: dict[int, set]):
        self.parent = {i: i for i in items}
        self.values = values       # root -> type -> set of vids
        self.members = {i: {i} for i in items}
        self.cannot = cannot       # profile -> set of profiles it must never join

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def check(self, roots: list[int], limits, nt, guarded=()) -> str | None:
        held = [self.values[r] for r in roots]
        for t in range(nt):
            if limits[t] != _NO_LIMIT and len(set().union(*(h.get(t, ()) for h in held))) > limits[t]:
                return f"limit:{t}"
        for u in guarded:
            if sum(1 for r in roots if self.values[r].get(int(u))) > 1:
                return f"no_bridge:{int(u)}"
        if not self.cannot:
            return None
        members = set().union(*(self.members[r] for r in roots))
        for r in roots:
            for m in self.members[r]:
                if self.cannot.get(m, set()) & (members - self.members[r]):
                    return "manual_unmerge"
        return None

    def union(self, roots: list[int]) -> None:
        keep = roots[0]
        for r in roots[1:]:
            self.parent[r] = keep
            for t, vals in self.values.pop(r).items():
                self.values[keep].setdefault(t, set()).update(vals)
            self.members[keep] |= self.members.pop(r)


def _ordered_passes(recs, er, ev, et, vid_value, limits, nt, priority, pairs_cl, rkeys, bridge):
    """Ordered passes over the records of rule-hitting components; returns (labels aligned with
    ``recs``, {vid: rule} of refused values, conflict rows)."""
    local = pd.Index(recs)
    lr = local.get_indexer(er)
    n = len(recs)
    label = np.arange(n, dtype=np.int64)
    refused: dict[int, str] = {}
    conflicts: list[dict] = []
    limited = limits < _NO_LIMIT
    # Cannot-link pairs in local coordinates.
    cl_local = np.zeros((0, 2), dtype=np.int64)
    if len(pairs_cl):
        a, b = local.get_indexer(pairs_cl[:, 0]), local.get_indexer(pairs_cl[:, 1])
        ok = (a >= 0) & (b >= 0)
        cl_local = np.stack([a[ok], b[ok]], axis=1)
    for t in range(nt):
        sel = et == t
        if not sel.any():
            continue
        # Profiles linked by this pass's values form candidate groups.
        vloc, vu = pd.factorize(ev[sel])
        pcomp = _components(n + len(vu), label[lr[sel]], n + vloc)[:n]
        group = pcomp[label]
        guarded = np.flatnonzero(bridge[t])
        bad_rec = isin_ints(group, _violations(group, lr, ev, et, limits, nt, cl_local, label, guarded))
        new_label = group + n                      # clean groups merge wholesale
        if bad_rec.any():
            root_of = _settle_by_value(t, label, bad_rec, lr, ev, et, sel, limited | bridge.any(axis=0), limits,
                                       nt, priority, vid_value, cl_local, recs, rkeys, refused, conflicts, guarded)
            new_label[bad_rec] = [root_of[int(p)] for p in label[bad_rec]]
        label = pd.factorize(new_label)[0].astype(np.int64)
    return label, refused, conflicts


def _settle_by_value(t, label, bad_rec, lr, ev, et, sel, limited, limits, nt, priority, vid_value, cl_local,
                     recs, rkeys, refused, conflicts, guarded) -> dict[int, int]:
    """Union-find over the profiles of rule-hitting groups, one value of type ``t`` at a time."""
    profiles = np.unique(label[bad_rec])
    in_bad_edge = bad_rec[lr]
    pass_edges = np.flatnonzero(sel & in_bad_edge)
    by_vid: dict[int, set[int]] = {}
    for v, p in zip(ev[pass_edges].tolist(), label[lr[pass_edges]].tolist()):
        by_vid.setdefault(v, set()).add(p)
    # Only profiles that a value of this pass could join are ever checked or united: their values
    # are the only ones the union-find needs.
    multi = [v for v, ps in by_vid.items() if len(ps) > 1]   # a value on one profile never joins anything
    joinable = np.fromiter({p for v in multi for p in by_vid[v]}, dtype=np.int64)
    values: dict[int, dict[int, set]] = {int(p): {} for p in profiles}
    lim_edge = np.flatnonzero(in_bad_edge & limited[et])
    lim_edge = lim_edge[isin_ints(label[lr[lim_edge]], joinable)]
    for p, v, tt in zip(label[lr[lim_edge]].tolist(), ev[lim_edge].tolist(), et[lim_edge].tolist()):
        values[p].setdefault(tt, set()).add(v)
    cannot: dict[int, set] = {}
    for a, b in cl_local:
        pa_, pb_ = int(label[a]), int(label[b])
        if pa_ != pb_:
            cannot.setdefault(pa_, set()).add(pb_)
            cannot.setdefault(pb_, set()).add(pa_)
    uf = _UnionFind(profiles.tolist(), values, cannot)
    records_of = key_of = None
    multi_text = dict(zip(multi, _texts(vid_value, np.asarray(multi, dtype=np.int64))))
    for v in sorted(multi, key=multi_text.__getitem__):
        roots = sorted({uf.find(p) for p in by_vid[v]})
        if len(roots) == 1:
            continue
        why = uf.check(roots, limits, nt, guarded)
        if why is None:
            uf.union(roots)
            continue
        if why.startswith(("limit:", "no_bridge:")):
            kind, num = why.split(":")
            why = f"{kind}:{priority[int(num)]}"
        refused[v] = why
        if records_of is None:
            records_of = pd.Series(np.arange(len(label))).groupby(label).indices
            key_of = rkeys[recs].to_numpy(dtype=object)   # local record -> key, once per pass
            sorted_keys: dict[int, list[str]] = {}

            def keys_of(members: set[int]) -> list[str]:
                """Sorted record keys of some profiles (each profile's sorted once: most sides are one)."""
                for m in members:
                    if m not in sorted_keys:
                        sorted_keys[m] = sorted(key_of[records_of[m]].tolist())
                if len(members) == 1:
                    return list(sorted_keys[next(iter(members))])
                return sorted(k for m in members for k in sorted_keys[m])
        if why == "manual_unmerge":
            # An explicit "these records are different people": keep every compatible part together
            # (in record-key order), only the named records go apart.
            def first_key(root: int) -> str:
                return min(key_of[np.concatenate([records_of[m] for m in uf.members[root]])])
            ordered = sorted(roots, key=first_key)
            kept = [ordered[0]]
            for r in ordered[1:]:
                if uf.check([kept[0], r], limits, nt, guarded) is None:
                    uf.union([kept[0], r])
                else:
                    kept.append(r)
            roots = kept
        sides = [keys_of(uf.members[r]) for r in roots]
        conflicts.append({"id_type": priority[t], "value": multi_text[v], "rule": why, "sides": sides,
                          "detail": None})
    return {int(p): uf.find(int(p)) for p in profiles}
