"""Generator configuration: counts, noise shares and the time window, all in one frozen value.

Every random choice the generator makes is drawn from a named stream derived from ``seed`` (see
`GeneratorConfig.rng`), so changing the number of orders does not reshuffle the persons, and the same
config always produces byte-identical output. The wall clock is read only to default ``anchor_date``."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any


def _yesterday_utc() -> date:
    return (datetime.now(timezone.utc) - timedelta(days=1)).date()


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 42
    persons: int = 300
    orders: int = 800
    days: int = 3
    anchor_date: date | None = None  # last day of data (UTC); default: yesterday UTC
    pos_receipts: int = 200
    carts: int | None = None  # default: orders // 8
    products: int = 48
    # shares of orders
    jpy_share: float = 0.05
    guest_share: float = 0.25
    return_share: float = 0.10
    b2b_share: float = 0.04          # EUR orders with net prices (taxRate.includedInPrice = false)
    multi_payment_share: float = 0.15  # card + gift card
    cancel_share: float = 0.04
    # shares of persons
    store_only_share: float = 0.15
    guest_only_share: float = 0.12
    omni_share: float = 0.40         # of registered persons: also members shopping in stores
    two_account_share: float = 0.03
    household_share: float = 0.10    # persons living in a multi-person household sharing a phone
    recycled_phone_share: float = 0.02
    garbage_share: float = 0.04      # records carrying a garbage identifier somewhere
    voyado_share: float = 0.85       # registered persons that exist in Voyado
    voyado_duplicate_share: float = 0.03
    anonymous_pos_share: float = 0.15
    pos_return_share: float = 0.05
    pos_receipts_per_file: int = 20

    def __post_init__(self) -> None:
        anchor = self.anchor_date
        if anchor is None:
            anchor = _yesterday_utc()
        elif isinstance(anchor, str):
            anchor = date.fromisoformat(anchor)
        elif isinstance(anchor, datetime):
            anchor = anchor.date()
        object.__setattr__(self, "anchor_date", anchor)
        for name in ("persons", "orders", "pos_receipts", "products", "days", "pos_receipts_per_file"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"GeneratorConfig.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.days < 1:
            raise ValueError("GeneratorConfig.days must be >= 1")
        if self.persons < 10:
            raise ValueError("GeneratorConfig.persons must be >= 10 (the noise scenarios need a few people)")
        if self.products < 4:
            raise ValueError("GeneratorConfig.products must be >= 4")
        if self.pos_receipts_per_file < 1:
            raise ValueError("GeneratorConfig.pos_receipts_per_file must be >= 1")
        for f in dataclasses.fields(self):
            if f.name.endswith("_share"):
                v = getattr(self, f.name)
                if not 0.0 <= float(v) <= 1.0:
                    raise ValueError(f"GeneratorConfig.{f.name} must be within [0, 1], got {v!r}")

    @property
    def cart_count(self) -> int:
        return self.orders // 8 if self.carts is None else self.carts

    @property
    def window_start(self) -> datetime:
        """First instant of the data window (UTC, inclusive)."""
        first = self.anchor_date - timedelta(days=self.days - 1)
        return datetime.combine(first, time(0), tzinfo=timezone.utc)

    @property
    def window_end(self) -> datetime:
        """Last millisecond of the data window (UTC, inclusive)."""
        return datetime.combine(self.anchor_date, time(23, 59, 59, 999000), tzinfo=timezone.utc)

    def rng(self, stream: str) -> random.Random:
        """An independent, reproducible random stream (str seeds hash with SHA-512: stable across runs)."""
        return random.Random(f"{self.seed}:{stream}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["anchor_date"] = self.anchor_date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GeneratorConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
