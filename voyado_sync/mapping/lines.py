"""Commercetools order lines (line items, custom line items, shipping) read into exact `Line` records.

All money is integer minor units of the order currency (``centAmount``; JPY has none) so sums are exact
and cheap; a `Decimal` appears only for per-unit high-precision amounts and tax-rate conversions.

Rules (reference: commercetools-api.md §4.3, voyado-api.md §3):

- **Paid gross** of a line = ``taxedPrice.totalGross`` (after every discount). Without ``taxedPrice`` it
  is ``totalPrice`` when the price includes tax (``taxRate.includedInPrice``) or the order's ``taxMode``
  is ``Disabled``; a tax-excluded line without ``taxedPrice`` is rejected (its gross is unknown).
- **Tax** of a line = ``totalGross - totalNet`` (cent-exact; the line's own ``taxPortions`` are not used
  because only the difference is authoritative). A tax-included line without ``taxedPrice`` gets
  ``net = round_half_even(gross / (1 + rate))``. Tax must be within 1 minor unit per unit of
  ``net x rate``, otherwise the line is rejected as inconsistent.
- **taxPercent** = ``taxRate.amount x 100`` (0.25 -> 25.00).
- **Discounts** per discount id: product discount ``(price.value - price.discounted.value) x quantity``
  and cart discounts ``sum(includedDiscounts.discountedAmount x quantity)`` over
  ``discountedPricePerQuantity``, using ``preciseAmount`` for high-precision prices, summed exactly and
  rounded half-even to the minor unit once per discount. In tax-excluded mode these amounts are net and
  are converted to gross as ``round_half_even(net x (1 + rate))``. Discounts are information on the
  line; the paid gross already has them deducted.
- **Consistency**: for ``priceMode`` Platform/Embedded, (discounted) unit price x quantity must equal
  ``totalPrice`` (exact for cent precision, +-1 minor unit for high precision), the
  ``discountedPricePerQuantity`` quantities must not exceed the line quantity (units it does not list
  are at the undiscounted price, as with multi-buy discounts), and ``totalPrice`` must
  equal ``totalGross`` (tax included) or ``totalNet`` (tax excluded).
- **articleNumber** = ``productKey``; without it the SKU minus the configured size suffix
  (``SKU-123-M`` -> ``SKU-123``). Custom lines use their ``key`` (else ``slug``) as SKU and article number.
- **articleName** in the order's locale, then its language, then ``locale.fallback``, then any value.
- **Gift line items** (``lineItemMode`` GiftLineItem) are ordinary items whose paid gross is what was
  paid (usually 0, the full price shows as the discount) with ``awardsBonus: false``.
- A custom line with a negative amount (a manual reduction) becomes an ``ADJUSTMENT`` item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from collections.abc import Mapping
from typing import Any

from voyado_sync.mapping.context import MappingContext, Reject

_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_NO_RATE = (Decimal(0), Decimal("0.00"))  # (rate, percent) of a line without a tax rate
_CHECKED_PRICE_MODES = (None, "Platform", "Embedded")


@dataclass(slots=True)
class Line:
    line_id: str
    kind: str  # "line" | "custom" | "shipping"
    sku: str
    article_number: str
    article_name: str
    article_group: str | None
    quantity: int
    gross: int
    net: int
    tax: int
    percent: Decimal
    tax_name: str | None
    subrates: bool
    discounts: list[tuple[str, str, int]] = field(default_factory=list)  # (type, discount id, gross minor units)
    awards_bonus: bool | None = None
    item_type: str = "PURCHASE"
    included: bool | None = None  # taxRate.includedInPrice (None: no tax rate)


class OrderScope:
    """Per-order facts every line needs: currency, digits, tax mode, locale chain, context."""

    __slots__ = ("currency", "digits", "tax_disabled", "locales", "ctx")

    def __init__(self, currency: str, digits: int, tax_mode: str | None, locales: tuple[str, ...],
                 ctx: MappingContext) -> None:
        self.currency, self.digits, self.tax_disabled = currency, digits, tax_mode == "Disabled"
        self.locales, self.ctx = locales, ctx


def fmt(minor: int | Decimal, digits: int) -> str:
    return format(Decimal(minor).scaleb(-digits), "f")


def cents(m: Any, o: OrderScope, what: str, suffix: str = "") -> int:
    """Minor units of a cent- or high-precision money in the order currency (the rounded ``centAmount``).
    ``what + suffix`` names the field in a rejection (joined only then: this is the hot path)."""
    if type(m) is dict and m.get("currencyCode") == o.currency:
        c = m.get("centAmount")
        if type(c) is int and (m.get("fractionDigits", o.digits) == o.digits or m.get("type") == "highPrecision"):
            return c
    where = what + suffix
    if not isinstance(m, dict):
        raise Reject(f"{where}: money is missing")
    if m.get("currencyCode") != o.currency:
        raise Reject(f"currency mismatch: {where} is in {m.get('currencyCode')}, the order in {o.currency}")
    if type(m.get("centAmount")) is not int:
        raise Reject(f"{where}: centAmount {m.get('centAmount')!r} is not an integer")
    raise Reject(f"{where}: fractionDigits {m.get('fractionDigits')} but {o.currency} has {o.digits}")


def precise(m: Any, o: OrderScope, what: str, suffix: str = "") -> int | Decimal:
    """Exact minor units of a money: an int for cent precision, a (possibly fractional) Decimal from
    ``preciseAmount`` for high precision."""
    c = cents(m, o, what, suffix)
    if m.get("type") == "highPrecision":
        p, fd = m.get("preciseAmount"), m.get("fractionDigits")
        if type(p) is not int or type(fd) is not int or fd < o.digits:
            raise Reject(f"{what}{suffix}: high-precision money without a valid preciseAmount/fractionDigits")
        return Decimal(p).scaleb(o.digits - fd)
    return c


_RATES: dict[Any, tuple[Decimal, Decimal]] = {}
_RATIOS: dict[Decimal, tuple[int, int]] = {}


def rate_of(amount: Any, what: str) -> tuple[Decimal, Decimal]:
    """(rate, percent) from a Commercetools tax rate amount (0.25 -> (0.25, 25.00)); cached."""
    hit = _RATES.get(amount)
    if hit is not None and type(amount) is not bool:
        return hit
    if type(amount) not in (int, float) or not 0 <= amount <= 1:  # a bool is not a rate
        raise Reject(f"{what}: tax rate amount {amount!r} is not a number in 0..1")
    rate = Decimal(str(amount))
    pct = rate * _HUNDRED
    if pct.as_tuple().exponent > -2:  # type: ignore[operator]
        pct = pct.quantize(Decimal("0.01"))
    _RATES[amount] = (rate, pct)
    _RATIOS[rate] = rate.as_integer_ratio()
    return rate, pct


def _tax_fits(tax: int, net: int, rate: Decimal, quantity: int) -> bool:
    """|tax - net x rate| <= quantity + 1 minor units, in integers (rounding may differ per unit)."""
    ratio = _RATIOS.get(rate)
    if ratio is None:
        ratio = _RATIOS[rate] = rate.as_integer_ratio()
    num, den = ratio
    return abs(tax * den - net * num) <= (quantity + 1) * den


def localized(value: Any, locales: tuple[str, ...]) -> str | None:
    if isinstance(value, str):
        return value or None
    if not isinstance(value, dict) or not value:
        return None
    for loc in locales:
        v = value.get(loc)
        if v:
            return v
    for v in value.values():
        if v:
            return v
    return None


def _round(d: Decimal) -> int:
    return int(d.to_integral_value(rounding=ROUND_HALF_EVEN))


def _taxed(doc: Mapping[str, Any], total: int, quantity: int, o: OrderScope, what: str
           ) -> tuple[int, int, Decimal, Decimal, str | None, bool, bool | None]:
    """(gross, tax, rate, percent, tax name, has subrates, includedInPrice) of a line or shipping."""
    tr = doc.get("taxRate")
    tp = doc.get("taxedPrice")
    if tr:
        included = tr.get("includedInPrice")
        rate, pct = rate_of(tr.get("amount"), what)
    else:
        included = None
        rate, pct = _NO_RATE
    if tp:
        gross = cents(tp.get("totalGross"), o, what, " taxedPrice.totalGross")
        net = cents(tp.get("totalNet"), o, what, " taxedPrice.totalNet")
        tax = gross - net
        total_tax = tp.get("totalTax")
        if total_tax is not None and cents(total_tax, o, what, " totalTax") != tax:
            raise Reject(f"{what}: taxedPrice.totalTax {fmt(total_tax['centAmount'], o.digits)} is not "
                         f"totalGross - totalNet = {fmt(tax, o.digits)}")
        if included is True and total != gross:
            raise Reject(f"{what}: totalPrice {fmt(total, o.digits)} is not taxedPrice.totalGross "
                         f"{fmt(gross, o.digits)} although its price includes tax")
        if included is False and total != net:
            raise Reject(f"{what}: totalPrice {fmt(total, o.digits)} is not taxedPrice.totalNet "
                         f"{fmt(net, o.digits)} although its price excludes tax")
        if tr is None:
            if tax:
                pct = _portion_percent(tp, what)
                rate = pct / _HUNDRED
    elif o.tax_disabled:
        gross, net, tax = total, total, 0
        rate, pct = _NO_RATE
    elif included:
        gross = total
        net = _round(Decimal(gross) / (_ONE + rate))
        tax = gross - net
    else:
        raise Reject(f"{what} has no taxedPrice and its price excludes tax (or has no tax rate): "
                     "its gross price is unknown")
    if abs(tax) > abs(gross) or (tax and (tax > 0) != (gross > 0)):
        raise Reject(f"{what}: tax {fmt(tax, o.digits)} does not fit gross {fmt(gross, o.digits)}")
    if not _tax_fits(tax, net, rate, quantity):
        raise Reject(f"{what}: tax {fmt(tax, o.digits)} is not {pct}% of net {fmt(net, o.digits)}")
    if tr:
        return gross, tax, rate, pct, tr.get("name"), bool(tr.get("subRates")), included
    return gross, tax, rate, pct, None, False, included


def _portion_percent(tp: Mapping[str, Any], what: str) -> Decimal:
    rates = {p.get("rate") for p in tp.get("taxPortions") or ()}
    if len(rates) != 1:
        raise Reject(f"{what} is taxed but has no taxRate and not exactly one tax portion rate")
    return rate_of(rates.pop(), what)[1]


def _discounts(doc: Mapping[str, Any], unit: Any, product_discount: Any, quantity: int, total: int,
               rate: Decimal, included: bool | None, o: OrderScope, what: str) -> list[tuple[str, str, int]]:
    acc: dict[tuple[str, str], int | Decimal] = {}
    base = unit
    if product_discount:
        base = product_discount.get("value")
        per_unit = precise(unit, o, what, " price") - precise(base, o, what, " discounted price")
        if per_unit < 0:
            raise Reject(f"{what}: product-discounted price is above the price")
        if per_unit:
            acc[("product-discount", _ref_id(product_discount.get("discount")))] = per_unit * quantity
    dppq = doc.get("discountedPricePerQuantity") or ()
    high = unit is not None and unit.get("type") == "highPrecision"
    if dppq:
        covered, paid = 0, 0
        for d in dppq:
            dq, dp = d.get("quantity"), d.get("discountedPrice") or {}
            if type(dq) is not int or dq <= 0:
                raise Reject(f"{what}: discountedPricePerQuantity quantity {dq!r}")
            covered += dq
            value = dp.get("value")
            high = high or (isinstance(value, dict) and value.get("type") == "highPrecision")
            paid += precise(value, o, what, " discountedPrice") * dq
            for inc in dp.get("includedDiscounts") or ():
                amt = precise(inc.get("discountedAmount"), o, what, " discountedAmount")
                if amt < 0:
                    raise Reject(f"{what}: negative discountedAmount")
                key = ("cart-discount", _ref_id(inc.get("discount")))
                acc[key] = acc.get(key, 0) + amt * dq
        if covered > quantity:
            raise Reject(f"{what}: discountedPricePerQuantity covers {covered} units but the line has {quantity}")
        if covered < quantity:  # e.g. a multi-buy discount: the other units are at the (product-discounted) price
            if base is None:
                raise Reject(f"{what}: {quantity - covered} units are not in discountedPricePerQuantity and there "
                             "is no price for them")
            high = high or base.get("type") == "highPrecision"
            paid += precise(base, o, what, " price") * (quantity - covered)
    elif base is not None:
        high = high or base.get("type") == "highPrecision"
        paid = precise(base, o, what, " price") * quantity
    else:
        paid = total
    if doc.get("priceMode") in _CHECKED_PRICE_MODES and abs(paid - total) > (1 if high else 0):
        raise Reject(f"{what}: unit price x quantity after discounts is {fmt(paid, o.digits)} but totalPrice "
                     f"is {fmt(total, o.digits)}")
    if not acc:
        return []
    if included is False:
        factor = _ONE + rate
        return [(t, i, _round(v * factor)) for (t, i), v in acc.items() if v]
    return [(t, i, v if type(v) is int else _round(v)) for (t, i), v in acc.items() if v]


def _ref_id(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("id") or ref.get("key") or "unknown")
    return "unknown"


def _check_quantity(q: Any, what: str) -> int:
    if type(q) is not int or q <= 0:
        raise Reject(f"{what}: quantity {q!r} is not a positive integer")
    return q


def line_item(li: Mapping[str, Any], o: OrderScope) -> Line:
    lid = li.get("id") or "?"
    what = f"line item {lid}"
    sku = (li.get("variant") or {}).get("sku")
    if not sku:
        raise Reject(f"{what} has no variant.sku")
    q = li.get("quantity")
    if type(q) is not int or q <= 0:
        q = _check_quantity(q, what)  # raises with the reason
    price = li.get("price")
    unit = price.get("value") if isinstance(price, dict) else None
    if not unit:
        raise Reject(f"{what} ({sku}) has no price")
    total = cents(li.get("totalPrice"), o, what, " totalPrice")
    cents(unit, o, what, " price")
    gross, tax, rate, pct, tax_name, sub, included = _taxed(li, total, q, o, what)
    discounts = _discounts(li, unit, price.get("discounted"), q, total, rate, included, o, what)
    ctx = o.ctx
    article_number = li.get("productKey") or strip_size(sku, ctx)
    gift = li.get("lineItemMode") == "GiftLineItem"
    return Line(lid, "line", sku, article_number, localized(li.get("name"), o.locales) or article_number,
                ctx.article_groups.get(sku) or ctx.product_categories.get(li.get("productId") or ""),
                q, gross, gross - tax, tax, pct, tax_name, sub, discounts, False if gift else None, "PURCHASE",
                included)


def custom_line_item(cl: Mapping[str, Any], o: OrderScope) -> Line:
    lid = cl.get("id") or "?"
    what = f"custom line item {lid}"
    sku = cl.get("key") or cl.get("slug")
    if not sku:
        raise Reject(f"{what} has neither key nor slug")
    q = _check_quantity(cl.get("quantity"), what)
    money = cl.get("money")
    if not isinstance(money, dict):
        raise Reject(f"{what} ({sku}) has no money")
    total = cents(cl.get("totalPrice"), o, what, " totalPrice")
    gross, tax, rate, pct, tax_name, sub, included = _taxed(cl, total, q, o, what)
    discounts = _discounts(cl, money, None, q, total, rate, included, o, what)
    name = localized(cl.get("name"), o.locales) or sku
    return Line(lid, "custom", sku, sku, name, o.ctx.article_groups.get(sku), q, gross, gross - tax, tax, pct,
                tax_name, sub, discounts, None, "ADJUSTMENT" if gross < 0 else "PURCHASE", included)


def strip_size(sku: str, ctx: MappingContext) -> str:
    pattern = ctx.config.size_suffix
    if pattern is None:
        return sku
    stripped = pattern.sub("", sku)
    return stripped or sku


def shipping_lines(order: Mapping[str, Any], o: OrderScope) -> list[Line]:
    """One line per shipping method: ``shippingInfo`` (Single mode) or ``shipping[*].shippingInfo``."""
    infos: list[tuple[str, Mapping[str, Any]]] = []
    if order.get("shippingInfo"):
        infos.append(("shipping", order["shippingInfo"]))
    for s in order.get("shipping") or ():
        if s.get("shippingInfo"):
            infos.append((f"shipping {s.get('shippingKey') or '?'}", s["shippingInfo"]))
    rule = o.ctx.config.rules.shipping
    lines = []
    for what, si in infos:
        dp = si.get("discountedPrice")
        price = (dp or {}).get("value") or si.get("price")
        total = cents(price, o, what, " price")
        gross, tax, rate, pct, tax_name, sub, included = _taxed(si, total, 1, o, what)
        acc: dict[str, int] = {}
        for inc in (dp or {}).get("includedDiscounts") or ():
            key = _ref_id(inc.get("discount"))
            acc[key] = acc.get(key, 0) + cents(inc.get("discountedAmount"), o, what, " discountedAmount")
        discounts = []  # most shipping has no discount: skip the gross conversion then
        if acc:
            factor = _ONE + rate if included is False else _ONE
            discounts = [("shipping-discount", k, _round(v * factor)) for k, v in acc.items() if v]
        if rule.skip_free and gross == 0 and not discounts:
            continue
        name = rule.article_name or si.get("shippingMethodName") or "Shipping"
        lines.append(Line(what, "shipping", rule.sku, rule.article_number, name, rule.article_group, 1,
                          gross, gross - tax, tax, pct, tax_name, sub, discounts,
                          None if rule.awards_bonus else False, "PURCHASE", included))
    return lines
