"""Golden records: one row per profile, attributes chosen by survivorship.

Rule for every attribute: the value from the highest-priority source (``source_priority`` in the
rules file) wins; among equals, the most recently observed non-null value; then the smallest record
hash, so the result never depends on input order. Identifier lists hold every usable value seen on
the profile's records (merged, shared or refused-by-conflict) with real values, in value-hash order:
the contact sync needs them. They never go into metadata or logs.

Everything runs on integer codes: winners are group minima, lists one sort of packed codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from voyado_sync.identity.keys import as_arrow, as_text, first_per_group, index_in, str_array, text_hash
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
                    values: pd.Index | None = None, value_hashes: np.ndarray | None = None) -> pd.DataFrame:
    """``assignment``: record_key, profile_id. ``records``: RECORD_COLUMNS. ``edges``: identifier rows
    with record_key, id_type, value, outcome (and optionally ``rec``: row of ``assignment``, and
    ``val``: position in ``values``, the distinct normalized values). ``record_hashes``: record_hash of
    ``records`` keys, ``value_hashes``: text_hash of ``values``, when the caller has them."""
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

    cols: dict = {"profile_id": pids.array if isinstance(pids.dtype, pd.StringDtype) else np.asarray(pids, dtype=object),
                  "record_count": np.bincount(prof, minlength=n_prof)}
    t_max = np.full(n_prof, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(t_max, prof[has_t], tsec[has_t])
    cols["updated_at"] = pd.to_datetime(np.where(t_max == np.iinfo(np.int64).min, np.datetime64("NaT"),
                                                 t_max.astype("datetime64[s]")), utc=True)
    cols["sources"] = _source_mix(prof, sc, [str(x) for x in su], n_prof)
    for attr in GOLDEN_ATTRS:
        # Blank test and winners stay in Arrow: no Python string per profile.
        text = as_text(rec[attr])
        filled = pc.not_equal(pc.utf8_trim_whitespace(text), "").fill_null(False).to_numpy(zero_copy_only=False)
        cols[attr] = _take(text, first_per_group(prof, n_prof, (score, rh), mask=filled))

    # Identifiers usable on the profile's records.
    sel_all = np.flatnonzero(edges["outcome"].isin([MERGED, SHARED, CONFLICT]).to_numpy())
    erec = (edges["rec"].to_numpy()[sel_all] if "rec" in edges.columns
            else index_in(edges["record_key"].iloc[sel_all], assignment["record_key"]))
    eprof = prof_of_a[erec]
    tcodes, tnames = pd.factorize(edges["id_type"])
    tcodes = tcodes[sel_all]
    if "val" in edges.columns and values is not None:
        val = edges["val"].to_numpy()[sel_all]
        # Compact the codes to the values in use (hashes and lists touch only those).
        in_use = np.bincount(val, minlength=len(values)) > 0
        vcode = (np.cumsum(in_use) - 1)[val]
        vuniq = values.take(np.flatnonzero(in_use))
        if value_hashes is not None:
            value_hashes = value_hashes[in_use]
    else:
        vcode, vuniq = pd.factorize(edges["value"].iloc[sel_all])
        vuniq, value_hashes = pd.Index(vuniq), None
    v_arrow = as_text(vuniq)
    n_v = len(vuniq)
    vhash_u = text_hash(v_arrow) if value_hashes is None else value_hashes
    vhash = vhash_u[vcode]
    # Per record score of its edges (merged values first, then the record's survivorship score).
    rscore = np.full(len(prof_of_a), _NEVER, dtype=np.int64)
    rscore[rpos] = score
    merged = (edges["outcome"].iloc[sel_all] == MERGED).to_numpy(dtype=bool)
    n_t = len(tnames)
    # Separate keys, not one packed score: any source rank and "record unknown" (_NEVER) stay exact.
    win = first_per_group(tcodes * n_prof + eprof, n_t * n_prof, ((~merged).astype(np.int64), rscore[erec], vhash))
    win_code = np.append(vcode, -1)[win]   # no winner (-1) picks the appended -1
    for t_i, id_type in enumerate(tnames):
        if id_type in GOLDEN_IDS:
            cols[GOLDEN_IDS[id_type]] = _take(v_arrow, win_code[t_i * n_prof:(t_i + 1) * n_prof])
    for col in GOLDEN_IDS.values():
        cols.setdefault(col, None)

    # Distinct (profile, value, type) in profile, value-hash order: one sort of packed integer codes.
    # The hash rank of a value stands in for its hash (equal hashes of different values, never
    # seen at 64 bits, go by value code).
    vrank = np.empty(n_v, dtype=np.int64)
    by_hash = np.argsort(vhash_u, kind="stable")
    vrank[by_hash] = np.arange(n_v)
    d_p, d_v, d_t = _distinct_triples(eprof, vrank[vcode], tcodes, n_prof, n_v, n_t)
    for t_i, id_type in enumerate(tnames):
        if id_type in LIST_COLUMNS:
            m = d_t == t_i
            cols[LIST_COLUMNS[id_type]] = _lists(d_p[m], by_hash[d_v[m]], v_arrow, n_prof)
    for col in LIST_COLUMNS.values():
        if col not in cols:
            cols[col] = _lists(np.array([], np.int64), np.array([], np.int64), v_arrow, n_prof)
    pv_new = np.ones(len(d_p), dtype=bool)
    pv_new[1:] = (d_p[1:] != d_p[:-1]) | (d_v[1:] != d_v[:-1])
    cols["identifier_count"] = np.bincount(d_p[pv_new], minlength=n_prof)
    return pd.DataFrame(cols, index=pd.RangeIndex(n_prof))[PROFILE_COLUMNS_OUT]


def _take(text: pa.Array, pos: np.ndarray):
    """``text`` at ``pos`` (-1: missing) as a string column; all missing stays an object column of None."""
    if not (pos >= 0).any():
        return np.full(len(pos), None, dtype=object)
    return str_array(text.take(pa.array(pos, mask=pos < 0, type=pa.int64())))


def _distinct_triples(prof: np.ndarray, vrank: np.ndarray, tcode: np.ndarray, n_prof: int, n_v: int,
                      n_t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (profile, value rank, type) rows sorted in that order, as three arrays."""
    if n_prof * n_v * n_t < 2 ** 63:
        key = np.sort((prof.astype(np.int64) * n_v + vrank) * n_t + tcode)
        key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key
        return key // n_t // n_v, key // n_t % n_v, key % n_t
    o = np.lexsort((tcode, vrank, prof))
    p, v, t = prof[o], vrank[o], tcode[o]
    new = np.concatenate([[True], (p[1:] != p[:-1]) | (v[1:] != v[:-1]) | (t[1:] != t[:-1])]) if len(o) else o
    return p[new], v[new], t[new]


def _source_mix(prof: np.ndarray, scode: np.ndarray, names: list[str], n_prof: int):
    """"ct_customer=1,ct_order=4" per profile, built once per distinct mix."""
    order = np.argsort(names)
    ns = len(names)
    if not ns:
        return np.full(n_prof, "", dtype=object)
    counts = np.bincount(prof * ns + scode, minlength=n_prof * ns).reshape(n_prof, ns)
    packed = (np.minimum(counts, 4095) * (np.int64(1) << (12 * np.arange(ns, dtype=np.int64)))).sum(axis=1)
    codes, _ = pd.factorize(packed)
    first = np.unique(codes, return_index=True)[1]
    text = pa.array([",".join(f"{names[j]}={counts[i, j]}" for j in order if counts[i, j]) for i in first],
                    type=pa.large_string())
    return str_array(text.take(pa.array(codes)))


def _lists(prof_sorted: np.ndarray, vcode: np.ndarray, values: pa.Array, n_prof: int) -> pd.Series:
    """Values per profile (rows already distinct and in list order) as an Arrow list column
    (zero-copy, no per-row objects)."""
    offsets = np.zeros(n_prof + 1, dtype=np.int32)
    np.cumsum(np.bincount(prof_sorted, minlength=n_prof), out=offsets[1:])
    flat = values.take(pa.array(vcode, type=pa.int64())).cast(pa.string()) if len(vcode) else pa.array([], pa.string())
    arr = pa.ListArray.from_arrays(pa.array(offsets), flat)
    return pd.Series(pd.arrays.ArrowExtensionArray(arr))
