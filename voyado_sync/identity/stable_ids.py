"""Stable profile ids across runs, from the previous assignment.

* A previous id goes to the new cluster holding its anchor record (the record that founded it); if
  the anchor is gone, to the cluster holding most of its records (ties: smallest record hash).
* Several previous ids landing in one cluster: the oldest (born first, then smallest id) survives;
  the others become aliases of it.
* A cluster that inherits no id gets a new one derived from its anchor record (best source, then
  smallest record hash), re-salted on a clash with any id ever issued. Everything is deterministic:
  the same clusters and the same previous state give the same ids, whatever the input order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from voyado_sync.identity.keys import as_objects, isin
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
    return pd.util.hash_array(np.asarray(keys, dtype=object)).view(np.int64)


def assign_stable_ids(clusters: pd.DataFrame, sources: pd.Series, previous: pd.DataFrame,
                      prev_profiles: pd.DataFrame, used_ids, rules: IdentityRules,
                      run_seq: int) -> IdAssignment:
    """``clusters``: record_key, cluster. ``sources``: source per record (aligned with clusters).
    ``previous``: record_key, profile_id of the last run (for these records). ``prev_profiles``:
    PROFILE_COLUMNS of the previous ids involved."""
    c = pd.DataFrame({"record_key": clusters["record_key"].to_numpy(dtype=object),
                      "cluster": clusters["cluster"].to_numpy(dtype=np.int64)})
    c["h"] = record_hash(c["record_key"])
    c["srank"] = pd.Series(np.asarray(sources, dtype=object)).map(rules.source_rank).fillna(99).to_numpy(np.int64)
    prev_map = pd.Series(previous["profile_id"].to_numpy(dtype=object),
                         index=previous["record_key"].to_numpy(dtype=object))
    prev_map = prev_map[~prev_map.index.duplicated()]
    c["prev"] = prev_map.reindex(c["record_key"].to_numpy()).to_numpy(dtype=object)

    # Best record of each cluster: the anchor a new id is derived from.
    best = c.sort_values(["cluster", "srank", "h"], kind="stable").drop_duplicates("cluster")
    best_of = pd.Series(best["record_key"].to_numpy(dtype=object), index=best["cluster"].to_numpy())

    meta = prev_profiles.drop_duplicates("profile_id").set_index("profile_id")
    claims = c[c["prev"].notna()]
    keeper_of: dict[int, str] = {}
    aliases: list[tuple] = []
    changes: list[tuple] = []
    anchor_of: dict[int, str] = {}
    retired: list[str] = []
    if len(claims):
        g = claims.groupby(["prev", "cluster"], sort=False).agg(n=("h", "size"), hmin=("h", "min")).reset_index()
        cluster_of_rec = pd.Series(c["cluster"].to_numpy(), index=c["record_key"].to_numpy())
        anchors = meta["anchor_record"].reindex(g["prev"].to_numpy()).to_numpy(dtype=object)
        anchor_cluster = cluster_of_rec.reindex(anchors).to_numpy()
        g["anchor_here"] = anchor_cluster == g["cluster"].to_numpy()
        win = (g.sort_values(["prev", "anchor_here", "n", "hmin"], ascending=[True, False, False, True])
               .drop_duplicates("prev"))
        win["born"] = meta["born"].reindex(win["prev"].to_numpy()).fillna(run_seq).to_numpy(np.int64)
        win = win.sort_values(["cluster", "born", "prev"])
        first = ~win["cluster"].duplicated()
        keepers = win[first]
        keeper_of = dict(zip(keepers["cluster"].to_numpy().tolist(), keepers["prev"].tolist()))
        for cl, pid, here in zip(keepers["cluster"].tolist(), keepers["prev"].tolist(),
                                 keepers["anchor_here"].tolist()):
            if here:
                anchor_of[cl] = meta.at[pid, "anchor_record"] if pid in meta.index else best_of[cl]
            else:
                anchor_of[cl] = best_of[cl]
                changes.append((pid, "anchor_moved", [], "the anchor record left the profile"))
        losers = win[~first]
        for cl, pid in zip(losers["cluster"].tolist(), losers["prev"].tolist()):
            aliases.append((pid, keeper_of[cl], "merged into an older profile", run_seq))
            retired.append(pid)
        if len(losers):
            merged_from = losers.groupby("cluster")["prev"].agg(lambda s: sorted(s))
            for cl, froms in merged_from.items():
                changes.append((keeper_of[cl], "merged", froms, "profiles joined by new evidence"))
        # Clusters that hold records of an id that went elsewhere: a split.
        split_from = g[~g.set_index(["prev", "cluster"]).index.isin(
            win.set_index(["prev", "cluster"]).index)]
        split_map = split_from.groupby("cluster")["prev"].agg(lambda s: sorted(s)).to_dict()
    else:
        split_map = {}

    new_clusters = np.setdiff1d(best_of.index.to_numpy(), np.fromiter(keeper_of.keys(), dtype=np.int64))
    new_anchor = best_of.reindex(new_clusters).to_numpy(dtype=object)
    new_ids = _mint(new_anchor, used_ids)
    pid_of_cluster = pd.Series(keeper_of, dtype=object)
    pid_of_cluster = pd.concat([pid_of_cluster, pd.Series(new_ids, index=new_clusters, dtype=object)])
    anchor_series = pd.concat([pd.Series(anchor_of, dtype=object),
                               pd.Series(new_anchor, index=new_clusters, dtype=object)])
    if len(claims):
        for cl, pid in zip(new_clusters.tolist(), new_ids):
            froms = split_map.get(cl)
            if froms:
                changes.append((pid, "split", froms, "records no longer linked to their previous profile"))
            else:
                changes.append((pid, "new", [], None))
    assignment = pd.DataFrame({"record_key": c["record_key"].to_numpy(dtype=object),
                               "profile_id": pid_of_cluster.reindex(c["cluster"].to_numpy()).to_numpy(dtype=object)})
    born = meta["born"] if len(meta) else pd.Series(dtype=np.int64)
    clusters_all = best_of.index.to_numpy()
    pids = pid_of_cluster.reindex(clusters_all).to_numpy(dtype=object)
    profiles = pd.DataFrame({
        "profile_id": pids,
        "anchor_record": anchor_series.reindex(clusters_all).to_numpy(dtype=object),
        "born": born.reindex(pids).fillna(run_seq).to_numpy(np.int64),
    })
    changes_df = (pd.DataFrame(changes, columns=CHANGE_COLUMNS) if len(claims) else
                  pd.DataFrame({"profile_id": new_ids, "change": "new", "from_ids": [[]] * len(new_ids),
                                "detail": None}, columns=CHANGE_COLUMNS))
    return IdAssignment(assignment, profiles, pd.DataFrame(aliases, columns=ALIAS_COLUMNS), changes_df, retired)


def _mint(anchor_keys: np.ndarray, used) -> list[str]:
    """New ids from anchor record keys; a clash with an issued id (or another new id) re-salts."""
    if not len(anchor_keys):
        return []
    h = pd.util.hash_array(np.asarray(anchor_keys, dtype=object), hash_key="voyado_sync_pid_")
    ids = np.char.add("P", np.char.zfill(np.char.mod("%x", h), 16)).astype(object) if len(h) else h
    s = pd.Series(ids, dtype=object)
    clash = (isin(s, list(used) if isinstance(used, set) else used) | s.duplicated().to_numpy())
    if clash.any():  # rare: re-salt only the clashing ones, in a deterministic order
        taken = set(as_objects(used)) | set(ids[~clash])
        for i in np.flatnonzero(clash)[np.argsort(anchor_keys[clash].astype(str), kind="stable")]:
            salt, pid = 0, ids[i]
            while pid in taken:
                salt += 1
                x = pd.util.hash_array(np.array([f"{anchor_keys[i]}#{salt}"], dtype=object),
                                       hash_key="voyado_sync_pid_")[0]
                pid = "P" + format(int(x), "016x")
            ids[i] = pid
            taken.add(pid)
    return list(ids)
