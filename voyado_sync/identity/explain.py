"""The decision log: every merge and every refusal, with the rule and the evidence.

Identifier values appear only as ``privacy.hash_value`` hashes; record keys (source ids) are kept
because they are what an engineer follows to the source system."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from voyado_sync.identity.keys import as_arrow, as_text, index_in, isin, joined
from voyado_sync.identity.resolve import BLOCKED, CONFLICT, INVALID, MERGED, SHARED, Resolution
from voyado_sync.identity.stable_ids import IdAssignment
from voyado_sync.privacy import keyed_hasher

DECISION_COLUMNS = ["run_seq", "decision", "profile_id", "rule", "id_type", "value_hash", "record_count",
                    "evidence"]


def hash_values(id_types, values, distinct: bool = False) -> np.ndarray:
    """``privacy.hash_value`` over (type, value) pairs, each distinct pair computed once, with the same
    keyed hasher (asserted equal in tests).
    The "type:value" texts are built and de-duplicated in Arrow and reach Python as bytes, ready
    for the digest: no per-row string objects. ``distinct``: the pairs are (nearly all) distinct, so
    skip the de-duplication (a third of the hashing time); the result is the same either way."""
    if not len(id_types):
        return np.array([], dtype=object)
    t, v = as_arrow(id_types), as_arrow(values)
    if t is None or v is None or t.null_count or v.null_count:
        # Non-text or missing values: hash their str() like hash_value(str(value)) does.
        t, v = (pa.array(pd.Series(np.asarray(x, dtype=object)).astype(str).to_numpy(dtype=object), pa.large_string())
                for x in (id_types, values))
    texts = pc.binary_join_element_wise(t, v, pa.scalar(":", pa.large_string()))
    enc = None if distinct else texts.dictionary_encode()
    unique = texts if enc is None else enc.dictionary
    digest = keyed_hasher()
    hashed = np.array([digest(u) for u in unique.cast(pa.large_binary()).to_pylist()], dtype=object)
    return hashed if enc is None else hashed[enc.indices.to_numpy(zero_copy_only=False)]


class _ProfileOf:
    """Record -> profile id of this run, by record position or key, without a million-key Python index."""

    def __init__(self, assignment: pd.DataFrame) -> None:
        self.keys = assignment["record_key"]
        self.pids = as_arrow(assignment["profile_id"])

    def at(self, positions) -> np.ndarray:
        pos = np.asarray(positions, dtype=np.int64)
        return self.pids.take(pa.array(pos, mask=pos < 0)).to_numpy(zero_copy_only=False).astype(object)

    def of(self, keys) -> np.ndarray:
        out = self.at(index_in(keys, self.keys))
        out[pd.isna(out)] = None
        return out

    def records_of(self, pids) -> tuple[pa.Array, np.ndarray]:
        """(record keys, their profile ids) of the records in any of ``pids``."""
        hit = pa.array(isin(self.pids, pids))
        return as_text(self.keys).filter(hit), self.pids.filter(hit).to_numpy(zero_copy_only=False)


def decisions(res: Resolution, ids: IdAssignment, run_seq: int,
              prev_edges: pd.DataFrame | None = None) -> pd.DataFrame:
    profile_of = _ProfileOf(ids.assignment)
    edges = res.edges
    parts = [_merges(res.links, profile_of), _refusals(edges, profile_of), _conflicts(res.conflicts, profile_of),
             _shared(res.shared), _changes(ids, edges, prev_edges, profile_of)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else \
        pd.DataFrame(columns=DECISION_COLUMNS)
    out["run_seq"] = run_seq
    return out[DECISION_COLUMNS]


def _merges(links: pd.DataFrame, profile_of: _ProfileOf) -> pd.DataFrame:
    """One row per identifier value that links two or more records."""
    if not len(links):
        return pd.DataFrame(columns=DECISION_COLUMNS)
    pid = (profile_of.at(links["first_rec"].to_numpy()) if "first_rec" in links.columns
           else profile_of.of(links["first_record"]))
    return pd.DataFrame({
        "decision": "merge", "profile_id": pid,
        "rule": ("link:" + links["id_type"]).array, "id_type": links["id_type"].array,
        # One row per linking value: the pairs are distinct.
        "value_hash": hash_values(links["id_type"], links["value"], distinct=True),
        "record_count": links["record_count"].to_numpy(), "evidence": links["sources"].to_numpy(dtype=object)})


def _refusals(edges: pd.DataFrame, profile_of: _ProfileOf) -> pd.DataFrame:
    """Blocked and invalid values: one row per (type, reason, value) with how many records carried it."""
    r = edges.loc[edges["outcome"].isin([BLOCKED, INVALID]).to_numpy(),
                  ["record_key", "id_type", "raw_value", "outcome", "rule"]].copy()
    if not len(r):
        return pd.DataFrame(columns=DECISION_COLUMNS)
    r["raw"] = r["raw_value"].astype(str).str.strip().str.lower()
    r["outcome"] = r["outcome"].astype(str)
    r["rule"] = r["rule"].astype(object).fillna(r["outcome"])
    g = r.groupby(["outcome", "rule", "id_type", "raw"], sort=False, dropna=False)
    agg = g.agg(record_count=("record_key", "nunique"), record_key=("record_key", "first")).reset_index()
    return pd.DataFrame({
        "decision": agg["outcome"].to_numpy(dtype=object),
        "profile_id": profile_of.of(agg["record_key"]),
        "rule": agg["rule"].to_numpy(dtype=object), "id_type": agg["id_type"].to_numpy(dtype=object),
        "value_hash": hash_values(agg["id_type"], agg["raw"]), "record_count": agg["record_count"].to_numpy(),
        "evidence": None})


def _conflicts(conflicts: pd.DataFrame, profile_of: _ProfileOf) -> pd.DataFrame:
    if not len(conflicts):
        return pd.DataFrame(columns=DECISION_COLUMNS)
    all_sides = conflicts["sides"].tolist()
    firsts = sorted({side[0] for sides in all_sides for side in sides})
    lookup = dict(zip(firsts, profile_of.of(np.asarray(firsts, dtype=object))))
    encode = json.JSONEncoder(sort_keys=True).encode   # what json.dumps(sort_keys=True) builds per call
    pids, counts, evidence = [], [], []
    for sides, detail in zip(all_sides, conflicts["detail"].tolist()):
        described = [{"profile_id": lookup.get(side[0]), "records": len(side), "sources": _source_counts(side),
                      "sample": side[:3]} for side in sides]
        pids.append(described[0]["profile_id"])
        counts.append(sum(len(side) for side in sides))
        evidence.append(encode({"sides": described, "detail": detail}))
    value = conflicts["value"]
    has_value = value.notna().to_numpy() if len(value) else np.zeros(0, bool)
    value_hash = np.full(len(conflicts), None, dtype=object)
    value_hash[has_value] = hash_values(conflicts["id_type"][has_value], value[has_value])
    return pd.DataFrame({"decision": "conflict", "profile_id": pids, "rule": conflicts["rule"].tolist(),
                         "id_type": conflicts["id_type"].tolist(), "value_hash": value_hash,
                         "record_count": counts, "evidence": evidence})


def _source_counts(keys: list[str]) -> dict[str, int]:
    """Records per source of one side (a record key is "source:id"), sorted by source."""
    counts: dict[str, int] = {}
    for k in keys:
        src = k.split(":", 1)[0]
        counts[src] = counts.get(src, 0) + 1
    return dict(sorted(counts.items()))


def _shared(shared: pd.DataFrame) -> pd.DataFrame:
    if not len(shared):
        return pd.DataFrame(columns=DECISION_COLUMNS)
    return pd.DataFrame({"decision": "shared", "profile_id": None, "rule": "shared_threshold",
                         "id_type": shared["id_type"].to_numpy(dtype=object),
                         "value_hash": hash_values(shared["id_type"], shared["value"]),
                         "record_count": None,
                         "evidence": ['{"distinct_strong_ids": %d}' % n for n in shared["strong_count"]]})


def _changes(ids: IdAssignment, edges: pd.DataFrame, prev_edges: pd.DataFrame | None,
             profile_of: _ProfileOf) -> pd.DataFrame:
    """Profile-level decisions against the previous run: merged (with aliases), split (with the lost
    links that explain it), anchor moved. New profiles of a first run are not logged one by one."""
    ch = ids.changes[ids.changes["change"] != "new"]
    if not len(ch):
        return pd.DataFrame(columns=DECISION_COLUMNS)
    splits = ch[ch["change"] == "split"]
    lost_by_pid = (_lost_links(splits, edges, prev_edges, profile_of)
                   if len(splits) and prev_edges is not None else {})
    encode = json.JSONEncoder(sort_keys=True, default=str).encode
    rule_of = {"merged": "older_id_survives", "split": "anchor_keeps_id", "anchor_moved": "anchor_removed"}
    evidence = []
    for pid, change, from_ids, detail in zip(ch["profile_id"].tolist(), ch["change"].tolist(),
                                             ch["from_ids"].tolist(), ch["detail"].tolist()):
        ev: dict = {"from": list(from_ids), "detail": detail}
        if change == "split" and prev_edges is not None:
            lost = [x for p in [pid, *from_ids] for x in lost_by_pid.get(p, [])][:20]
            ev["lost_links"] = lost or [{"reason": "records that carried the linking identifiers were removed"}]
        evidence.append(encode(ev))
    change = ch["change"].to_numpy(dtype=object)
    return pd.DataFrame({"decision": "profile_" + change, "profile_id": ch["profile_id"].to_numpy(dtype=object),
                         "rule": [rule_of.get(c, c) for c in change], "id_type": None, "value_hash": None,
                         "record_count": None, "evidence": evidence})


def _lost_links(splits: pd.DataFrame, edges: pd.DataFrame, prev_edges: pd.DataFrame,
                profile_of: _ProfileOf) -> dict[str, list[dict]]:
    """Per current profile: identifiers that linked its records before and do not link now (value
    changed, blocked, refused, or its records removed). One vectorized pass for all splits."""
    pids = set(splits["profile_id"]) | {p for f in splits["from_ids"] for p in f}
    mine_keys, mine_pids = profile_of.records_of(list(pids))
    cols = ["record_key", "id_type", "value"]
    before = prev_edges[cols][isin(prev_edges["record_key"], mine_keys) & (prev_edges["outcome"] == MERGED).to_numpy()]
    if not len(before):
        return {}
    now = edges[[*cols, "outcome", "rule"]][isin(edges["record_key"], mine_keys)]
    # Each link of before, found again now (same record, type and value) or not (-1: record removed).
    at = index_in(joined(*(before[c] for c in cols)), joined(*(now[c] for c in cols)))
    outcome = np.append(now["outcome"].astype(str).to_numpy(dtype=object), None)[at]
    rule = np.append(now["rule"].astype(object).to_numpy(dtype=object), None)[at]
    lost_rows = np.flatnonzero(outcome != MERGED)
    if not len(lost_rows):
        return {}
    lost = before.iloc[lost_rows].assign(
        pid=mine_pids[index_in(before["record_key"].iloc[lost_rows], mine_keys)],
        outcome=outcome[lost_rows], rule=rule[lost_rows]).drop_duplicates(["pid", "id_type", "value"])
    lost["value_hash"] = hash_values(lost["id_type"], lost["value"])
    out: dict[str, list[dict]] = {}
    for pid, t, h, o, r in zip(*(lost[c].tolist() for c in ["pid", "id_type", "value_hash", "outcome", "rule"])):
        now_txt = "removed" if not isinstance(o, str) else (f"{o}:{r}" if isinstance(r, str) else o)
        out.setdefault(pid, []).append({"id_type": t, "value_hash": h, "now": now_txt})
    return out


def outcome_counts(edges: pd.DataFrame) -> dict[str, int]:
    counts = edges["outcome"].astype(str).value_counts()
    return {k: int(counts.get(k, 0)) for k in (MERGED, CONFLICT, SHARED, BLOCKED, INVALID)}


def reason_counts(edges: pd.DataFrame) -> dict[str, int]:
    """Refusals per reason (blocked/invalid), e.g. {"invalid:malformed_email": 12}."""
    r = edges[edges["outcome"].isin([BLOCKED, INVALID])]
    if not len(r):
        return {}
    c = (r["outcome"].astype(str) + ":" + r["rule"].astype(object).fillna("").astype(str)).value_counts()
    return {str(k): int(v) for k, v in c.items()}
