"""Golden records: one row per profile, attributes chosen by survivorship.

Rule for every attribute: the value from the highest-priority source (``source_priority`` in the
rules file) wins; among equals, the most recently observed non-null value; then the smallest record
hash, so the result never depends on input order. Identifier lists hold every usable value seen on
the profile's records (merged, shared or refused-by-conflict) with real values, in value-hash order:
the contact sync needs them. They never go into metadata or logs.

Everything runs on integer codes: one sort of records and one of identifier values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from voyado_sync.identity.resolve import CONFLICT, MERGED, SHARED
from voyado_sync.identity.rules import IdentityRules
from voyado_sync.identity.stable_ids import record_hash

LIST_COLUMNS = {
    "ct_customer_id": "ct_customer_ids", "voyado_contact_id": "voyado_contact_ids",
    "member_number": "member_numbers", "customer_number": "customer_numbers", "external_id": "external_ids",
    "card_id": "card_ids", "email": "emails", "phone": "phones",
}
GOLDEN_IDS = {"email": "email", "phone": "mobile_phone", "ct_customer_id": "ct_customer_id",
              "voyado_contact_id": "voyado_contact_id", "member_number": "member_number",
              "external_id": "external_id"}
GOLDEN_ATTRS = ["first_name", "last_name", "country"]
PROFILE_COLUMNS_OUT = ["profile_id", "record_count", "updated_at", "sources", *GOLDEN_ATTRS, *GOLDEN_IDS.values(),
                       *LIST_COLUMNS.values(), "identifier_count"]
_NEVER = np.iinfo(np.int64).max


def golden_profiles(assignment: pd.DataFrame, records: pd.DataFrame, edges: pd.DataFrame,
                    rules: IdentityRules) -> pd.DataFrame:
    """``assignment``: record_key, profile_id. ``records``: RECORD_COLUMNS. ``edges``: identifier rows
    with record_key, id_type, value, outcome (and optionally ``rec``: row of ``assignment``)."""
    akeys = pd.Index(assignment["record_key"])
    prof_of_a, pids = pd.factorize(assignment["profile_id"])
    n_prof = len(pids)
    # Records -> assignment rows.
    rpos = akeys.get_indexer(records["record_key"])
    keep = rpos >= 0
    rec = records[keep]
    prof = prof_of_a[rpos[keep]]
    srank = rec["source"].map(rules.source_rank).fillna(99).to_numpy(np.int64)
    ts = pd.to_datetime(rec["observed_at"], utc=True, errors="coerce")
    tsec = ts.to_numpy(dtype="datetime64[s]").astype(np.int64)
    has_t = ts.notna().to_numpy()
    # Score: lower is better (source rank, then newest first, unknown times last).
    score = srank * (np.int64(1) << 40) + np.where(has_t, (np.int64(1) << 39) - tsec, (np.int64(1) << 40) - 1)
    rh = record_hash(rec["record_key"])
    order = np.lexsort((rh, score, prof))
    prof_sorted = prof[order]

    out = pd.DataFrame(index=pd.RangeIndex(n_prof))
    out["profile_id"] = np.asarray(pids, dtype=object)
    out["record_count"] = np.bincount(prof, minlength=n_prof)
    t_max = np.full(n_prof, np.iinfo(np.int64).min, dtype=np.int64)
    _group_max(t_max, prof[has_t], tsec[has_t])
    out["updated_at"] = pd.to_datetime(np.where(t_max == np.iinfo(np.int64).min, np.datetime64("NaT"),
                                                t_max.astype("datetime64[s]")), utc=True)
    out["sources"] = _source_mix(prof, rec["source"], n_prof)
    for attr in GOLDEN_ATTRS:
        vals = rec[attr].to_numpy(dtype=object)[order]
        ok = pd.notna(vals)
        if ok.any():
            ok[ok] = pd.Series(vals[ok], dtype=object).astype(str).str.strip().to_numpy() != ""
        out[attr] = _first_per_group(prof_sorted, vals, ok, n_prof)

    # Identifiers usable on the profile's records.
    usable = edges["outcome"].isin([MERGED, SHARED, CONFLICT]).to_numpy()
    e = edges[usable]
    erec = (e["rec"].to_numpy() if "rec" in e.columns else akeys.get_indexer(e["record_key"]))
    eprof = prof_of_a[erec]
    etype = e["id_type"].to_numpy(dtype=object)
    evalue = e["value"].to_numpy(dtype=object)
    vcode, vuniq = pd.factorize(evalue)
    vhash = pd.util.hash_array(np.asarray(vuniq, dtype=object)).view(np.int64)[vcode]
    # Per record score of its edges (merged values first, then the record's survivorship score).
    rscore = np.full(len(akeys), _NEVER, dtype=np.int64)
    rscore[rpos[keep]] = score
    escore = np.where(e["outcome"].to_numpy(dtype=object) == MERGED, 0, np.int64(1) << 45) + rscore[erec]
    tcodes, tnames = pd.factorize(etype)
    for t_i, id_type in enumerate(tnames):
        sel = np.flatnonzero(tcodes == t_i)
        p, sc, vh = eprof[sel], escore[sel], vhash[sel]
        o = np.lexsort((vh, sc, p))
        if id_type in GOLDEN_IDS:
            out[GOLDEN_IDS[id_type]] = _first_per_group(p[o], evalue[sel][o], np.ones(len(o), bool), n_prof)
        if id_type in LIST_COLUMNS:
            out[LIST_COLUMNS[id_type]] = _lists(p, vcode[sel], vh, evalue[sel], n_prof)
    for id_type, col in GOLDEN_IDS.items():
        if col not in out.columns:
            out[col] = None
    empty = None
    for col in LIST_COLUMNS.values():
        if col not in out.columns:
            empty = empty if empty is not None else _lists(np.array([], np.int64), np.array([], np.int64),
                                                           np.array([], np.int64), np.array([], object), n_prof)
            out[col] = empty
    distinct = pd.unique(eprof.astype(np.int64) * np.int64(len(vuniq) + 1) + vcode) if len(eprof) else np.array([], np.int64)
    out["identifier_count"] = np.bincount(distinct // np.int64(len(vuniq) + 1), minlength=n_prof) if len(distinct) else 0
    return out[PROFILE_COLUMNS_OUT]


def _group_max(acc: np.ndarray, groups: np.ndarray, values: np.ndarray) -> None:
    s = pd.Series(values).groupby(groups).max()
    acc[s.index.to_numpy()] = s.to_numpy()


def _first_per_group(groups_sorted: np.ndarray, values_sorted: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """The first ``ok`` value of each group in sorted order (None where a group has none)."""
    out = np.full(n, None, dtype=object)
    g, v = groups_sorted[ok], values_sorted[ok]
    if len(g):
        first = np.concatenate([[True], g[1:] != g[:-1]])
        out[g[first]] = v[first]
    return out


def _source_mix(prof: np.ndarray, sources: pd.Series, n_prof: int) -> np.ndarray:
    """"ct_customer=1,ct_order=4" per profile, built once per distinct mix."""
    scode, snames = pd.factorize(sources)
    names = [str(x) for x in snames]
    order = np.argsort(names)
    ns = len(names)
    if not ns:
        return np.full(n_prof, "", dtype=object)
    counts = np.bincount(prof * ns + scode, minlength=n_prof * ns).reshape(n_prof, ns)
    packed = (np.minimum(counts, 4095) * (np.int64(1) << (12 * np.arange(ns, dtype=np.int64)))).sum(axis=1)
    codes, _ = pd.factorize(packed)
    first = np.unique(codes, return_index=True)[1]
    text = np.array([",".join(f"{names[j]}={counts[i, j]}" for j in order if counts[i, j]) for i in first],
                    dtype=object)
    return text[codes]


def _lists(prof: np.ndarray, vcode: np.ndarray, vhash: np.ndarray, values: np.ndarray, n_prof: int) -> pd.Series:
    """Distinct values per profile as an Arrow list column (zero-copy, no per-row objects)."""
    if len(prof):
        key = prof.astype(np.int64) * np.int64(vcode.max() + 1) + vcode
        first = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())
        prof, vhash, values = prof[first], vhash[first], values[first]
        o = np.lexsort((vhash, prof))
        prof, values = prof[o], values[o]
    offsets = np.searchsorted(prof, np.arange(n_prof + 1)).astype(np.int32)
    arr = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.string()))
    return pd.Series(pd.arrays.ArrowExtensionArray(arr))
