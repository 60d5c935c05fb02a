"""A tiny factory of Commercetools documents in the real API shape (commercetools-api.md §4.3-4.4),
computing totals the way Commercetools does (line-level tax rounding, half-even), so tests state only
what matters to them. Used by the mapping tests, the property tests and benchmarks/mapping.py."""

from __future__ import annotations

import itertools
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from voyado_sync.money import minor_units

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):08d}-0000-4000-8000-000000000000"


def money(cent: int, currency: str = "SEK", digits: int | None = None, precise: int | None = None) -> dict:
    d = minor_units(currency) if digits is None else digits
    if precise is not None:
        return {"type": "highPrecision", "currencyCode": currency, "centAmount": cent, "fractionDigits": d,
                "preciseAmount": precise}
    return {"type": "centPrecision", "currencyCode": currency, "centAmount": cent, "fractionDigits": d}


def _round(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_HALF_EVEN))


def taxed(total: int, rate: float, included: bool, currency: str) -> tuple[int, int, dict]:
    """(gross, net, taxedPrice) of a line total under Commercetools' line-level rounding."""
    r = Decimal(str(rate))
    if included:
        gross = total
        net = _round(Decimal(gross) / (1 + r))
    else:
        net = total
        gross = net + _round(Decimal(net) * r)
    return gross, net, {"totalNet": money(net, currency), "totalGross": money(gross, currency),
                        "totalTax": money(gross - net, currency),
                        "taxPortions": [{"rate": rate, "amount": money(gross - net, currency), "name": f"VAT {rate}"}]}


def tax_rate(rate: float, included: bool, country: str = "SE") -> dict:
    return {"name": f"VAT {rate}", "amount": rate, "includedInPrice": included, "country": country,
            "subRates": []}


def line(sku: str, qty: int, unit: int, *, rate: float = 0.25, included: bool = True, currency: str = "SEK",
         cart_discounts: list[tuple[str, int]] = (), product_discount: tuple[str, int] | None = None,
         product_key: str | None = None, name: dict | None = None, gift: bool = False,
         unit_precise: tuple[int, int] | None = None, product_id: str | None = None) -> dict:
    """A line item; ``cart_discounts`` = [(discount id, amount per unit)], ``product_discount`` =
    (discount id, amount per unit) taken off ``price.discounted``; ``unit_precise`` = (preciseAmount,
    fractionDigits) for a high-precision unit price."""
    price: dict[str, Any] = {"id": _id("price"), "value": money(unit, currency) if unit_precise is None else
                             {"type": "highPrecision", "currencyCode": currency, "centAmount": unit,
                              "fractionDigits": unit_precise[1], "preciseAmount": unit_precise[0]}}
    base = unit
    if product_discount:
        base = unit - product_discount[1]
        price["discounted"] = {"value": money(base, currency),
                               "discount": {"typeId": "product-discount", "id": product_discount[0]}}
    dppq = []
    if cart_discounts:
        per_unit = base - sum(a for _, a in cart_discounts)
        dppq = [{"quantity": qty, "discountedPrice": {
            "value": money(per_unit, currency),
            "includedDiscounts": [{"discount": {"typeId": "cart-discount", "id": i}, "discountedAmount": money(a, currency)}
                                  for i, a in cart_discounts]}}]
        total = per_unit * qty
    elif unit_precise is not None:
        total = _round(Decimal(unit_precise[0]).scaleb(minor_units(currency) - unit_precise[1]) * qty)
    else:
        total = base * qty
    gross, net, tp = taxed(total, rate, included, currency)
    return {
        "id": _id("line"), "productId": product_id or _id("product"), "productKey": product_key,
        "name": name or {"en": f"Product {sku}", "sv-SE": f"Produkt {sku}"},
        "productType": {"typeId": "product-type", "id": _id("pt")},
        "variant": {"id": 1, "sku": sku, "prices": [price], "attributes": [], "images": []},
        "price": price, "quantity": qty, "discountedPricePerQuantity": dppq,
        "taxRate": tax_rate(rate, included), "totalPrice": money(total, currency), "taxedPrice": tp,
        "state": [], "priceMode": "Platform", "lineItemMode": "GiftLineItem" if gift else "Standard",
        "perMethodTaxRate": [], "taxedPricePortions": [],
    }


def custom_line(slug: str, qty: int, unit: int, *, rate: float = 0.25, included: bool = True,
                currency: str = "SEK", key: str | None = None) -> dict:
    total = unit * qty
    gross, net, tp = taxed(total, rate, included, currency)
    return {"id": _id("custom"), "key": key, "name": {"en": f"Custom {slug}"}, "money": money(unit, currency),
            "totalPrice": money(total, currency), "slug": slug, "quantity": qty, "state": [],
            "taxRate": tax_rate(rate, included), "taxedPrice": tp, "taxedPricePortions": [],
            "perMethodTaxRate": [], "discountedPricePerQuantity": [], "priceMode": "Standard"}


def shipping(price: int, *, rate: float = 0.25, included: bool = True, currency: str = "SEK",
             name: str = "Standard") -> dict:
    gross, net, tp = taxed(price, rate, included, currency)
    return {"shippingMethodName": name, "price": money(price, currency),
            "shippingRate": {"price": money(price, currency), "tiers": []}, "taxRate": tax_rate(rate, included),
            "taxedPrice": tp, "shippingMethodState": "MatchesCart", "deliveries": []}


def payment(cent: int, currency: str = "SEK", *, method: str = "card", interface: str = "adyen",
            state: str = "Success", kind: str = "Charge", interface_id: str | None = None,
            key: str | None = None) -> dict:
    return {"id": _id("payment"), "version": 1, "key": key, "interfaceId": interface_id,
            "amountPlanned": money(cent, currency),
            "paymentMethodInfo": {"paymentInterface": interface, "method": method, "name": {"en": method.title()}},
            "paymentStatus": {}, "transactions": [{"id": _id("tx"), "timestamp": "2026-11-26T14:05:00.000Z",
                                                   "type": kind, "amount": money(cent, currency), "state": state}],
            "interfaceInteractions": [], "createdAt": "2026-11-26T14:05:00.000Z",
            "lastModifiedAt": "2026-11-26T14:05:00.000Z"}


def order(lines: list[dict], *, custom: list[dict] = (), ship: dict | None = None, currency: str = "SEK",
          store: str | None = "web-se", payments: list[dict] | None = None, customer_id: str | None = "cust-1",
          email: str | None = "anna@example.com", created: str = "2026-11-26T14:05:00.000Z",
          locale: str | None = "sv-SE", country: str | None = "SE", order_state: str = "Confirmed",
          payment_state: str | None = "Paid", shipment_state: str | None = "Shipped",
          discount_codes: list[dict] = (), return_info: list[dict] = (), order_id: str | None = None) -> dict:
    """An order whose totals and tax portions are the sums of its lines; by default paid by one card charge."""
    every = list(lines) + list(custom) + ([ship] if ship else [])
    gross = sum(x["taxedPrice"]["totalGross"]["centAmount"] for x in every)
    net = sum(x["taxedPrice"]["totalNet"]["centAmount"] for x in every)
    portions: dict[float, int] = {}
    for x in every:
        r = x["taxRate"]["amount"]
        portions[r] = portions.get(r, 0) + x["taxedPrice"]["totalGross"]["centAmount"] - x["taxedPrice"]["totalNet"]["centAmount"]
    included = all(x["taxRate"]["includedInPrice"] for x in every)
    if payments is None:
        payments = [payment(gross, currency)]
    oid = order_id or _id("order")
    doc: dict[str, Any] = {
        "type": "Order", "id": oid, "version": 3, "orderNumber": f"ON-{oid[6:14]}",
        "createdAt": created, "lastModifiedAt": created, "customerId": customer_id, "customerEmail": email,
        "locale": locale, "country": country,
        "store": {"typeId": "store", "key": store} if store else None,
        "totalPrice": money(gross if included else net, currency),
        "taxedPrice": {"totalNet": money(net, currency), "totalGross": money(gross, currency),
                       "totalTax": money(gross - net, currency),
                       "taxPortions": [{"rate": r, "amount": money(a, currency), "name": f"VAT {r}"}
                                       for r, a in portions.items()]},
        "taxMode": "Platform", "taxRoundingMode": "HalfEven", "taxCalculationMode": "LineItemLevel",
        "lineItems": list(lines), "customLineItems": list(custom), "shippingMode": "Single", "shipping": [],
        "discountCodes": list(discount_codes), "refusedGifts": [], "syncInfo": [], "returnInfo": list(return_info),
        "paymentInfo": {"payments": [{"typeId": "payment", "id": p["id"], "obj": p} for p in payments]},
        "orderState": order_state, "paymentState": payment_state, "shipmentState": shipment_state,
        "origin": "Customer", "shippingAddress": {"country": country} if country else None,
    }
    if ship:
        doc["shippingInfo"] = ship
    return {k: v for k, v in doc.items() if v is not None}


def return_item(line_doc: dict, qty: int, *, shipment: str = "Returned", pay: str = "Refunded",
                created: str = "2026-12-01T10:00:00.000Z", custom: bool = False) -> dict:
    item = {"type": "CustomLineItemReturnItem" if custom else "LineItemReturnItem", "id": _id("ret"),
            "quantity": qty, "shipmentState": shipment, "paymentState": pay, "createdAt": created,
            "lastModifiedAt": created}
    item["customLineItemId" if custom else "lineItemId"] = line_doc["id"]
    return item
