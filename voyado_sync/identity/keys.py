"""Membership tests, lookups and hashes on record keys and identifier values that stay fast on Arrow strings.

pandas' ``isin``/``get_indexer`` on an Arrow string column converts the candidate set element by
element into Python strings; with a million record keys that costs seconds and hundreds of MB of
short-lived objects. Arrow's own hash kernels (``is_in``, ``index_in``) answer the same question in
one C++ pass without creating a single Python object, so string columns are handed to them as they
are. Object arrays (small inputs, hand-built frames) are converted once. Integer group helpers
(``first_per_group``) live here too: the identity modules pick winners per group the same way."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


T = TypeVar("T")
U = TypeVar("U")


def alongside(background: Callable[[], T], foreground: Callable[[], U]) -> tuple[T, U]:
    """Both results, computed at once: Arrow's hash and string kernels release the GIL, so two passes
    over a million strings on two cores take the time of one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="identity") as pool:
        later = pool.submit(background)
        now = foreground()
        return later.result(), now


def as_objects(values) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def as_arrow(values, chunked: bool = False) -> pa.Array | None:
    """``values`` as one Arrow large_string array (zero-copy for Arrow-backed pandas strings), or None
    when they are not all strings/missing (the caller then falls back to object hashing).
    ``chunked``: the caller's kernels take a ChunkedArray as well, so a chunked column (a graph read
    from many parquet row groups) is not copied together on every question."""
    if isinstance(values, (pd.Series, pd.Index)):
        arr = getattr(values.array, "_pa_array", None)
        if arr is not None and (pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):
            arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) and not chunked else arr
            return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) and not chunked else values
        return arr.cast(pa.large_string()) if not pa.types.is_large_string(arr.type) else arr
    try:
        return pa.array(as_objects(values), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None


def as_text(values) -> pa.Array:
    """``as_arrow``, or each value's ``str()`` when they are not all strings (hand-built input);
    missing values stay null."""
    arr = as_arrow(values)
    if arr is None:
        arr = pa.array([None if pd.isna(x) else str(x) for x in as_objects(values)], type=pa.large_string())
    return arr


_UNIT_SEPARATOR = pa.scalar("\x1f", pa.large_string())


def joined(*columns) -> pa.Array:
    """The columns' texts joined by a unit separator: one composite key for Arrow's hash kernels
    (``isin``/``index_in`` on several columns without a frame merge). Null where any part is null."""
    return pc.binary_join_element_wise(*(as_text(c) for c in columns), _UNIT_SEPARATOR)


def isin(values, members) -> np.ndarray:
    """Boolean mask: which of ``values`` are in ``members`` (missing values are never members)."""
    n = len(values)
    if not len(members) or not n:
        return np.zeros(n, dtype=bool)
    v, m = as_arrow(values, chunked=True), as_arrow(members, chunked=True)
    if v is not None and m is not None:
        if len(m) > 8 * n:
            # A few values against many members: hash the few, probe with the many, keep the members
            # that hit (as in index_in).
            m = m.filter(pc.is_in(m, value_set=pc.unique(v.drop_null())))
        return pc.is_in(v, value_set=m, skip_nulls=True).to_numpy(zero_copy_only=False)
    return pd.Series(as_objects(values), dtype=object).isin(pd.Series(as_objects(members), dtype=object)).to_numpy()


_P = np.uint64(0x100000001B3)          # FNV prime: the polynomial's base
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)   # splitmix64 finalizer
_SLICE = 250_000


def text_hash(values) -> np.ndarray:
    """A 64-bit hash of each string, computed on Arrow's buffers in a few numpy passes: no Python
    string per value (hashing 1.5M identifier values through Python objects took 1.5 s). Stable
    across runs and versions, not keyed: it only orders values independently of input order and
    never leaves the process. Missing values hash like the empty string."""
    arr = as_arrow(values)
    if arr is None:
        raise TypeError("text_hash needs strings")
    arr = arr.fill_null("") if arr.null_count else arr
    return np.concatenate([np.zeros(0, np.int64)] + [_poly_hash(arr.slice(i, _SLICE))
                                                     for i in range(0, len(arr), _SLICE)])


def _poly_hash(arr: pa.Array) -> np.ndarray:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    data = (np.frombuffer(arr.buffers()[2], dtype=np.uint8)[lo:hi] if hi > lo else np.zeros(0, np.uint8))
    # sum over bytes of (byte + 1) * P^position, wrapping mod 2^64 like any uint64 product
    pos = np.arange(hi - lo, dtype=np.int64) - np.repeat(offsets[:-1] - lo, lengths)
    powers = _powers(int(lengths.max(initial=0)))
    terms = (data.astype(np.uint64) + np.uint64(1)) * powers[pos]
    sums = np.zeros(len(lengths), dtype=np.uint64)
    nonempty = np.flatnonzero(lengths > 0)
    if len(nonempty):
        sums[nonempty] = np.add.reduceat(terms, (offsets[:-1] - lo)[nonempty])
    h = sums ^ (lengths.astype(np.uint64) * _MIX2)
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h.view(np.int64)


def _powers(n: int) -> np.ndarray:
    """P^0 .. P^(n-1) mod 2^64 (array products wrap silently)."""
    return np.concatenate([np.ones(1, np.uint64), np.multiply.accumulate(np.full(max(n - 1, 0), _P, np.uint64))])


def isin_ints(values: np.ndarray, members) -> np.ndarray:
    """``np.isin`` for integer labels by hashing: numpy sorts both arrays (half a second at 2.4M rows).
    Many values against few members (a region of a whole graph) first test a bitmap of the members'
    low bits, so only the few candidates reach the hash lookup (labels are hashes or dense codes:
    their low bits spread evenly)."""
    if not len(members) or not len(values):
        return np.zeros(len(values), dtype=bool)
    values, members = np.asarray(values), np.asarray(members)
    if len(values) > 64 * len(members) and values.dtype.kind in "iu" and members.dtype.kind in "iu":
        mask = (1 << max(16, int(len(members)).bit_length() + 6)) - 1     # at most 1/64 of the bits set
        table = np.zeros(mask + 1, dtype=bool)
        table[members & mask] = True
        cand = np.flatnonzero(table[values & mask])
        out = np.zeros(len(values), dtype=bool)
        out[cand] = pd.Series(values[cand], copy=False).isin(members).to_numpy()
        return out
    return pd.Series(values, copy=False).isin(members).to_numpy()


def first_per_group(groups: np.ndarray, n_groups: int, keys, mask: np.ndarray | None = None) -> np.ndarray:
    """Per group, the row with the smallest ``keys`` (int64 arrays compared in turn, like
    ``np.lexsort`` with the last key first), ties going to the first row; -1 where a group has no
    row (``mask``: rows allowed to win). A group minimum per key instead of sorting every row:
    after the first key only a row or two per group is left."""
    rows = np.arange(len(groups)) if mask is None else np.flatnonzero(mask)
    for key in keys:
        g, k = groups[rows], key[rows]
        best = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, g, k)
        rows = rows[k == best[g]]
    out = np.full(n_groups, len(groups), dtype=np.int64)
    np.minimum.at(out, groups[rows], rows)
    out[out == len(groups)] = -1
    return out


def index_in(values, keys) -> np.ndarray:
    """Position of each of ``values`` in ``keys`` (unique), -1 where absent: a string get_indexer."""
    n = len(values)
    if not len(keys) or not n:
        return np.full(n, -1, dtype=np.int64)
    v, k = as_arrow(values, chunked=True), as_arrow(keys, chunked=True)
    if v is not None and k is not None:
        if len(k) > 8 * n:
            # A few values against many keys: hash the few and probe with the many (building a
            # hash table of a million keys costs more than the whole lookup).
            few = pc.unique(v.drop_null())
            at = pc.index_in(k, value_set=few).fill_null(-1).to_numpy(zero_copy_only=False)
            hit = np.flatnonzero(at >= 0)
            key_pos = np.full(len(few) + 1, -1, dtype=np.int64)
            key_pos[at[hit]] = hit
            pos = pc.index_in(v, value_set=few).fill_null(len(few)).to_numpy(zero_copy_only=False)
            return key_pos[pos.astype(np.int64)]
        pos = pc.index_in(v, value_set=k, skip_nulls=True)
        return pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return pd.Index(as_objects(keys)).get_indexer(as_objects(values)).astype(np.int64)


def str_array(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as pandas' default ``str`` column, without a trip through Python objects."""
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.large_string())
    return pd.arrays.ArrowStringArray(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def rows(df: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``df[mask]`` with a fresh RangeIndex, column by column: Arrow columns go through Arrow's
    ``filter`` (a third of the time of the positional ``take`` pandas uses for a frame mask)."""
    mask = np.asarray(mask, dtype=bool)
    return pd.DataFrame({c: df[c].array[mask] for c in df.columns}, columns=df.columns)
