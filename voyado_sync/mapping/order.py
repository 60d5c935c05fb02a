"""A Commercetools order read for receipts (pure; reference: commercetools-api.md §4.3-4.4): whether it
counts as a sale, and its lines, store, contact, payments and totals cross-checked into a
`PreparedOrder`, which purchase (`voyado_sync.mapping.receipts`) and return
(`voyado_sync.mapping.returns`) receipts are built from.

- **Sale**: the order counts as a sale when its ``orderState``/``paymentState``/``shipmentState`` are
  in ``sale`` of ``mapping.yaml`` (Cancelled never). Otherwise the order is *skipped* (not an error:
  it is re-evaluated when it changes).
- **Store**: the first identifier the order carries decides, in this order: ``store.key`` (kind
  ``store``), a line item's ``distributionChannel`` (kind ``channel``; expanded key, key or id),
  ``businessUnit.key`` (kind ``business-unit``), the order/shipping/billing country (kind
  ``country``). An identifier missing from ``stores.csv`` is a rejection - never a silent fallback to
  another store.
- **Totals**: the total gross is ``taxedPrice.totalGross``; without ``taxedPrice`` it is
  ``totalPrice`` when every line includes tax (or tax is Disabled), else the order is rejected.
  Invariants checked to the minor unit before a receipt exists: sum of line gross (incl. shipping) =
  total gross = sum of payments; sum of line nets = ``taxedPrice.totalNet``; per tax rate, the order's
  ``taxPortions`` = the lines' tax. Any mismatch is a rejection naming both numbers: Voyado never
  receives wrong money.
- **Payments**: the expanded ``paymentInfo.payments[*].obj``; per payment the sum of its successful
  ``Charge`` transactions, typed through ``payment_methods.csv``. Voucher types (``bonuscheck``) carry
  a check number = the payment's ``interfaceId`` (else ``key``). Unexpanded payments, or none charged,
  are a rejection.
- **Contact**: ``contact.match_keys`` in order - ``contactId``: the Voyado contact of the order's
  identity profile (created or located before the receipts go), else the one known for the customer id
  or, for a guest, the email; ``externalId`` = Commercetools customer id; ``email`` = customerEmail (a
  guest's as ``guest_contact_type``). The default is ``contactId`` alone: a receipt never goes to a
  contact Voyado might not hold; no contact is a dead letter with the reason. A guest order without a
  usable email has no identifiable shopper: *excluded* (reported with its money, not a difference).
- ``discountOnTotalPrice`` (a cart discount on the order total) is rejected with its reason: it is
  not yet distributed onto lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from collections.abc import Mapping
from typing import Any

from voyado_sync.identity.records import record_key
from voyado_sync.mapping.config import MappingConfig, SaleRule, StoreRow
from voyado_sync.mapping.context import NO_CONTACT, MappingContext, Reject
from voyado_sync.mapping.lines import (Line, OrderScope, cents, custom_line_item, fmt, line_item, localized,
                                       rate_of, shipping_lines)
from voyado_sync.money import is_known_currency, minor_units


@dataclass(slots=True)
class Payment:
    payment_id: str
    type: str
    value: int  # minor units
    description: str | None
    check_number: str | None


@dataclass(slots=True)
class PreparedOrder:
    """An order read and cross-checked; what purchase and return receipts are built from."""

    order_id: str
    number: str
    currency: str
    digits: int
    store: StoreRow
    lines: list[Line]  # line items then custom line items
    shipping: list[Line]
    total_gross: int
    payments: list[Payment]
    contact: dict[str, str]
    locale: str | None
    country: str | None
    scope: OrderScope
    # Computed once while cross-checking the totals and reused for taxDetails (one pass over the lines):
    tax_groups: dict[Decimal, list[Any]]  # percent -> [tax, gross, first line's tax name], in line order
    portion_names: dict[Decimal, Any]  # percent -> name of the order's tax portion at that rate
    subrates: bool  # some line's tax rate has sub-rates


def not_a_sale(order: Mapping[str, Any], rule: SaleRule) -> str | None:
    """Why the order does not (yet) count as a sale, or None when it does."""
    state = order.get("orderState")
    if state == "Cancelled":
        return "order is Cancelled"
    if rule.order_states and state not in rule.order_states:
        return f"not a sale yet: orderState {state!r} not in {list(rule.order_states)}"
    for field, allowed in (("paymentState", rule.payment_states), ("shipmentState", rule.shipment_states)):
        if allowed:
            value = order.get(field)
            if value not in allowed:
                return f"not a sale yet: {field} {value!r} not in {list(allowed)}"
    return None


@lru_cache(maxsize=256)
def locale_chain(locale: str | None, fallback: tuple[str, ...]) -> tuple[str, ...]:
    chain: list[str] = []
    if locale:
        chain += [locale, locale.split("-")[0]]
    chain += [f for f in fallback if f not in chain]
    return tuple(chain)


def prepare_order(order: Mapping[str, Any], ctx: MappingContext) -> PreparedOrder:
    cfg = ctx.config
    tp = order.get("totalPrice")
    currency = tp.get("currencyCode") if isinstance(tp, dict) else None
    if not is_known_currency(currency):
        raise Reject(f"order totalPrice has an unknown or missing currency {currency!r}")
    digits = minor_units(currency)  # type: ignore[arg-type]
    if order.get("discountOnTotalPrice"):
        raise Reject("discountOnTotalPrice (a cart discount on the order total) is not distributed onto "
                     "lines yet")
    store = resolve_store(order, cfg)
    locale = order.get("locale") or store.locale or ctx.locale
    scope = OrderScope(currency, digits, order.get("taxMode"), locale_chain(locale, cfg.rules.locale.fallback),
                       ctx)
    lines = [line_item(li, scope) for li in order.get("lineItems") or ()]
    lines += [custom_line_item(cl, scope) for cl in order.get("customLineItems") or ()]
    if not lines:
        raise Reject("order has no line items")
    shipping = shipping_lines(order, scope)
    total = cents(tp, scope, "order totalPrice")
    every = lines + shipping
    total_gross, groups, names, subrates = _order_gross(order, total, every, shipping, scope)
    payments = charged_payments(order, scope, cfg, total_gross)
    paid = sum(p.value for p in payments)
    if paid != total_gross:
        raise Reject(f"successful Charge transactions sum to {fmt(paid, digits)} but the order total gross is "
                     f"{fmt(total_gross, digits)} {currency}")
    country = (order.get("country") or (order.get("shippingAddress") or {}).get("country")
               or (order.get("billingAddress") or {}).get("country") or store.country)
    return PreparedOrder(str(order["id"]), str(order.get("orderNumber") or order["id"]), currency, digits, store,
                         lines, shipping, total_gross, payments, resolve_contact(order, ctx), locale, country,
                         scope, groups, names, subrates)


def _order_gross(order: Mapping[str, Any], total: int, every: list[Line], shipping: list[Line], o: OrderScope
                 ) -> tuple[int, dict[Decimal, list[Any]], dict[Decimal, Any], bool]:
    """(total gross, tax groups, portion names, any sub-rates) of the order, its totals cross-checked.

    One pass over the lines gathers every sum the checks and taxDetails need (this is the hot path);
    the checks then run in their documented order, so the first failing one names the reason."""
    line_gross = line_net = 0
    all_included = all_excluded = True
    subrates = False
    groups: dict[Decimal, list[Any]] = {}
    for x in every:
        line_gross += x.gross
        line_net += x.net
        if x.included is not True:
            all_included = False
        if x.included is not False:
            all_excluded = False
        if x.subrates:
            subrates = True
        g = groups.get(x.percent)
        if g is None:
            groups[x.percent] = [x.tax, x.gross, x.tax_name]
        else:
            g[0] += x.tax
            g[1] += x.gross
    names: dict[Decimal, Any] = {}
    otp = order.get("taxedPrice")
    if otp:
        gross = cents(otp.get("totalGross"), o, "order taxedPrice.totalGross")
        net = cents(otp.get("totalNet"), o, "order taxedPrice.totalNet")
        if all_included and total != gross:
            raise Reject(f"order totalPrice {fmt(total, o.digits)} is not taxedPrice.totalGross "
                         f"{fmt(gross, o.digits)} although prices include tax")
        if all_excluded and total != net:
            raise Reject(f"order totalPrice {fmt(total, o.digits)} is not taxedPrice.totalNet {fmt(net, o.digits)} "
                         "although prices exclude tax")
        if line_net != net:
            raise Reject(f"lines and shipping sum to net {fmt(line_net, o.digits)} but the order taxedPrice.totalNet "
                         f"is {fmt(net, o.digits)}")
        names = _check_portions(otp, gross - net, groups, subrates, o)
    elif o.tax_disabled or all_included:
        gross = total
    else:
        raise Reject("order has no taxedPrice and its prices exclude tax: the gross total is unknown")
    if line_gross != gross:
        shipping_gross = sum(x.gross for x in shipping)
        raise Reject(f"lines ({fmt(line_gross - shipping_gross, o.digits)}) + shipping "
                     f"({fmt(shipping_gross, o.digits)}) = {fmt(line_gross, o.digits)} but the order total gross is "
                     f"{fmt(gross, o.digits)} {o.currency}")
    return gross, groups, names, subrates


def _check_portions(otp: Mapping[str, Any], order_tax: int, groups: dict[Decimal, list[Any]], subrates: bool,
                    o: OrderScope) -> dict[Decimal, Any]:
    """Check the order's tax portions against the lines' tax per rate; the portion names per percent."""
    portions: dict[Decimal, int] = {}
    names: dict[Decimal, Any] = {}
    for p in otp.get("taxPortions") or ():
        pct = rate_of(p.get("rate"), "order tax portion")[1]
        portions[pct] = portions.get(pct, 0) + cents(p.get("amount"), o, "order tax portion")
        names[pct] = p.get("name")
    if not portions:
        return names
    total = sum(portions.values())
    if total != order_tax:
        raise Reject(f"order tax portions sum to {fmt(total, o.digits)} but taxedPrice totalGross - totalNet is "
                     f"{fmt(order_tax, o.digits)}")
    if subrates:
        return names
    for pct in portions.keys() | {p for p, g in groups.items() if g[0]}:
        line_tax = groups[pct][0] if pct in groups else 0
        if portions.get(pct, 0) != line_tax:
            raise Reject(f"order tax portion at {pct}% is {fmt(portions.get(pct, 0), o.digits)} but the lines' tax at "
                         f"{pct}% is {fmt(line_tax, o.digits)}")
    return names


def resolve_store(order: Mapping[str, Any], cfg: MappingConfig) -> StoreRow:
    key = (order.get("store") or {}).get("key")
    if key:
        return _known(cfg, "store", key, "order.store.key")
    for li in order.get("lineItems") or ():
        dc = li.get("distributionChannel")
        if dc:
            ids = [v for v in ((dc.get("obj") or {}).get("key"), dc.get("key"), dc.get("id")) if v]
            for v in ids:
                row = cfg.store("channel", v)
                if row:
                    return row
            raise Reject(f"unknown store: distribution channel {ids[0]!r} is not in stores.csv (kind channel)")
    key = (order.get("businessUnit") or {}).get("key")
    if key:
        return _known(cfg, "business-unit", key, "order.businessUnit.key")
    country = (order.get("country") or (order.get("shippingAddress") or {}).get("country")
               or (order.get("billingAddress") or {}).get("country"))
    if country:
        return _known(cfg, "country", country, "the order's country")
    raise Reject("unknown store: the order has no store, distribution channel, business unit or country")


def _known(cfg: MappingConfig, kind: str, key: str, what: str) -> StoreRow:
    row = cfg.store(kind, key)
    if row is None:
        raise Reject(f"unknown store: {what} {key!r} is not in stores.csv (kind {kind})")
    return row


def resolve_contact(order: Mapping[str, Any], ctx: MappingContext) -> dict[str, str]:
    """The receipt's contact: ``contact.match_keys`` in order. An order without a customer and without a
    usable email has no identifiable shopper: excluded by policy (reported with its money), never a
    receipt Voyado would park without a contact."""
    rule = ctx.config.rules.contact
    cid = order.get("customerId")
    raw_email = order.get("customerEmail")
    email = raw_email.strip().lower() if isinstance(raw_email, str) and "@" in raw_email else None
    if not cid and not email:
        raise Reject("no identifiable shopper: a guest order without a usable customerEmail", status="excluded")
    for key in rule.match_keys:
        if key == "contactId":
            known = (ctx.contact_of_record.get(record_key("ct_order", str(order.get("id"))))
                     or (ctx.contact_ids.get(cid) if cid else ctx.email_contact_ids.get(email or "")))
            if known:
                return {"matchKey": known, "matchKeyType": "ContactId"}
        elif key == "externalId" and cid:
            return {"matchKey": cid, "matchKeyType": "ExternalId", "contactType": rule.contact_type}
        elif key == "email" and email:
            return {"matchKey": email, "matchKeyType": "Email",
                    "contactType": rule.contact_type if cid else rule.guest_contact_type}
    raise Reject(NO_CONTACT if "contactId" in rule.match_keys else
                 f"none of contact.match_keys {list(rule.match_keys)} resolves for this order")


def charged_payments(order: Mapping[str, Any], o: OrderScope, cfg: MappingConfig, total_gross: int) -> list[Payment]:
    """Charged payments; none is fine only for an order that cost nothing (e.g. fully discounted)."""
    refs = (order.get("paymentInfo") or {}).get("payments") or ()
    if not refs:
        if total_gross == 0:
            return []
        raise Reject("order has no payments (paymentInfo.payments is empty)")
    rule = cfg.rules.payments
    out: list[Payment] = []
    for ref in refs:
        p = ref.get("obj")
        if not isinstance(p, dict):
            raise Reject(f"payment {ref.get('id')} is not expanded: read orders with expand=paymentInfo.payments[*]")
        pid = str(p.get("id") or ref.get("id"))
        charged = 0
        for t in p.get("transactions") or ():
            if t.get("type") == "Charge" and t.get("state") == "Success":
                charged += cents(t.get("amount"), o, "payment ", pid)
        if not charged:
            continue
        if charged < 0:
            raise Reject(f"payment {pid}: successful charges sum to a negative amount")
        info = p.get("paymentMethodInfo") or {}
        row = cfg.payment(info.get("paymentInterface"), info.get("method"))
        name = localized(info.get("name"), o.locales)
        if row is None:
            if rule.unknown_method == "reject":
                raise Reject(f"unknown payment method {info.get('paymentInterface')!r}/{info.get('method')!r} "
                             f"(payment {pid}): add it to payment_methods.csv")
            ptype, desc = rule.fallback_type, name or info.get("method")
        else:
            ptype, desc = row.voyado_type, name or row.description or info.get("method")
        check = None
        if ptype in rule.voucher_types:
            check = p.get("interfaceId") or p.get("key")
            if not check:
                raise Reject(f"voucher payment {pid} has neither interfaceId nor key: no check number")
        out.append(Payment(pid, ptype, charged, desc, check))
    if not out and total_gross:
        raise Reject("no successful Charge transaction on the order's payments")
    return out
