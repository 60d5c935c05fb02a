"""What a mapping call needs besides the document (`MappingContext`) and what it gives back
(`MappingResult`): a receipt payload, a skip (not a sale yet: not an error) or a rejection with a
precise reason (a dead letter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Literal

from voyado_sync.mapping.config import MappingConfig, cached_config

Status = Literal["receipt", "skipped", "excluded", "rejected"]
Kind = Literal["purchase", "return", "pos"]


@dataclass(frozen=True)
class MappingContext:
    """Configuration plus read-only lookups built by the Dagster shell from other datasets.

    - ``article_groups``: SKU -> article group (wins over the product lookup);
    - ``product_categories``: Commercetools product id -> primary category path ("Women > Tops > Shirts"),
      see `voyado_sync.mapping.categories`;
    - ``contact_of_record``: identity record key (``ct_order:<id>``, ``pos_receipt:<id>``) -> the Voyado
      contact of the shopper's profile (chosen by identity, or created/located before the receipts go);
    - ``contact_ids``: Commercetools customer id -> Voyado contact id (identity profiles);
    - ``email_contact_ids``: normalized (stripped, lower-case) email -> Voyado contact id (guests);
    - ``discount_names``: cart/product discount id -> display name;
    - ``locale``: default locale when neither the order nor its store has one.
    """

    config: MappingConfig = field(default_factory=cached_config)
    article_groups: Mapping[str, str] = field(default_factory=dict)
    product_categories: Mapping[str, str] = field(default_factory=dict)
    contact_of_record: Mapping[str, str] = field(default_factory=dict)
    contact_ids: Mapping[str, str] = field(default_factory=dict)
    email_contact_ids: Mapping[str, str] = field(default_factory=dict)
    discount_names: Mapping[str, str] = field(default_factory=dict)
    locale: str | None = None


@dataclass(slots=True)
class MappingResult:
    """One outcome per source document (per return item for returns).

    ``payload`` is the wire dict for ``POST /api/v3/receipts`` (amounts as `Decimal`; serialize with
    `voyado_sync.mapping.models.dumps`) when ``status == "receipt"``; ``reason`` explains a skip or a
    rejection and never contains an email or phone number."""

    source_id: str
    kind: Kind
    status: Status
    unique_receipt_id: str | None = None
    payload: dict[str, Any] | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "receipt"

    def receipt(self):  # -> Receipt (import kept lazy: the hot path never builds models)
        from voyado_sync.mapping.models import Receipt

        if self.payload is None:
            raise ValueError(f"{self.source_id}: no receipt ({self.status}: {self.reason})")
        return Receipt.from_payload(self.payload)


NO_CONTACT = ("no Voyado contact for the shopper's profile: it could not be created or located (see the "
              "voyado/contacts_sync dead letters)")


class Reject(Exception):
    """Raised inside a mapper for a precise, expected rejection; never escapes the public functions.
    ``status``: ``rejected`` (a dead letter), ``skipped`` (not a sale yet: re-evaluated when it changes)
    or ``excluded`` (a sale Voyado must not get by policy, e.g. no identifiable shopper: reported with its
    money, not a difference)."""

    def __init__(self, reason: str, *, status: Status = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
