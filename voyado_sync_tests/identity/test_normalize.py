"""Normalization: emails, phones (vectorized fast path == phonenumbers), blocked values, folding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from voyado_sync.identity import normalize as N
from voyado_sync.identity.explain import hash_values
from voyado_sync.identity.rules import EmailFolding, IdentityRules, ProviderFolding
from voyado_sync.privacy import hash_value

from .helpers import RULES


def norm(rows, rules=RULES) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["id_type", "raw_value", "country"])
    return N.normalize_identifiers(df, rules)


def test_email_trimmed_lowercased_and_invalid_has_reason():
    out = norm([("email", "  Anna.B@Mail.SE ", "SE"), ("email", "anna@", "SE"), ("email", None, "SE")])
    assert out["value"].tolist()[0] == "anna.b@mail.se"
    assert out["status"].astype(str).tolist() == ["ok", "invalid", "invalid"]
    assert out["reason"].astype(str).tolist()[1:] == ["malformed_email", "empty"]


def test_email_folding_is_off_by_default_and_configurable():
    rows = [("email", "a.b+shop@gmail.com", "SE"), ("email", "ab@googlemail.com", "SE")]
    assert norm(rows)["value"].tolist() == ["a.b+shop@gmail.com", "ab@googlemail.com"]
    folding = EmailFolding(enabled=True, providers={
        "gmail.com": ProviderFolding(dots=True, plus=True),
        "googlemail.com": ProviderFolding(dots=True, plus=True, canonical_domain="gmail.com")})
    rules = IdentityRules(**{**RULES.model_dump(), "email_folding": folding.model_dump()})
    assert norm(rows, rules)["value"].tolist() == ["ab@gmail.com", "ab@gmail.com"]
    # Garbage next to folded values stays invalid, with its reason (folding never fails the batch).
    out = norm(rows + [("email", "no-at-sign", "SE"), ("email", " ", "SE")], rules)
    assert out["value"].tolist()[:2] == ["ab@gmail.com", "ab@gmail.com"] and out["value"][2:].isna().all()
    assert out["reason"].astype(str).tolist()[2:] == ["malformed_email", "empty"]


def test_phone_region_comes_from_the_record_country_or_the_default():
    out = norm([("phone", "070-123 45 67", "SE"), ("phone", "412 34 567", "NO"), ("phone", "040 1234567", "FI"),
                ("phone", "0701234567", None), ("phone", "0046 70 123 45 67", "DK")])
    assert out["value"].tolist() == ["+46701234567", "+4741234567", "+358401234567", "+46701234567",
                                     "+46701234567"]


def test_impossible_phone_is_not_an_identifier():
    out = norm([("phone", "123", "SE"), ("phone", "+46 70", "SE"), ("phone", "call me", "SE"), ("phone", "", "SE")])
    assert out["value"].isna().all()
    assert out["status"].astype(str).tolist() == ["invalid"] * 4
    assert all(str(r).startswith("phone_") or r == "empty" for r in out["reason"])


REGIONS = ["SE", "NO", "DK", "FI", "DE", "GB", "US", "FR", "AX", "IT"]
digits = st.text("0123456789", min_size=3, max_size=13)
phone = st.one_of(
    digits.map(lambda d: "+" + d), digits.map(lambda d: "00" + d), digits.map(lambda d: "0" + d), digits,
    st.sampled_from(["+46 70-123 45 67", "(070) 123 45 67", "+44 7911 123456", "07911 123456", "+1 212 555 0123",
                     "+39 06 1234 5678", "+46 (0)70 123 45 67", "0046701234567", "+358 18 12345"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(phone, st.sampled_from(REGIONS)), min_size=1, max_size=30))
def test_vectorized_phone_normalization_equals_phonenumbers(pairs):
    text, empty = N._trimmed(pa.array([p for p, _ in pairs], pa.large_string()))
    region = np.array([r for _, r in pairs], dtype=object)
    value = N._phones(text, empty, region)[0].to_pylist()
    for i, (p, r) in enumerate(pairs):
        try:
            num = phonenumbers.parse(p, r)
            want = (phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_valid_number(num) else None)
        except phonenumbers.NumberParseException:
            want = None
        assert value[i] == want, (p, r)


def test_blocked_values_exact_and_regex():
    out = norm([("phone", "000-000 00", "SE"), ("phone", "+46 700 000 000", "SE"), ("member_number", "N/A", "SE"),
                ("email", "NoReply@shop.se", "SE"), ("email", "kim@example.com", "SE"), ("card_id", "unknown", "SE")])
    assert out["status"].astype(str).tolist() == ["blocked"] * 6
    assert out["reason"].astype(str).tolist() == ["all_zeros", "repeated_digits", "placeholder", "placeholder_email",
                                                  "test_domain", "placeholder"]


def test_each_distinct_value_is_normalized_once(monkeypatch):
    calls = []
    real = N._emails

    def spy(text, empty, rules):
        calls.append(len(text))
        return real(text, empty, rules)

    monkeypatch.setattr(N, "_emails", spy)
    norm([("email", "a@x.se", "SE")] * 1000 + [("email", "b@x.se", "SE")] * 1000)
    assert calls == [2]


def test_batch_hash_equals_privacy_hash_value():
    assert hash_values(["email", "phone"], ["a@x.se", "+46701234567"]).tolist() == [
        hash_value("a@x.se", "email"), hash_value("+46701234567", "phone")]
