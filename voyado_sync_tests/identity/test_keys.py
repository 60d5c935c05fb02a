"""The Arrow-backed lookups agree with pandas' own isin/get_indexer on Arrow and object input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from voyado_sync.identity.keys import index_in, isin, rows


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
