"""Commercetools returns (``order.returnInfo[*].items[*]``) -> Voyado RETURN receipts (pure).

- **When**: a return item counts once its ``shipmentState`` and ``paymentState`` are both in
  ``returns`` of ``mapping.yaml`` (default: Returned/BackInStock/Unusable and Refunded) and its order
  counts as a sale. Other return items are *skipped* (re-evaluated when the order changes).
- **One receipt per return item**, ``uniqueReceiptId`` = ``<return_prefix><order id>-<return item id>``.
  Grouping several items into one receipt would give a different id whenever a sibling item
  qualifies later, and Voyado would count the earlier item twice; one item per receipt never overlaps.
- **Signs** (voyado-api.md §3): item ``type`` RETURN with negative ``quantity`` and positive
  ``grossPaidPrice``/``taxAmount``; ``totalGrossPrice``, payment ``value`` and ``taxDetails`` negative.
- **Refunded amount** = what was paid for the returned units of that line (its ``grossPaidPrice``
  after all discounts), proportionally, with **cumulative rounding**: the first ``k`` returned units of
  a line of ``Q`` units paid ``G`` are worth ``round_half_up(G x k / Q)``; a return of units ``k+1..k+q``
  gets ``round(G x (k+q) / Q) - round(G x k / Q)``. Return items of a line are ordered by
  (``createdAt``, id), over all its return items whatever their state, so an item's amount never
  changes later, and returning every unit refunds exactly ``G``. Tax uses the same rule.
  Returning more units than the line has is a rejection.
- **Payments**: the refund is split over the order's charged payment methods in proportion to what
  each paid (largest remainder, ties to the earlier payment), so a gift-card-and-card order refunds
  both. Shipping is not refunded by a return receipt.
- ``createdDate`` = the return info's ``returnDate`` (else the item's ``createdAt``) in the store's time
  zone; same store, contact and ``extraData`` as the purchase, plus ``originalReceiptNumber``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from voyado_sync.mapping.context import MappingContext, MappingResult, Reject
from voyado_sync.mapping.lines import Line
from voyado_sync.mapping.order import PreparedOrder, not_a_sale, prepare_order
from voyado_sync.mapping.receipt_shape import (MALFORMED, concluded, dec, extra_data, local_time, malformed,
                                               payment_payload, receipt_payload)


def share(total: int, k: int, n: int) -> int:
    """round_half_up(total x k / n) in exact integers, symmetric for negative totals."""
    sign = -1 if total < 0 else 1
    return sign * ((2 * abs(total) * k + n) // (2 * n))


def split(amount: int, weights: list[int]) -> list[int]:
    """``amount`` split in proportion to ``weights``, summing exactly (largest remainder)."""
    total = sum(weights)
    if not total:
        return [amount] + [0] * (len(weights) - 1)
    sign = -1 if amount < 0 else 1
    a = abs(amount)
    parts = [a * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(a * weights[i] % total), i))
    for i in order[: a - sum(parts)]:
        parts[i] += 1
    return [sign * p for p in parts]


def _qualifies(item: Mapping[str, Any], ctx: MappingContext) -> str | None:
    rule = ctx.config.rules.returns
    for field, allowed in (("shipmentState", rule.shipment_states), ("paymentState", rule.payment_states)):
        if item.get(field) not in allowed:
            return f"return not counted yet: {field} {item.get(field)!r} not in {list(allowed)}"
    return None


def map_returns(order: Mapping[str, Any], ctx: MappingContext | None = None) -> list[MappingResult]:
    """One result per return item of the order: a RETURN receipt, a skip or a rejection."""
    ctx = ctx or MappingContext()
    if not isinstance(order, Mapping):
        return [MappingResult("?", "return", "rejected", None, None, "not an order document")]
    oid = str(order.get("id") or "?")
    prefix = f"{ctx.config.rules.receipts.return_prefix}{oid}-"
    try:
        entries = _return_items(order)
    except MALFORMED as exc:
        return [MappingResult(oid, "return", "rejected", None, None, malformed(exc))]
    if not entries:
        return []
    results: dict[str, MappingResult] = {}
    todo = []
    why_not_sale = not_a_sale(order, ctx.config.rules.sale)
    for info, item in entries:
        rid = str(item.get("id"))
        why = why_not_sale or _qualifies(item, ctx)
        if why:
            results[rid] = MappingResult(oid, "return", "skipped", prefix + rid, None, why)
        else:
            todo.append((info, item))
    if todo:
        try:
            prepared = prepare_order(order, ctx)
            units = _allocate(entries, prepared)
        except Reject as r:
            prepared, units, failure = None, {}, r.reason
        except MALFORMED as exc:
            prepared, units, failure = None, {}, malformed(exc)
        for info, item in todo:
            rid = str(item.get("id"))
            results[rid] = (_one(prepared, units, info, item, prefix + rid, ctx) if prepared is not None
                            else MappingResult(oid, "return", "rejected", prefix + rid, None, failure))
    return [results[str(item.get("id"))] for _, item in entries]


def _return_items(order: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    entries = [(info, item) for info in order.get("returnInfo") or () for item in info.get("items") or ()]
    return sorted(entries, key=lambda e: (str(e[1].get("createdAt") or ""), str(e[1].get("id"))))


def _allocate(entries: list[tuple[Mapping[str, Any], Mapping[str, Any]]], p: PreparedOrder
              ) -> dict[str, tuple[Line, int, int]]:
    """Return item id -> (line, units returned before it, its units), checking no line is over-returned."""
    by_id = {x.line_id: x for x in p.lines}
    returned: dict[str, int] = {}
    out: dict[str, tuple[Line, int, int]] = {}
    for _, item in entries:
        line_id = item.get("lineItemId") or item.get("customLineItemId")
        line = by_id.get(line_id)
        rid = str(item.get("id"))
        q = item.get("quantity")
        if line is None or type(q) is not int or q <= 0:
            continue  # reported per item in _one
        before = returned.get(line.line_id, 0)
        returned[line.line_id] = before + q
        out[rid] = (line, before, q)
    return out


def _one(p: PreparedOrder, units: dict[str, tuple[Line, int, int]], info: Mapping[str, Any],
         item: Mapping[str, Any], uid: str, ctx: MappingContext) -> MappingResult:
    rid = str(item.get("id"))

    def build() -> dict[str, Any]:
        if rid not in units:
            line_id = item.get("lineItemId") or item.get("customLineItemId")
            if type(item.get("quantity")) is not int or item["quantity"] <= 0:
                raise Reject(f"return item {rid}: quantity {item.get('quantity')!r} is not a positive integer")
            raise Reject(f"return item {rid} refers to line {line_id!r}, which the order does not have")
        line, before, q = units[rid]
        if before + q > line.quantity:
            raise Reject(f"return item {rid}: {before + q} units of line {line.line_id} returned but the line has "
                         f"{line.quantity}")
        return return_payload(p, info, item, line, before, q, uid)

    return concluded(p.order_id, "return", uid, build)


def return_payload(p: PreparedOrder, info: Mapping[str, Any], item: Mapping[str, Any], line: Line, before: int,
                   q: int, uid: str) -> dict[str, Any]:
    d = p.digits
    refund = share(line.gross, before + q, line.quantity) - share(line.gross, before, line.quantity)
    tax = share(line.tax, before + q, line.quantity) - share(line.tax, before, line.quantity)
    it: dict[str, Any] = {"type": "RETURN", "sku": line.sku, "quantity": -q, "grossPaidPrice": dec(refund, d),
                          "taxAmount": dec(tax, d), "taxPercent": line.percent, "articleNumber": line.article_number,
                          "articleName": line.article_name}
    if line.article_group:
        it["articleGroup"] = line.article_group
    parts = split(-refund, [x.value for x in p.payments])
    when = info.get("returnDate") or item.get("createdAt")
    key = item.get("key") or str(item.get("id"))
    return receipt_payload(
        contact=p.contact, uid=uid, number=f"{p.number}-R-{key}",
        created=local_time(when, p.store, f"return item {item.get('id')} date"),
        store_external_id=p.store.store_external_id, currency=p.currency, total=dec(-refund, d),
        tax_details=[{"description": line.tax_name or f"{line.percent}%", "value": dec(-tax, d),
                      "percent": line.percent, "totalIncludingTax": dec(-refund, d),
                      "totalExcludingTax": dec(tax - refund, d)}],
        payments=[payment_payload(x, v, d) for x, v in zip(p.payments, parts) if v or len(parts) == 1],
        items=[it], extra=extra_data(p) + [{"name": "originalReceiptNumber", "value": p.number}])
