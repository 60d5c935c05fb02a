"""Property tests: for random consistent Commercetools orders (any currency incl. JPY, both tax modes,
several rates, product and cart discounts, custom lines, shipping, split payments) the receipt always
reconciles to the minor unit, and returns of every unit add up to exactly what was paid."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voyado_sync.mapping import Receipt, dumps, loads, map_order, map_returns, receipt_problems
from voyado_sync.money import minor_units
from voyado_sync_tests.mapping import ct

MARKETS = {"SEK": "web-se", "NOK": "web-no", "DKK": "web-dk", "EUR": "web-de", "JPY": "web-jp"}
RATES = [0.0, 0.06, 0.1, 0.12, 0.19, 0.25]


@st.composite
def orders(draw):
    currency = draw(st.sampled_from(sorted(MARKETS)))
    included = draw(st.booleans())
    lines = []
    for n in range(draw(st.integers(1, 5))):
        unit = draw(st.integers(1, 500_000))
        qty = draw(st.integers(1, 6))
        rate = draw(st.sampled_from(RATES))
        pd = draw(st.one_of(st.none(), st.integers(0, unit).map(lambda a: ("pd-x", a))))
        base = unit - (pd[1] if pd else 0)
        cds = draw(st.lists(st.integers(0, 10_000), max_size=2))
        cart, left = [], base
        for i, a in enumerate(cds):
            a = min(a, left)
            left -= a
            cart.append((f"cd-{i}", a))
        lines.append(ct.line(f"SKU-{n}-M", qty, unit, rate=rate, included=included, currency=currency,
                             product_discount=pd, cart_discounts=cart,
                             gift=bool(cart) and left == 0))
    custom = [ct.custom_line(f"fee-{i}", draw(st.integers(1, 3)), draw(st.integers(-5_000, 20_000)),
                             rate=draw(st.sampled_from(RATES)), included=included, currency=currency)
              for i in range(draw(st.integers(0, 2)))]
    ship = draw(st.one_of(st.none(), st.integers(0, 20_000).map(
        lambda c: ct.shipping(c, rate=0.25, included=included, currency=currency))))
    order = ct.order(lines, custom=custom, ship=ship, currency=currency, store=MARKETS[currency],
                     payments=[])
    gross = order["taxedPrice"]["totalGross"]["centAmount"]
    # Split the total over up to three payments (one may be a gift card).
    cuts = sorted(draw(st.lists(st.integers(0, max(gross, 0)), max_size=2)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, gross])]
    methods = draw(st.lists(st.sampled_from(["card", "giftcard", "klarna", "swish"]), min_size=len(parts),
                            max_size=len(parts)))
    pays = [ct.payment(v, currency, method=m, interface_id=f"GC-{i}") for i, (v, m) in enumerate(zip(parts, methods))
            if v]
    order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": p["id"], "obj": p} for p in pays]}
    return order


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders())
def test_receipt_reconciles_to_the_minor_unit(ctx, order):
    r = map_order(order, ctx)
    if order["taxedPrice"]["totalGross"]["centAmount"] < 0:
        assert r.status == "rejected"  # a negative order total cannot be paid by charges
        return
    assert r.status == "receipt", r.reason
    p = r.payload
    digits = minor_units(p["currency"])
    assert receipt_problems(p) == []
    total = p["totalGrossPrice"]
    assert total == Decimal(order["taxedPrice"]["totalGross"]["centAmount"]).scaleb(-digits)
    signed = sum((1 if i["type"] != "RETURN" else -1) * i["grossPaidPrice"] for i in p["items"])
    assert signed == total == sum(m["value"] for m in p["paymentMethods"])
    assert sum(t["value"] for t in p["taxDetails"]) == sum(i["taxAmount"] for i in p["items"])
    assert sum(t["value"] for t in p["taxDetails"]) == Decimal(
        order["taxedPrice"]["totalGross"]["centAmount"] - order["taxedPrice"]["totalNet"]["centAmount"]).scaleb(-digits)
    # Every amount carries exactly the currency's digits on the wire, and survives a round trip.
    amounts = [total, *(i["grossPaidPrice"] for i in p["items"]), *(i["taxAmount"] for i in p["items"]),
               *(m["value"] for m in p["paymentMethods"])]
    assert all(a.as_tuple().exponent == -digits for a in amounts)
    assert loads(dumps(p)) == p
    assert Receipt.from_payload(loads(dumps(p))).to_json() == dumps(p)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders(), st.data())
def test_returning_every_unit_refunds_exactly_what_was_paid(ctx, order, data):
    if order["taxedPrice"]["totalGross"]["centAmount"] <= 0:
        return
    items = []
    for li in order["lineItems"]:
        left = li["quantity"]
        while left:
            q = data.draw(st.integers(1, left))
            left -= q
            items.append(ct.return_item(li, q, created=f"2026-12-0{1 + len(items) % 9}T10:00:00Z"))
    order["returnInfo"] = [{"items": items}]
    results = map_returns(order, ctx)
    assert all(r.status == "receipt" for r in results), [r.reason for r in results]
    digits = minor_units(order["totalPrice"]["currencyCode"])
    for li in order["lineItems"]:
        by_item = {r.unique_receipt_id.rsplit("-ret-", 1)[1]: r.payload for r in results}
        mine = [by_item[it["id"].split("ret-", 1)[1]] for it in items if it["lineItemId"] == li["id"]]
        assert len(mine) == len([it for it in items if it["lineItemId"] == li["id"]])
        paid = Decimal(li["taxedPrice"]["totalGross"]["centAmount"]).scaleb(-digits)
        tax = Decimal(li["taxedPrice"]["totalGross"]["centAmount"] - li["taxedPrice"]["totalNet"]["centAmount"]).scaleb(-digits)
        assert sum(p["items"][0]["grossPaidPrice"] for p in mine) == paid
        assert sum(p["items"][0]["taxAmount"] for p in mine) == tax
        assert sum(-p["items"][0]["quantity"] for p in mine) == li["quantity"]
    for r in results:
        assert receipt_problems(r.payload) == []
        assert r.payload["totalGrossPrice"] <= 0
