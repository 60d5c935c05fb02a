"""Commercetools order -> Voyado PURCHASE receipt (pure; reference: voyado-api.md §3,
commercetools-api.md §4.3-4.4). The order is read and cross-checked by `voyado_sync.mapping.order`
(sale or skip, store, totals, payments, contact); the payload follows
`voyado_sync.mapping.receipt_shape`.

- **Ids**: ``uniqueReceiptId`` = ``<purchase_prefix><order id>`` (Voyado ignores a duplicate, so
  re-sending is safe); ``receiptNumber`` = ``orderNumber`` (else the id).
- **createdDate** = ``completedAt ?? createdAt`` in the store's time zone with its offset.
- **totalGrossPrice** = the order's cross-checked total gross; one item per line, custom line and
  shipping line.
- **taxDetails** per rate: ``value`` (tax), ``percent``, ``totalIncludingTax``, ``totalExcludingTax``
  (one entry per portion, without totals, when tax rates have sub-rates).
- **usedBonusChecks**: the check numbers of the voucher payments.
- **usedPromotions**: discount codes in state ``MatchesCart``: ``promotionId`` = discount code id,
  ``couponId`` = the code when expanded (else the id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voyado_sync.mapping.context import MappingContext, MappingResult, Reject
from voyado_sync.mapping.lines import Line, rate_of
from voyado_sync.mapping.order import PreparedOrder, not_a_sale, prepare_order
from voyado_sync.mapping.receipt_shape import (UNITS, concluded, dec, extra_data, local_time, payment_payload,
                                               receipt_payload)


def map_order(order: Mapping[str, Any], ctx: MappingContext | None = None) -> MappingResult:
    """One Commercetools order -> a PURCHASE receipt payload, a skip (not a sale) or a rejection."""
    ctx = ctx or MappingContext()
    is_doc = type(order) is dict or isinstance(order, Mapping)  # the exact type test first: ABC checks cost
    oid = str(order.get("id") or "?") if is_doc else "?"
    uid = ctx.config.rules.receipts.purchase_prefix + oid

    def build() -> dict[str, Any]:
        if not is_doc or not order.get("id"):
            raise Reject("not an order document (no id)")
        why = not_a_sale(order, ctx.config.rules.sale)
        if why:
            raise Reject(why, status="skipped")
        return purchase_payload(prepare_order(order, ctx), order, uid, ctx)

    return concluded(oid, "purchase", uid, build)


def map_orders(orders: Iterable[Mapping[str, Any]], ctx: MappingContext | None = None) -> list[MappingResult]:
    ctx = ctx or MappingContext()
    return [map_order(o, ctx) for o in orders]


def item_payload(x: Line, digits: int, names: Mapping[str, str]) -> dict[str, Any]:
    unit = UNITS[digits]  # unit x minor units = dec(minor, digits), without a call per amount
    it: dict[str, Any] = {"type": x.item_type, "sku": x.sku, "quantity": x.quantity,
                          "grossPaidPrice": unit * x.gross, "taxAmount": unit * x.tax,
                          "taxPercent": x.percent, "articleNumber": x.article_number, "articleName": x.article_name}
    if x.article_group:
        it["articleGroup"] = x.article_group
    if x.awards_bonus is not None:
        it["awardsBonus"] = x.awards_bonus
    if x.discounts:
        it["discounts"] = [{"value": unit * -v, "type": t, "description": names.get(i) or i}
                           for t, i, v in x.discounts]
    return it


def tax_details(p: PreparedOrder, order: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per tax percent from the groups `prepare_order` summed (named after the order's tax
    portion at that rate, else the first line's tax rate); the order's portions as they are when a
    line's tax rate has sub-rates (the lines cannot be split per sub-rate)."""
    digits, unit = p.digits, UNITS[p.digits]
    otp = order.get("taxedPrice") or {}
    if p.subrates and otp.get("taxPortions"):
        return [{"description": t.get("name") or f"{rate_of(t['rate'], 'tax portion')[1]}%",
                 "value": dec(t["amount"]["centAmount"], digits), "percent": rate_of(t["rate"], "tax portion")[1]}
                for t in otp["taxPortions"]]
    names = p.portion_names
    return [{"description": names.get(pct) or first_name or f"{pct}%", "value": unit * tax, "percent": pct,
             "totalIncludingTax": unit * gross, "totalExcludingTax": unit * (gross - tax)}
            for pct, (tax, gross, first_name) in sorted(p.tax_groups.items())]


def purchase_payload(p: PreparedOrder, order: Mapping[str, Any], uid: str, ctx: MappingContext) -> dict[str, Any]:
    d = p.digits
    names = ctx.discount_names
    return receipt_payload(
        contact=p.contact, uid=uid, number=p.number,
        created=local_time(order.get("completedAt") or order.get("createdAt"), p.store, "order createdAt"),
        store_external_id=p.store.store_external_id, currency=p.currency, total=dec(p.total_gross, d),
        tax_details=tax_details(p, order), payments=[payment_payload(x, x.value, d) for x in p.payments],
        items=[item_payload(x, d, names) for x in p.lines + p.shipping],
        bonus_checks=[x.check_number for x in p.payments if x.check_number], promotions=promotions(order),
        extra=extra_data(p))


def promotions(order: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for dc in order.get("discountCodes") or ():
        if dc.get("state") in (None, "MatchesCart"):
            ref = dc.get("discountCode") or {}
            if ref.get("id"):
                out.append({"promotionId": ref["id"], "couponId": (ref.get("obj") or {}).get("code") or ref["id"]})
    return out
