"""The Voyado Engage receipt (``POST /api/v3/receipts``, reference §3) as pydantic v2 models, plus the
exact JSON codec for receipt payloads.

The mapping hot path builds plain payload dicts (field names as on the wire, amounts as `Decimal`
quantized to the currency's minor unit); these models are the typed contract: ``Receipt.from_payload``
validates such a dict, ``Receipt.to_payload`` gives it back. Amounts are never floats:

- `dumps` writes a `Decimal` as a JSON *number* with exactly the digits it carries, so a SEK amount is
  ``450.00`` and a JPY amount ``1200`` (the standard library cannot; send with ``content=dumps(p)``).
- `loads` reads numbers back as `Decimal` (``parse_float=Decimal``), so a stored payload validates
  to the cent.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator, model_validator

from voyado_sync import jsonutil
from voyado_sync.money import is_known_currency, minor_units

ItemType = Literal["PURCHASE", "RETURN", "ADJUSTMENT"]
# The spelling of the Engage OpenAPI enum (reference §3): the server's own schema, so it is accepted whether
# or not matching is case-insensitive.
MATCH_KEY_TYPES = ("ContactId", "MemberNumber", "SocialSecurityNumber", "MobilePhone", "ExternalId", "Email",
                   "CardId")


def _non_empty(v: str) -> str:
    if not v.strip():
        raise ValueError("must not be empty")
    return v


Text = Annotated[str, AfterValidator(_non_empty)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtraData(_Model):
    name: str
    value: str


class Discount(_Model):
    value: Decimal
    type: str | None = None
    description: str | None = None

    @field_validator("value")
    @classmethod
    def _not_positive(cls, v: Decimal) -> Decimal:
        if v > 0:
            raise ValueError("a discount value is negative (reference §3 example)")
        return v


class ReceiptContact(_Model):
    matchKey: Text
    matchKeyType: str
    contactType: str | None = None

    @field_validator("matchKeyType")
    @classmethod
    def _known_type(cls, v: str) -> str:
        if v not in MATCH_KEY_TYPES:
            raise ValueError(f"matchKeyType {v!r} is not one of {', '.join(MATCH_KEY_TYPES)}")
        return v


class ReceiptItem(_Model):
    type: ItemType
    sku: str
    quantity: int
    packQuantity: Decimal | None = None
    grossPaidPrice: Decimal
    taxAmount: Decimal
    taxPercent: Decimal
    articleNumber: str
    articleName: str
    articleGroup: str | None = None
    marginPercent: Decimal | None = None
    awardsBonus: bool | None = None
    discounts: list[Discount] | None = None
    extraData: list[ExtraData] | None = None

    @model_validator(mode="after")
    def _signs(self) -> "ReceiptItem":
        if self.type == "RETURN" and self.quantity >= 0:
            raise ValueError("a RETURN item has a negative quantity")
        if self.type == "PURCHASE" and self.quantity <= 0:
            raise ValueError("a PURCHASE item has a positive quantity")
        if not (Decimal(0) <= self.taxPercent <= Decimal(100)):
            raise ValueError(f"taxPercent {self.taxPercent} is outside 0..100")
        return self


class ReceiptPaymentMethod(_Model):
    type: str
    value: Decimal
    description: str | None = None
    extraData: list[ExtraData] | None = None


class ReceiptTaxDetail(_Model):
    description: str | None = None
    value: Decimal | None = None
    percent: Decimal | None = None
    totalIncludingTax: Decimal | None = None
    totalExcludingTax: Decimal | None = None


class UsedBonusCheck(_Model):
    checkNumber: str


class UsedPromotion(_Model):
    promotionId: str
    couponId: str | None = None


class Receipt(_Model):
    contact: ReceiptContact
    uniqueReceiptId: Text
    receiptNumber: Text
    createdDate: str
    storeExternalId: Text
    currency: str
    exchangeRateToGroupCurrency: Decimal | None = None
    totalGrossPrice: Decimal
    taxDetails: list[ReceiptTaxDetail] | None = None
    paymentMethods: list[ReceiptPaymentMethod]
    items: list[ReceiptItem]
    usedBonusChecks: list[UsedBonusCheck] | None = None
    usedPromotions: list[UsedPromotion] | None = None
    extraData: list[ExtraData] | None = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not is_known_currency(v):
            raise ValueError(f"unknown currency {v!r}")
        return v

    @field_validator("createdDate")
    @classmethod
    def _local_time_with_offset(cls, v: str) -> str:
        try:
            parsed = datetime.fromisoformat(v)
        except ValueError as exc:
            raise ValueError(f"createdDate {v!r} is not ISO-8601") from exc
        if parsed.utcoffset() is None:
            raise ValueError(f"createdDate {v!r} has no UTC offset (Voyado wants local time + offset)")
        return v

    @field_validator("items")
    @classmethod
    def _has_items(cls, v: list[ReceiptItem]) -> list[ReceiptItem]:
        if not v:
            raise ValueError("a receipt has at least one item")
        return v

    @model_validator(mode="after")
    def _money_in_minor_units(self) -> "Receipt":
        digits = minor_units(self.currency)
        for where, value in self._money():
            if value is not None and -value.as_tuple().exponent > digits:  # type: ignore[operator]
                raise ValueError(f"{where} {value} has more decimals than {self.currency} allows ({digits})")
        return self

    def _money(self) -> list[tuple[str, Decimal | None]]:
        out: list[tuple[str, Decimal | None]] = [("totalGrossPrice", self.totalGrossPrice)]
        for i, it in enumerate(self.items):
            out += [(f"items[{i}].grossPaidPrice", it.grossPaidPrice), (f"items[{i}].taxAmount", it.taxAmount)]
            out += [(f"items[{i}].discounts[{j}].value", d.value) for j, d in enumerate(it.discounts or ())]
        out += [(f"paymentMethods[{i}].value", p.value) for i, p in enumerate(self.paymentMethods)]
        for i, t in enumerate(self.taxDetails or ()):
            out += [(f"taxDetails[{i}].value", t.value), (f"taxDetails[{i}].totalIncludingTax", t.totalIncludingTax),
                    (f"taxDetails[{i}].totalExcludingTax", t.totalExcludingTax)]
        return out

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "Receipt":
        return cls.model_validate(payload)

    def to_payload(self) -> dict[str, Any]:
        """Wire dict: unset optional fields left out; amounts quantized to the currency's minor unit
        (exact: validation already refused extra decimals)."""
        payload = self.model_dump(exclude_none=True)
        exp = Decimal(1).scaleb(-minor_units(self.currency))
        q = lambda v: v.quantize(exp)  # noqa: E731
        payload["totalGrossPrice"] = q(payload["totalGrossPrice"])
        for it in payload["items"]:
            it["grossPaidPrice"], it["taxAmount"] = q(it["grossPaidPrice"]), q(it["taxAmount"])
            it["taxPercent"] = percent(it["taxPercent"])
            for d in it.get("discounts", ()):
                d["value"] = q(d["value"])
        for p in payload["paymentMethods"]:
            p["value"] = q(p["value"])
        for t in payload.get("taxDetails", ()):
            for k in ("value", "totalIncludingTax", "totalExcludingTax"):
                if k in t:
                    t[k] = q(t[k])
            if "percent" in t:
                t["percent"] = percent(t["percent"])
        return payload

    def to_json(self) -> str:
        return dumps(self.to_payload())


_CENT = Decimal("0.01")


def percent(value: Decimal) -> Decimal:
    """A tax percent with at least two decimals (25 -> 25.00, 7.125 stays 7.125)."""
    return value.quantize(_CENT) if value.as_tuple().exponent > -2 else value  # type: ignore[operator]


def dumps(payload: Any) -> str:
    """Compact JSON with `Decimal` amounts as numbers carrying exactly their digits (``450.00``); a float
    in a receipt payload is a bug upstream and raises."""
    return jsonutil.dumps(payload, allow_float=False)


loads = jsonutil.loads  # non-integer numbers come back as Decimal
