"""Normalization output shape: one value per row, broadcast from each distinct raw value."""

from __future__ import annotations

import pandas as pd

from voyado_sync.identity.normalize import normalize_identifiers

from .helpers import RULES


def test_raw_forms_of_one_value_share_its_outcome_and_the_value_column_is_text():
    rows = [("phone", "+46 700 000 000", "SE"), ("phone", "0700000000", "SE"), ("phone", "0046700000000", "SE"),
            ("phone", "070-123 45 67", "SE"), ("phone", "+46701234567", "SE"), ("email", " A@Mail.se", "SE"),
            ("member_number", "m 1", "SE"), ("email", "", "SE"), ("card_id", None, "SE")] * 3
    out = normalize_identifiers(pd.DataFrame(rows, columns=["id_type", "raw_value", "country"]), RULES)
    assert out["status"].astype(str).tolist()[:9] == ["blocked"] * 3 + ["ok"] * 4 + ["invalid"] * 2
    assert out["reason"].astype(str).tolist()[:3] == ["repeated_digits"] * 3
    values = out["value"].tolist()[:9]
    assert values[3:7] == ["+46701234567", "+46701234567", "a@mail.se", "M1"]
    assert all(pd.isna(v) for v in values[:3] + values[7:])
    assert out["value"].tolist() == values * 3
    assert pd.api.types.is_string_dtype(out["value"])
