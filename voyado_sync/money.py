"""Exact money. Every amount is a `Decimal` built from ``centAmount`` and ``fractionDigits`` (or
``preciseAmount`` for high-precision money); a float never touches an amount."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Mapping

# ISO 4217 minor units for the currencies we expect; Commercetools always sends fractionDigits, this
# table is only used to validate it and for currencies in hand-written files (POS drops).
MINOR_UNITS: dict[str, int] = {
    "SEK": 2, "NOK": 2, "DKK": 2, "EUR": 2, "ISK": 0, "GBP": 2, "USD": 2, "CHF": 2, "PLN": 2,
    "JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3,
}


class MoneyError(ValueError):
    """A money object that cannot be read exactly (missing amount, unknown currency...)."""


def amount(money: Mapping[str, Any] | None) -> Decimal:
    """Decimal value of a Commercetools Money/TypedMoney (``centAmount`` / 10^``fractionDigits``)."""
    if not money:
        raise MoneyError("money is missing")
    try:
        currency = money["currencyCode"]
        if money.get("type") == "highPrecision" and "preciseAmount" in money:
            digits = int(money["fractionDigits"])
            return Decimal(int(money["preciseAmount"])).scaleb(-digits)
        digits = int(money["fractionDigits"]) if "fractionDigits" in money else minor_units(currency)
        return Decimal(int(money["centAmount"])).scaleb(-digits)
    except (KeyError, TypeError, ValueError) as exc:
        raise MoneyError(f"unreadable money {dict(money)!r}: {exc}") from exc


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError as exc:
        raise MoneyError(f"unknown currency {currency!r}") from exc


def quantize(value: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit, half-even (banker's rounding, Commercetools' default)."""
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def to_cents(value: Decimal, currency: str) -> int:
    return int(quantize(value, currency).scaleb(minor_units(currency)))


def is_known_currency(currency: Any) -> bool:
    return isinstance(currency, str) and currency in MINOR_UNITS


def decimal_text(value: Any) -> Decimal:
    """A decimal written as text (POS files: ``"199.00"``, JPY ``"1200"``); `MoneyError` says why it is not one."""
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise MoneyError("is not a decimal number") from None
    if not d.is_finite():
        raise MoneyError("is not a finite number")
    return d
