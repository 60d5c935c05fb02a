"""Building blocks shared by the generator modules: seeded ids and timestamps, Commercetools money,
markets (country → currency, locale, store, time zone) and VAT tables."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from voyado_sync.money import MINOR_UNITS, minor_units

LOCALES = ("en", "sv-SE", "nb-NO", "da-DK", "fi-FI", "de-DE")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def new_id(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (never from the OS), formatted like the API's ids."""
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class Clock:
    """Millisecond instants inside the config window, spelled the way the API spells them."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start_ms = int((start - EPOCH).total_seconds() * 1000)
        self.end_ms = int((end - EPOCH).total_seconds() * 1000)
        self._day_prefix: dict[int, str] = {}

    def random_ms(self, rng: random.Random, lo: int | None = None, hi: int | None = None) -> int:
        lo = self.start_ms if lo is None else max(lo, self.start_ms)
        hi = self.end_ms if hi is None else min(hi, self.end_ms)
        return lo if hi <= lo else rng.randint(lo, hi)

    def later(self, rng: random.Random, ms: int, max_delta_ms: int) -> int:
        """An instant at or after ``ms`` but not past the window end."""
        return min(self.end_ms, ms + rng.randint(0, max_delta_ms))

    def iso(self, ms: int) -> str:
        day, rest = divmod(ms, 86_400_000)
        prefix = self._day_prefix.get(day)
        if prefix is None:
            prefix = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
            self._day_prefix[day] = prefix
        s, milli = divmod(rest, 1000)
        h, s = divmod(s, 3600)
        m, s = divmod(s, 60)
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"

    @staticmethod
    def local_iso(ms: int, tz: str) -> str:
        """Local wall time with offset (what POS tills and Voyado use), second precision."""
        return (EPOCH + timedelta(milliseconds=ms)).astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


# --- money -----------------------------------------------------------------------------------------
_DIGITS: dict[str, int] = dict(MINOR_UNITS)


def digits(currency: str) -> int:
    d = _DIGITS.get(currency)
    if d is None:
        d = _DIGITS[currency] = minor_units(currency)
    return d


def money(cents: int, currency: str, _d: dict[str, int] = _DIGITS) -> dict:
    """CentPrecisionMoney as the API returns it."""
    return {"type": "centPrecision", "currencyCode": currency, "centAmount": cents,
            "fractionDigits": _d[currency] if currency in _d else digits(currency)}


def half_even(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def major(cents: int, currency: str) -> str:
    """Decimal string in major units: 29900 SEK → "299.00", 1200 JPY → "1200"."""
    return str(Decimal(cents).scaleb(-digits(currency)))


# --- markets ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Market:
    country: str
    currency: str
    locale: str
    store: str            # web store key
    tz: str
    web_channel: str      # ProductDistribution channel of the web store
    warehouse: str        # InventorySupply channel that ships web orders
    calling_code: str


MARKETS: dict[str, Market] = {
    "SE": Market("SE", "SEK", "sv-SE", "web-se", "Europe/Stockholm", "WEB-SE", "WH-NORDIC", "46"),
    "NO": Market("NO", "NOK", "nb-NO", "web-no", "Europe/Oslo", "WEB-NO", "WH-NORDIC", "47"),
    "DK": Market("DK", "DKK", "da-DK", "web-dk", "Europe/Copenhagen", "WEB-DK", "WH-NORDIC", "45"),
    "FI": Market("FI", "EUR", "fi-FI", "web-fi", "Europe/Helsinki", "WEB-FI", "WH-NORDIC", "358"),
    "DE": Market("DE", "EUR", "de-DE", "web-de", "Europe/Berlin", "WEB-DE", "WH-DE", "49"),
    # Orders shipped to Japan go through the Swedish webshop, priced in yen (fractionDigits 0).
    "JP": Market("JP", "JPY", "en", "web-se", "Asia/Tokyo", "WEB-SE", "WH-NORDIC", "81"),
}
HOME_COUNTRIES = ("SE", "NO", "DK", "FI", "DE")
COUNTRY_WEIGHTS = (0.42, 0.18, 0.14, 0.12, 0.14)

# Physical stores (key = Commercetools store key = channel key = POS store_id); matches data/stores.csv.
PHYSICAL_STORES: dict[str, tuple[str, str, str, str]] = {
    # key: (country, name, city, street)
    "STO-SE-01": ("SE", "Stockholm Drottninggatan", "Stockholm", "Drottninggatan 52"),
    "STO-SE-02": ("SE", "Göteborg Nordstan", "Göteborg", "Nordstadstorget 6"),
    "STO-SE-03": ("SE", "Malmö Triangeln", "Malmö", "Södra Förstadsgatan 41"),
    "STO-NO-01": ("NO", "Oslo Karl Johan", "Oslo", "Karl Johans gate 18"),
    "STO-DK-01": ("DK", "København Strøget", "København", "Amagertorv 14"),
    "STO-FI-01": ("FI", "Helsinki Aleksanterinkatu", "Helsinki", "Aleksanterinkatu 21"),
    "STO-DE-01": ("DE", "Berlin Mitte", "Berlin", "Rosenthaler Straße 40"),
}
STORES_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    c: tuple(k for k, v in PHYSICAL_STORES.items() if v[0] == c) for c in HOME_COUNTRIES
}

# --- VAT -------------------------------------------------------------------------------------------
# (country, tax category) → rate. Finland's standard rate is 25.5 % since 2024-09-01; Norway zero-rates books.
TAX_RATES: dict[tuple[str, str], Decimal] = {
    ("SE", "standard"): Decimal("0.25"), ("SE", "food"): Decimal("0.12"), ("SE", "books"): Decimal("0.06"),
    ("NO", "standard"): Decimal("0.25"), ("NO", "food"): Decimal("0.15"), ("NO", "books"): Decimal("0"),
    ("DK", "standard"): Decimal("0.25"), ("DK", "food"): Decimal("0.25"), ("DK", "books"): Decimal("0.25"),
    ("FI", "standard"): Decimal("0.255"), ("FI", "food"): Decimal("0.14"), ("FI", "books"): Decimal("0.14"),
    ("DE", "standard"): Decimal("0.19"), ("DE", "food"): Decimal("0.07"), ("DE", "books"): Decimal("0.07"),
    ("JP", "standard"): Decimal("0.10"), ("JP", "food"): Decimal("0.08"), ("JP", "books"): Decimal("0.10"),
}
TAX_CATEGORIES = ("standard", "food", "books")


def tax_name(country: str, category: str) -> str:
    rate = TAX_RATES[(country, category)]
    return f"{country} {category} {format_rate_percent(rate)}%"


def format_rate_percent(rate: Decimal) -> str:
    """0.25 → "25", 0.255 → "25.5", 0 → "0" (the POS tax_rate spelling)."""
    s = format((rate * 100).normalize(), "f")
    return s


def choose(rng: random.Random, population, cum_weights):
    """``rng.choices(population, cum_weights=cum_weights)[0]`` (same draw, same result), minus the overhead."""
    return population[bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(population) - 1)]


def pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]
