"""Independent re-derivation of Commercetools order money, used to prove every generated order (and
cart) is internally consistent. Returns a list of problems (empty = consistent) rather than raising,
so a test can show all of them at once."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable

from voyado_sync.money import minor_units


def _cents(m: dict[str, Any], currency: str, where: str, problems: list[str]) -> int:
    if m.get("currencyCode") != currency:
        problems.append(f"{where}: currency {m.get('currencyCode')} != {currency}")
    if m.get("fractionDigits") != minor_units(currency):
        problems.append(f"{where}: fractionDigits {m.get('fractionDigits')} != {minor_units(currency)}")
    if m.get("type") != "centPrecision":
        problems.append(f"{where}: type {m.get('type')!r}")
    v = m.get("centAmount")
    if not isinstance(v, int) or isinstance(v, bool):
        problems.append(f"{where}: centAmount {v!r} is not an integer")
        return 0
    return v


def _round(d: Decimal) -> int:
    return int(d.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _check_taxed_line(where: str, total: int, rate: dict[str, Any], taxed: dict[str, Any], currency: str,
                      problems: list[str]) -> tuple[int, int]:
    r = Decimal(repr(rate["amount"]))
    if rate["includedInPrice"]:
        net, gross = _round(Decimal(total) / (1 + r)), total
    else:
        net, gross = total, total + _round(Decimal(total) * r)
    got_net = _cents(taxed["totalNet"], currency, f"{where}.totalNet", problems)
    got_gross = _cents(taxed["totalGross"], currency, f"{where}.totalGross", problems)
    if (got_net, got_gross) != (net, gross):
        problems.append(f"{where}: taxedPrice net/gross {got_net}/{got_gross}, expected {net}/{gross} "
                        f"(total {total}, rate {r}, included {rate['includedInPrice']})")
    portions = sum(_cents(p["amount"], currency, f"{where}.taxPortions", problems) for p in taxed["taxPortions"])
    if portions != gross - net:
        problems.append(f"{where}: taxPortions sum {portions} != gross - net {gross - net}")
    if "totalTax" in taxed and _cents(taxed["totalTax"], currency, f"{where}.totalTax", problems) != gross - net:
        problems.append(f"{where}: totalTax != gross - net")
    return net, gross


def check_order_money(order: dict[str, Any]) -> list[str]:
    """All money invariants of one order (or cart)."""
    problems: list[str] = []
    currency = order["totalPrice"]["currencyCode"]
    oid = order.get("orderNumber") or order.get("id")
    sum_total = sum_net = sum_gross = 0
    portions: dict[Decimal, int] = defaultdict(int)
    for i, li in enumerate(order.get("lineItems", [])):
        where = f"{oid} lineItems[{i}]"
        q = li["quantity"]
        unit = _cents(li["price"]["value"], currency, f"{where}.price", problems)
        covered = 0
        total = 0
        for d in li["discountedPricePerQuantity"]:
            dq = d["quantity"]
            dv = _cents(d["discountedPrice"]["value"], currency, f"{where}.discountedPrice", problems)
            discount = sum(_cents(x["discountedAmount"], currency, f"{where}.includedDiscounts", problems)
                           for x in d["discountedPrice"]["includedDiscounts"])
            if dv + discount != unit:
                problems.append(f"{where}: discounted unit {dv} + discounts {discount} != price {unit}")
            if dv < 0:
                problems.append(f"{where}: negative discounted price")
            covered += dq
            total += dq * dv
        if covered > q:
            problems.append(f"{where}: discountedPricePerQuantity covers {covered} > quantity {q}")
        total += (q - covered) * unit
        got = _cents(li["totalPrice"], currency, f"{where}.totalPrice", problems)
        if got != total:
            problems.append(f"{where}: totalPrice {got} != {total}")
        if li.get("lineItemMode") == "GiftLineItem" and got != 0:
            problems.append(f"{where}: gift line item not free")
        net, gross = _check_taxed_line(where, got, li["taxRate"], li["taxedPrice"], currency, problems)
        sum_total, sum_net, sum_gross = sum_total + got, sum_net + net, sum_gross + gross
        portions[Decimal(repr(li["taxRate"]["amount"]))] += gross - net
    for i, cl in enumerate(order.get("customLineItems", [])):
        where = f"{oid} customLineItems[{i}]"
        total = _cents(cl["money"], currency, where, problems) * cl["quantity"]
        got = _cents(cl["totalPrice"], currency, f"{where}.totalPrice", problems)
        if got != total:
            problems.append(f"{where}: totalPrice {got} != money × quantity {total}")
        net, gross = _check_taxed_line(where, got, cl["taxRate"], cl["taxedPrice"], currency, problems)
        sum_total, sum_net, sum_gross = sum_total + got, sum_net + net, sum_gross + gross
        portions[Decimal(repr(cl["taxRate"]["amount"]))] += gross - net
    ship = order.get("shippingInfo")
    if ship:
        where = f"{oid} shippingInfo"
        price = ship.get("discountedPrice", {}).get("value") or ship["price"]
        got = _cents(price, currency, where, problems)
        net, gross = _check_taxed_line(where, got, ship["taxRate"], ship["taxedPrice"], currency, problems)
        if order.get("taxedShippingPrice") and order["taxedShippingPrice"] != ship["taxedPrice"]:
            problems.append(f"{where}: taxedShippingPrice differs from shippingInfo.taxedPrice")
        sum_total, sum_net, sum_gross = sum_total + got, sum_net + net, sum_gross + gross
        portions[Decimal(repr(ship["taxRate"]["amount"]))] += gross - net
    got_total = _cents(order["totalPrice"], currency, f"{oid}.totalPrice", problems)
    if got_total != sum_total:
        problems.append(f"{oid}: totalPrice {got_total} != sum of lines + custom lines + shipping {sum_total}")
    tp = order.get("taxedPrice")
    if tp is None:
        problems.append(f"{oid}: taxedPrice missing")
        return problems
    net = _cents(tp["totalNet"], currency, f"{oid}.taxedPrice.totalNet", problems)
    gross = _cents(tp["totalGross"], currency, f"{oid}.taxedPrice.totalGross", problems)
    if (net, gross) != (sum_net, sum_gross):
        problems.append(f"{oid}: taxedPrice net/gross {net}/{gross} != line sums {sum_net}/{sum_gross}")
    got_portions: dict[Decimal, int] = defaultdict(int)
    for p in tp["taxPortions"]:
        got_portions[Decimal(repr(p["rate"]))] += _cents(p["amount"], currency, f"{oid}.taxPortions", problems)
    if {k: v for k, v in got_portions.items() if v} != {k: v for k, v in portions.items() if v}:
        problems.append(f"{oid}: taxPortions {dict(got_portions)} != per-rate line tax {dict(portions)}")
    if _cents(tp.get("totalTax", tp["totalGross"]), currency, f"{oid}.totalTax", problems) != gross - net \
            and "totalTax" in tp:
        problems.append(f"{oid}: totalTax != totalGross - totalNet")
    included = {li["taxRate"]["includedInPrice"] for li in order.get("lineItems", [])}
    if included == {True} and got_total != gross:
        problems.append(f"{oid}: tax-included order whose totalPrice != taxedPrice.totalGross")
    if included == {False} and got_total != net:
        problems.append(f"{oid}: tax-excluded order whose totalPrice != taxedPrice.totalNet")
    return problems


def check_order_payments(order: dict[str, Any], payments_by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Payments referenced by the order exist, are in its currency and add up to its gross total;
    captured money is never refunded twice; a Paid order has its gross captured."""
    problems: list[str] = []
    oid = order.get("orderNumber") or order["id"]
    currency = order["totalPrice"]["currencyCode"]
    gross = order["taxedPrice"]["totalGross"]["centAmount"]
    planned = charged = refunded = 0
    for ref in (order.get("paymentInfo") or {}).get("payments", []):
        p = payments_by_id.get(ref["id"])
        if p is None:
            problems.append(f"{oid}: payment {ref['id']} referenced but missing")
            continue
        planned += _cents(p["amountPlanned"], currency, f"{oid} payment amountPlanned", problems)
        c = sum(t["amount"]["centAmount"] for t in p["transactions"] if t["type"] == "Charge" and t["state"] == "Success")
        r = sum(t["amount"]["centAmount"] for t in p["transactions"] if t["type"] == "Refund" and t["state"] == "Success")
        if r > c:
            problems.append(f"{oid}: payment {p['id']} refunds {r} > charged {c}")
        charged, refunded = charged + c, refunded + r
    if planned != gross:
        problems.append(f"{oid}: payments plan {planned} != taxedPrice.totalGross {gross}")
    if order.get("paymentState") == "Paid" and charged != gross:
        problems.append(f"{oid}: paymentState Paid but captured {charged} != {gross}")
    return problems


def check_returns(order: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    oid = order.get("orderNumber") or order["id"]
    qty = {li["id"]: li["quantity"] for li in order.get("lineItems", [])}
    returned: dict[str, int] = defaultdict(int)
    for info in order.get("returnInfo", []):
        for item in info["items"]:
            if item["type"] != "LineItemReturnItem":
                continue
            if item["lineItemId"] not in qty:
                problems.append(f"{oid}: return item references unknown line item {item['lineItemId']}")
                continue
            returned[item["lineItemId"]] += item["quantity"]
    for lid, q in returned.items():
        if q > qty[lid] or q <= 0:
            problems.append(f"{oid}: returned {q} of line {lid} bought {qty[lid]}")
    return problems


def check_dataset_orders(orders: Iterable[dict[str, Any]], payments: Iterable[dict[str, Any]]) -> list[str]:
    by_id = {p["id"]: p for p in payments}
    problems: list[str] = []
    for o in orders:
        problems += check_order_money(o) + check_order_payments(o, by_id) + check_returns(o)
    return problems
