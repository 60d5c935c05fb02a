"""Stored documents (the ``raw`` JSON text of a partition) decoded for the receipt mapping.

An order is mostly bytes no receipt reads: variant images, prices and attributes, slugs, product types,
line states, addresses but their country. `order_document` decodes it with a typed msgspec decoder that
names only the fields the order mapping reads (`voyado_sync.mapping.order`, `lines`, `receipts`,
`returns`) and skips the rest without building Python objects; what it keeps comes out as `json.loads`
would build it. A document the typed decoder will not take - not an object, a field
of an unexpected shape (the mapping rejects those, and must say why in the same words), a number beyond
float range, NaN, a lone surrogate - is decoded in full by `json.loads`, so the mapping always sees the
values it saw before.

`document` is the same promise for small documents (POS receipts): msgspec's untyped decoder, with
`json.loads` for whatever it refuses.

Only objects the mapping reads by key alone are typed (a line item, its variant, an address): one
whose fields are all unknown decodes empty, so an object the mapping tests for being empty stays whole.
A field the mapping starts to read must be added here, or it reads as missing: the decoder tests map
every document both ways and compare the results.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from msgspec import UNSET, Struct, UnsetType

_ANY: Any = UNSET  # a field decoded as json.loads would decode it (left out of the dict when absent)


class _Variant(Struct):
    sku: Any = _ANY


class _LineItem(Struct):
    id: Any = _ANY
    productId: Any = _ANY
    productKey: Any = _ANY
    name: Any = _ANY
    variant: _Variant | None | UnsetType = UNSET
    price: Any = _ANY
    quantity: Any = _ANY
    totalPrice: Any = _ANY
    taxRate: Any = _ANY
    taxedPrice: Any = _ANY
    discountedPricePerQuantity: Any = _ANY
    priceMode: Any = _ANY
    lineItemMode: Any = _ANY
    distributionChannel: Any = _ANY


class _Address(Struct):
    country: Any = _ANY


class _Order(Struct):
    id: Any = _ANY
    orderNumber: Any = _ANY
    orderState: Any = _ANY
    paymentState: Any = _ANY
    shipmentState: Any = _ANY
    createdAt: Any = _ANY
    completedAt: Any = _ANY
    customerId: Any = _ANY
    customerEmail: Any = _ANY
    locale: Any = _ANY
    country: Any = _ANY
    store: Any = _ANY
    businessUnit: Any = _ANY
    shippingAddress: _Address | None | UnsetType = UNSET
    billingAddress: _Address | None | UnsetType = UNSET
    taxMode: Any = _ANY
    totalPrice: Any = _ANY
    taxedPrice: Any = _ANY
    discountOnTotalPrice: Any = _ANY
    lineItems: list[_LineItem] | None | UnsetType = UNSET
    customLineItems: Any = _ANY
    shippingInfo: Any = _ANY  # whole: the mapping asks whether it is empty, which a struct cannot answer
    shipping: Any = _ANY
    paymentInfo: Any = _ANY
    discountCodes: Any = _ANY
    returnInfo: Any = _ANY


_ORDER = msgspec.json.Decoder(_Order)
_UNTYPED = msgspec.json.Decoder()
_asdict = msgspec.structs.asdict


def _plain(s: Struct) -> dict[str, Any]:
    return {k: v for k, v in _asdict(s).items() if v is not UNSET}


def _one(s: Struct, name: str) -> dict[str, Any]:
    """A struct of one field as its dict (``{}`` when the field was absent)."""
    value = getattr(s, name)
    return {} if value is UNSET else {name: value}


def _line_item(li: _LineItem) -> dict[str, Any]:
    out = _plain(li)
    variant = out.get("variant")
    if variant is not None:
        out["variant"] = _one(variant, "sku")
    return out


def _order(o: _Order) -> dict[str, Any]:
    out = _plain(o)
    lines = out.get("lineItems")
    if lines:
        out["lineItems"] = [_line_item(li) for li in lines]
    for name in ("shippingAddress", "billingAddress"):
        value = out.get(name)
        if value is not None:
            out[name] = _one(value, "country")
    return out


def _full(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def order_document(raw: str | bytes) -> dict[str, Any] | None:
    """The order's fields the receipt mapping reads, or None when the text is not a JSON object."""
    try:
        return _order(_ORDER.decode(raw))
    except (msgspec.DecodeError, TypeError):  # ValidationError is a DecodeError
        doc = _full(raw)
        return doc if isinstance(doc, dict) else None


def document(raw: str | bytes) -> dict[str, Any] | None:
    """A whole JSON object document, or None when the text is not one."""
    try:
        doc = _UNTYPED.decode(raw)
    except (msgspec.DecodeError, TypeError):
        doc = _full(raw)
    return doc if isinstance(doc, dict) else None
