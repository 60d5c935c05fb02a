"""Stable profile ids across runs, from the previous assignment.

* A previous id goes to the new cluster holding its anchor record (the record that founded it); if
  the anchor is gone, to the cluster holding most of its records (ties: smallest record hash).
* Several previous ids landing in one cluster: the oldest (born first, then smallest id) survives;
  the others become aliases of it.
* A cluster that inherits no id gets a new one derived from its anchor record (best source, then
  smallest record hash), re-salted on a clash with any id ever issued. Everything is deterministic:
  the same clusters and the same previous state give the same ids, whatever the input order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from voyado_sync.identity.keys import as_arrow, as_objects, first_per_group, index_in, str_array, text_hash
from voyado_sync.identity.rules import IdentityRules

PROFILE_COLUMNS = ["profile_id", "anchor_record", "born"]
ALIAS_COLUMNS = ["alias_id", "profile_id", "reason", "run_seq"]
CHANGE_COLUMNS = ["profile_id", "change", "from_ids", "detail"]


@dataclass
class IdAssignment:
    assignment: pd.DataFrame  # record_key, profile_id
    profiles: pd.DataFrame    # PROFILE_COLUMNS for every cluster given
    aliases: pd.DataFrame     # ALIAS_COLUMNS created now
    changes: pd.DataFrame     # CHANGE_COLUMNS: new / merged / split / anchor_moved
    retired: list[str]        # previous ids that no longer name a profile (now aliases)


def record_hash(keys) -> np.ndarray:
    """Order-independent 64-bit hash of record keys (signed, so it sorts with int64 kernels)."""
    return text_hash(keys)


def assign_stable_ids(clusters: pd.DataFrame, sources: pd.Series, previous: pd.DataFrame,
                      prev_profiles: pd.DataFrame, in_use: Callable[[np.ndarray], np.ndarray], rules: IdentityRules,
                      run_seq: int, record_hashes: np.ndarray | None = None) -> IdAssignment:
    """``clusters``: record_key, cluster. ``sources``: source per record (aligned with clusters).
    ``previous``: record_key, profile_id of the last run (for these records). ``prev_profiles``:
    PROFILE_COLUMNS of the previous ids involved. ``in_use``: which of some ids were ever issued
    (live or alias). ``record_hashes``: ``record_hash`` of the keys, when
    the caller has it already. The assignment follows ``clusters`` row order.

    Everything per record is an integer array; strings are touched only for claimed ids and anchors."""
    keys = clusters["record_key"]
    n = len(keys)
    h = record_hash(keys) if record_hashes is None else np.asarray(record_hashes)
    sc, su = pd.factorize(pd.Series(np.asarray(sources, dtype=object)) if not isinstance(sources, pd.Series)
                          else sources)
    srank = np.array([rules.source_rank.get(x, 99) for x in su] + [99], dtype=np.int64)[sc]
    # Dense cluster codes in ascending label order (the order new ids are handed out in).
    ccode, clabels = pd.factorize(clusters["cluster"].to_numpy(dtype=np.int64), sort=True)
    k = len(clabels)
    # Best record of each cluster (source rank, then smallest hash): the anchor a new id derives from.
    best_pos = first_per_group(ccode, k, (srank, h))
    key_arrow = as_arrow(keys)

    def key_at(pos: np.ndarray) -> np.ndarray:
        if key_arrow is None:
            return as_objects(keys)[pos]
        return key_arrow.take(pa.array(pos, type=pa.int64())).to_numpy(zero_copy_only=False)

    prev = np.full(n, None, dtype=object)
    if len(previous):
        at = index_in(previous["record_key"], keys)
        hit = np.flatnonzero(at >= 0)
        first = np.full(n, len(previous), dtype=np.int64)   # the first row of a duplicated key wins
        np.minimum.at(first, at[hit], hit)
        known = first < len(previous)
        prev[known] = previous["profile_id"].to_numpy(dtype=object)[first[known]]
    has_prev = pd.notna(prev)

    meta = prev_profiles.drop_duplicates("profile_id").set_index("profile_id")
    keeper_of: dict[int, str] = {}    # cluster code -> surviving previous id
    anchor_of: dict[int, str] = {}
    aliases: list[tuple] = []
    changes: list[tuple] = []
    retired: list[str] = []
    split_map: dict[int, list] = {}
    if has_prev.any():
        # Claims in integer space: previous ids and clusters as codes, one row per (id, cluster).
        cp = np.flatnonzero(has_prev)
        pcode, puniq = pd.factorize(prev[cp])
        puniq = np.asarray(puniq, dtype=object)
        n_p = len(puniq)
        pair, inv = np.unique(pcode.astype(np.int64) * k + ccode[cp], return_inverse=True)
        g_prev, g_cl = pair // k, pair % k
        n_rec = np.bincount(inv)
        h_min = np.full(len(pair), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(h_min, inv, h[cp])
        p_anchor = meta["anchor_record"].reindex(puniq).to_numpy(dtype=object)
        apos = index_in(np.where(pd.notna(p_anchor), p_anchor, None), keys)
        here = np.where(apos >= 0, ccode[np.maximum(apos, 0)], -1)[g_prev] == g_cl
        # Each previous id goes where its anchor is, else to most of its records, else smallest hash.
        win = first_per_group(g_prev, n_p, ((~here).astype(np.int64), -n_rec, h_min))
        w_cl, w_here = g_cl[win], here[win]
        # Per cluster, the oldest claiming id (then the smallest) keeps it; the others become aliases.
        born_p = meta["born"].reindex(puniq).fillna(run_seq).to_numpy(np.int64)
        id_rank = np.empty(n_p, dtype=np.int64)
        id_rank[np.argsort(puniq.astype(str), kind="stable")] = np.arange(n_p)
        order = np.lexsort((id_rank, born_p, w_cl))          # previous id codes by (cluster, born, id)
        first = np.concatenate([[True], w_cl[order][1:] != w_cl[order][:-1]]) if n_p else np.zeros(0, bool)
        keepers, losers = order[first], order[~first]
        k_cl = w_cl[keepers].tolist()
        keeper_of = dict(zip(k_cl, puniq[keepers].tolist()))
        # A keeper whose anchor record stayed keeps it (it is in this cluster); the others take their
        # cluster's best record.
        k_anchor = p_anchor[keepers]
        moved = ~w_here[keepers]
        k_anchor[moved] = key_at(best_pos[w_cl[keepers][moved]])
        anchor_of = dict(zip(k_cl, k_anchor.tolist()))
        changes += [(pid, "anchor_moved", [], "the anchor record left the profile") for pid in puniq[keepers[moved]]]
        for cl, pid in zip(w_cl[losers].tolist(), puniq[losers].tolist()):
            aliases.append((pid, keeper_of[cl], "merged into an older profile", run_seq))
            retired.append(pid)
        for cl, froms in _ids_by_cluster(w_cl[losers], puniq[losers]).items():
            changes.append((keeper_of[cl], "merged", froms, "profiles joined by new evidence"))
        # Clusters that hold records of an id that went elsewhere: a split.
        gone = np.ones(len(pair), dtype=bool)
        gone[win] = False
        split_map = _ids_by_cluster(g_cl[gone], puniq[g_prev[gone]])

    kept = np.fromiter(keeper_of.keys(), dtype=np.int64, count=len(keeper_of))
    is_kept = np.zeros(k, dtype=bool)
    is_kept[kept] = True
    new_clusters = np.flatnonzero(~is_kept)
    new_anchor = key_at(best_pos[new_clusters])
    new_ids = _mint(new_anchor, in_use)
    pid_of = np.empty(k, dtype=object)
    anchor = np.empty(k, dtype=object)
    if len(kept):
        pid_of[kept] = list(keeper_of.values())
        anchor[kept] = [anchor_of[c] for c in keeper_of]
    pid_of[new_clusters] = new_ids
    anchor[new_clusters] = new_anchor
    if has_prev.any():
        for cl, pid in zip(new_clusters.tolist(), new_ids):
            froms = split_map.get(cl)
            if froms:
                changes.append((pid, "split", froms, "records no longer linked to their previous profile"))
            else:
                changes.append((pid, "new", [], None))
    # One Arrow string column for the per-record ids: a million Python strings would be converted anyway.
    pid_arrow = pa.array(pid_of, type=pa.large_string()).take(pa.array(ccode, type=pa.int64()))
    assignment = pd.DataFrame({"record_key": str_array(key_arrow) if key_arrow is not None else as_objects(keys),
                               "profile_id": str_array(pid_arrow)})
    born = meta["born"] if len(meta) else pd.Series(dtype=np.int64)
    profiles = pd.DataFrame({
        "profile_id": pid_of,
        "anchor_record": anchor,
        "born": born.reindex(pid_of).fillna(run_seq).to_numpy(np.int64) if len(born) else np.full(k, run_seq, np.int64),
    })
    changes_df = (pd.DataFrame(changes, columns=CHANGE_COLUMNS) if has_prev.any() else
                  pd.DataFrame({"profile_id": new_ids, "change": "new", "from_ids": [[]] * len(new_ids),
                                "detail": None}, columns=CHANGE_COLUMNS))
    return IdAssignment(assignment, profiles, pd.DataFrame(aliases, columns=ALIAS_COLUMNS), changes_df, retired)


def _ids_by_cluster(clusters: np.ndarray, ids: np.ndarray) -> dict[int, list[str]]:
    """Cluster -> its previous ids, sorted (clusters in ascending order)."""
    out: dict[int, list[str]] = {}
    for cl, pid in sorted(zip(clusters.tolist(), ids.tolist())):
        out.setdefault(cl, []).append(pid)
    return out


def _mint(anchor_keys: np.ndarray, in_use: Callable[[np.ndarray], np.ndarray]) -> list[str]:
    """New ids from anchor record keys; a clash with an issued id (or another new id) re-salts."""
    if not len(anchor_keys):
        return []
    # categorize=False: the same hashes for non-missing keys, without factorizing keys that are distinct anyway.
    h = pd.util.hash_array(np.asarray(anchor_keys, dtype=object), hash_key="voyado_sync_pid_", categorize=False)
    ids = _hex_ids(h)
    # The id spells out the hash, so equal ids are equal hashes (cheaper to compare).
    clash = np.asarray(in_use(ids), dtype=bool) | pd.Series(h).duplicated().to_numpy()
    if clash.any():  # rare: re-salt only the clashing ones, in a deterministic order
        taken = set(ids[~clash])
        for i in np.flatnonzero(clash)[np.argsort(anchor_keys[clash].astype(str), kind="stable")]:
            salt, pid = 0, ids[i]
            while pid in taken or in_use(np.array([pid], dtype=object))[0]:
                salt += 1
                x = pd.util.hash_array(np.array([f"{anchor_keys[i]}#{salt}"], dtype=object),
                                       hash_key="voyado_sync_pid_")[0]
                pid = "P" + format(int(x), "016x")
            ids[i] = pid
            taken.add(pid)
    return list(ids)


def _hex_ids(h: np.ndarray) -> np.ndarray:
    """"P" + 16 hex digits of each hash, formatted in one pass over the bytes instead of per id."""
    n = len(h)
    digits = pa.py_buffer(h.astype(">u8").tobytes().hex().encode())
    hexes = pa.StringArray.from_buffers(n, pa.py_buffer(np.arange(0, 16 * n + 1, 16, dtype=np.int32)), digits)
    return pc.binary_join_element_wise("P", hexes, "").to_numpy(zero_copy_only=False).astype(object)
