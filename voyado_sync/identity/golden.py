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
import pyarrow.compute as pc

from voyado_sync.identity.keys import as_arrow, as_text, index_in, text_hash
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
                    rules: IdentityRules, record_hashes: np.ndarray | None = None,
                    values: pd.Index | None = None) -> pd.DataFrame:
    """``assignment``: record_key, profile_id. ``records``: RECORD_COLUMNS. ``edges``: identifier rows
    with record_key, id_type, value, outcome (and optionally ``rec``: row of ``assignment``, and
    ``val``: position in ``values``, the distinct normalized values). ``record_hashes``: record_hash of
    ``records`` keys when the caller has it."""
    prof_of_a, pids = pd.factorize(assignment["profile_id"])
    n_prof = len(pids)
    # Records -> assignment rows (usually the same rows in the same order: checked, not assumed).
    a_keys, r_keys = as_arrow(assignment["record_key"]), as_arrow(records["record_key"])
    aligned = (len(assignment) == len(records) and a_keys is not None and r_keys is not None
               and pc.all(pc.equal(a_keys, r_keys)).as_py() is True)
    if aligned:
        rpos, rec = np.arange(len(records)), records
    else:
        rpos = index_in(records["record_key"], assignment["record_key"])
        keep = rpos >= 0
        rpos, rec = rpos[keep], records[keep]
        record_hashes = None if record_hashes is None else np.asarray(record_hashes)[keep]
    prof = prof_of_a[rpos]
    sc, su = pd.factorize(rec["source"])
    srank = np.array([rules.source_rank.get(x, 99) for x in su] + [99], dtype=np.int64)[sc]
    ts = pd.to_datetime(rec["observed_at"], utc=True, errors="coerce")
    tsec = ts.to_numpy(dtype="datetime64[s]").astype(np.int64)
    has_t = ts.notna().to_numpy()
    # Score: lower is better (source rank, then newest first, unknown times last).
    score = srank * (np.int64(1) << 40) + np.where(has_t, (np.int64(1) << 39) - tsec, (np.int64(1) << 40) - 1)
    rh = record_hash(rec["record_key"]) if record_hashes is None else record_hashes
    order = np.lexsort((rh, score, prof))
    prof_sorted = prof[order]

    out = pd.DataFrame(index=pd.RangeIndex(n_prof))
    out["profile_id"] = pids.array if isinstance(pids.dtype, pd.StringDtype) else np.asarray(pids, dtype=object)
    out["record_count"] = np.bincount(prof, minlength=n_prof)
    t_max = np.full(n_prof, np.iinfo(np.int64).min, dtype=np.int64)
    _group_max(t_max, prof[has_t], tsec[has_t])
    out["updated_at"] = pd.to_datetime(np.where(t_max == np.iinfo(np.int64).min, np.datetime64("NaT"),
                                                t_max.astype("datetime64[s]")), utc=True)
    out["sources"] = _source_mix(prof, sc, [str(x) for x in su], n_prof)
    for attr in GOLDEN_ATTRS:
        # Blank test in Arrow; only the winners become Python objects.
        text = as_text(rec[attr])
        filled = pc.not_equal(pc.utf8_trim_whitespace(text), "").fill_null(False).to_numpy(zero_copy_only=False)
        win = _first_pos_per_group(prof_sorted, filled[order], n_prof)
        col = np.full(n_prof, None, dtype=object)
        has = win >= 0
        col[has] = text.take(pa.array(order[win[has]], type=pa.int64())).to_numpy(zero_copy_only=False)
        out[attr] = col

    # Identifiers usable on the profile's records.
    sel_all = np.flatnonzero(edges["outcome"].isin([MERGED, SHARED, CONFLICT]).to_numpy())
    erec = (edges["rec"].to_numpy()[sel_all] if "rec" in edges.columns
            else index_in(edges["record_key"].iloc[sel_all], assignment["record_key"]))
    eprof = prof_of_a[erec]
    tcodes, tnames = pd.factorize(edges["id_type"])
    tcodes = tcodes[sel_all]
    if "val" in edges.columns and values is not None:
        vcode = edges["val"].to_numpy()[sel_all]
        # Compact the codes to the values in use (hashes and lists touch only those).
        vcode, used = pd.factorize(vcode)
        vuniq = values.take(used)
    else:
        vcode, vuniq = pd.factorize(edges["value"].iloc[sel_all])
        vuniq = pd.Index(vuniq)
    v_arrow = as_text(vuniq)
    vhash = text_hash(v_arrow)[vcode]
    # Per record score of its edges (merged values first, then the record's survivorship score).
    rscore = np.full(len(prof_of_a), _NEVER, dtype=np.int64)
    rscore[rpos] = score
    merged = (edges["outcome"].iloc[sel_all] == MERGED).to_numpy(dtype=bool)
    escore = np.where(merged, 0, np.int64(1) << 45) + rscore[erec]
    for t_i in np.unique(tcodes):
        id_type = tnames[t_i]
        sel = np.flatnonzero(tcodes == t_i)
        p, sc_, vh = eprof[sel], escore[sel], vhash[sel]
        o = np.lexsort((vh, sc_, p))
        if id_type in GOLDEN_IDS:
            win = _first_pos_per_group(p[o], np.ones(len(o), bool), n_prof)
            col = np.full(n_prof, None, dtype=object)
            has = win >= 0
            col[has] = v_arrow.take(pa.array(vcode[sel][o][win[has]], type=pa.int64())).to_numpy(zero_copy_only=False)
            out[GOLDEN_IDS[id_type]] = col
        if id_type in LIST_COLUMNS:
            out[LIST_COLUMNS[id_type]] = _lists(p, vcode[sel], vh, v_arrow, n_prof)
    for id_type, col in GOLDEN_IDS.items():
        if col not in out.columns:
            out[col] = None
    empty = None
    for col in LIST_COLUMNS.values():
        if col not in out.columns:
            empty = empty if empty is not None else _lists(np.array([], np.int64), np.array([], np.int64),
                                                           np.array([], np.int64), pa.array([], pa.string()), n_prof)
            out[col] = empty
    width = np.int64(len(vuniq) + 1)
    distinct = pd.unique(eprof.astype(np.int64) * width + vcode) if len(eprof) else np.array([], np.int64)
    out["identifier_count"] = np.bincount(distinct // width, minlength=n_prof) if len(distinct) else 0
    return out[PROFILE_COLUMNS_OUT]


def _first_pos_per_group(groups_sorted: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    """Position (in sorted order) of the first ``ok`` row of each group; -1 where a group has none."""
    out = np.full(n, -1, dtype=np.int64)
    pos = np.flatnonzero(ok)
    g = groups_sorted[pos]
    if len(g):
        first = np.concatenate([[True], g[1:] != g[:-1]])
        out[g[first]] = pos[first]
    return out


def _group_max(acc: np.ndarray, groups: np.ndarray, values: np.ndarray) -> None:
    s = pd.Series(values).groupby(groups).max()
    acc[s.index.to_numpy()] = s.to_numpy()


def _source_mix(prof: np.ndarray, scode: np.ndarray, names: list[str], n_prof: int) -> np.ndarray:
    """"ct_customer=1,ct_order=4" per profile, built once per distinct mix."""
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


def _lists(prof: np.ndarray, vcode: np.ndarray, vhash: np.ndarray, values: pa.Array, n_prof: int) -> pd.Series:
    """Distinct values per profile as an Arrow list column (zero-copy, no per-row objects)."""
    if len(prof):
        key = prof.astype(np.int64) * np.int64(vcode.max() + 1) + vcode
        first = np.flatnonzero(~pd.Series(key).duplicated().to_numpy())
        prof, vhash, vcode = prof[first], vhash[first], vcode[first]
        o = np.lexsort((vhash, prof))
        prof, vcode = prof[o], vcode[o]
    offsets = np.searchsorted(prof, np.arange(n_prof + 1)).astype(np.int32)
    flat = values.take(pa.array(vcode, type=pa.int64())).cast(pa.string()) if len(vcode) else pa.array([], pa.string())
    arr = pa.ListArray.from_arrays(pa.array(offsets), flat)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr))
