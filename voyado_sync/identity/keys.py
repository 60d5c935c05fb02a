"""Membership tests on record keys and identifier values that stay fast on Arrow-backed strings.

pandas' ``isin`` on an Arrow string column converts the candidate set element by element in Python;
with a million record keys that costs seconds. Hashing object arrays is a single C pass."""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_objects(values) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def isin(values, members) -> np.ndarray:
    """Boolean mask: which of ``values`` are in ``members``."""
    m = as_objects(members)
    v = as_objects(values)
    if not len(m) or not len(v):
        return np.zeros(len(v), dtype=bool)
    return pd.Series(v, dtype=object).isin(pd.Series(m, dtype=object)).to_numpy()
