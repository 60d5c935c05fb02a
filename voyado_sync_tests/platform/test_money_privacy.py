from decimal import Decimal

import pytest

from voyado_sync.money import MoneyError, amount, quantize, to_cents
from voyado_sync.privacy import find_pii, hash_value, redact


def test_amount_is_exact_from_cents_and_fraction_digits():
    assert amount({"type": "centPrecision", "currencyCode": "EUR", "centAmount": 1099, "fractionDigits": 2}) == Decimal("10.99")
    assert amount({"type": "centPrecision", "currencyCode": "JPY", "centAmount": 1200, "fractionDigits": 0}) == Decimal("1200")
    assert amount({"type": "highPrecision", "currencyCode": "EUR", "centAmount": 1, "preciseAmount": 123456,
                   "fractionDigits": 7}) == Decimal("0.0123456")
    assert amount({"currencyCode": "SEK", "centAmount": 5}) == Decimal("0.05")  # draft Money: default digits


@pytest.mark.parametrize("bad", [None, {}, {"currencyCode": "XXX", "centAmount": 1}, {"centAmount": 1}])
def test_unreadable_money_is_a_typed_error(bad):
    with pytest.raises(MoneyError):
        amount(bad)


def test_rounding_is_half_even_per_currency():
    assert quantize(Decimal("0.125"), "EUR") == Decimal("0.12")
    assert quantize(Decimal("0.135"), "EUR") == Decimal("0.14")
    assert to_cents(Decimal("12.5"), "JPY") == 12


def test_redact_hashes_pii_and_drops_secrets():
    payload = {"email": "Anna@Example.se", "mobilePhone": "+46701234567", "apikey": "k",
               "contact": {"matchKey": "anna@example.se", "matchKeyType": "Email"},
               "note": "call +46 70 123 45 67 or anna@example.se", "amount": 10}
    out = redact(payload)
    text = repr(out)
    assert "anna@example.se" not in text.lower() and "46701234567" not in text and "'k'" not in text
    assert out["email"] == hash_value("anna@example.se", "email")
    assert out["amount"] == 10
    assert find_pii(text) == []


def test_identifier_hashes_are_keyed_by_the_environment(monkeypatch):
    default = hash_value("anna@example.se", "email")
    assert default.startswith("h:") and len(default) == 18 and default == hash_value("anna@example.se", "email")
    assert hash_value("anna@example.se", "phone") != default  # the kind namespaces the value
    monkeypatch.setenv("VOYADO_SYNC_HASH_KEY", "k" * 100)  # longer than a BLAKE2b key may be
    long_key = hash_value("anna@example.se", "email")
    monkeypatch.setenv("VOYADO_SYNC_HASH_KEY", "another secret")
    assert len({default, long_key, hash_value("anna@example.se", "email")}) == 3
