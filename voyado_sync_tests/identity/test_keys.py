"""The Arrow-backed lookups agree with pandas' own isin/get_indexer on Arrow and object input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from voyado_sync.identity.keys import index_in, isin, isin_ints, rows, text_hash


def test_isin_and_index_in_match_pandas_for_arrow_and_object_input():
    values = pd.Series(["ct_order:1", "pos_receipt:9", None, "ct_order:1", "voyado_contact:x"])
    keys = pd.Series(["voyado_contact:x", "ct_order:1", "ct_customer:2"])
    for v in (values, values.astype(object), values.to_numpy(dtype=object)):
        for k in (keys, keys.astype(object), list(keys)):
            assert isin(v, k).tolist() == [True, False, False, True, True]
            assert index_in(v, k).tolist() == pd.Index(keys).get_indexer(pd.Series(values)).tolist()
    assert index_in(values, []).tolist() == [-1] * 5 and not isin(values, []).any()


def test_rows_keeps_dtypes_and_selects_like_a_mask():
    df = pd.DataFrame({"k": ["a", "b", "c"], "n": [1, 2, 3],
                       "t": pd.to_datetime(["2025-01-01", None, "2025-01-03"], utc=True),
                       "c": pd.Categorical(["x", "y", "x"])})
    mask = np.array([True, False, True])
    got = rows(df, mask)
    pd.testing.assert_frame_equal(got, df[mask].reset_index(drop=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 60)), max_size=12), st.integers(1, 200))
def test_index_in_with_few_values_against_many_keys_matches_get_indexer(picks, n_keys):
    """Few values against many keys takes the probe-with-the-keys path; the answer is the same."""
    keys = pd.Series([f"ct_order:{i}" for i in range(n_keys)], dtype="str")
    values = pd.Series([None if p is None else f"ct_order:{p}" for p in picks], dtype=object)
    expected = pd.Index(keys.to_numpy(dtype=object)).get_indexer(values.to_numpy(dtype=object)).tolist()
    assert index_in(values, keys).tolist() == expected
    assert index_in(values.astype("str"), keys).tolist() == expected


def test_isin_ints_matches_numpy():
    rng = np.random.default_rng(3)
    labels = rng.integers(-(2**62), 2**62, 5000)
    members = np.concatenate([rng.choice(labels, 40), rng.integers(0, 10, 5)])
    assert (isin_ints(labels, members) == np.isin(labels, members)).all()
    # Members sharing low bits with non-members (the bitmap's false positives are filtered out), and
    # as many members as values (no bitmap).
    decoys = labels[:40] + (1 << 20)
    assert (isin_ints(labels, decoys) == np.isin(labels, decoys)).all() and not isin_ints(labels, decoys).any()
    many = rng.choice(labels, 3000)
    assert (isin_ints(labels, many) == np.isin(labels, many)).all()
    assert not isin_ints(labels, []).any() and isin_ints(np.array([], np.int64), members).shape == (0,)


def _text_hash_by_hand(text: str) -> int:
    """The definition of keys.text_hash, one byte at a time."""
    m = 2**64
    acc, power = 0, 1
    data = text.encode()
    for byte in data:
        acc, power = (acc + (byte + 1) * power) % m, (power * 0x100000001B3) % m
    h = acc ^ (len(data) * 0x94D049BB133111EB % m)
    h ^= h >> 30
    h = h * 0xBF58476D1CE4E5B9 % m
    h ^= h >> 27
    h = h * 0x94D049BB133111EB % m
    h ^= h >> 31
    return h - m if h >= 2**63 else h


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30), st.integers(0, 5))
def test_text_hash_is_the_polynomial_hash_on_any_slice(texts, start):
    arr = pa.array(texts, type=pa.large_string()).slice(min(start, len(texts)))  # Arrow offsets not at 0
    expected = [_text_hash_by_hand(t or "") for t in texts[min(start, len(texts)):]]
    assert text_hash(arr).tolist() == expected
    assert text_hash(pd.Series(texts[min(start, len(texts)):], dtype=object)).tolist() == expected
