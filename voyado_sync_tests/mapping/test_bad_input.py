"""Every way an order can be unmappable ends as a rejection with a precise reason - never an exception,
never a receipt with wrong money."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voyado_sync.mapping import map_order, map_returns, receipt_problems
from voyado_sync_tests.mapping import ct


def _base():
    return ct.order([ct.line("A-1", 2, 10000), ct.line("B-1", 1, 5000, rate=0.12)], ship=ct.shipping(4900),
                    order_id="bad-1")


def _li(o, i=0):
    return o["lineItems"][i]


CASES = {
    "unknown store key": (lambda o: o["store"].update(key="web-xx"),
                          "unknown store: order.store.key 'web-xx' is not in stores.csv (kind store)"),
    "unknown channel": (lambda o: (o.pop("store"), _li(o).update(distributionChannel={"typeId": "channel", "id": "c9"})),
                        "unknown store: distribution channel 'c9' is not in stores.csv (kind channel)"),
    "no store at all": (lambda o: [o.pop(k) for k in ("store", "country", "shippingAddress")],
                        "unknown store: the order has no store, distribution channel, business unit or country"),
    "missing price": (lambda o: _li(o).pop("price"), "line item {l0} (A-1) has no price"),
    "missing sku": (lambda o: _li(o)["variant"].pop("sku"), "line item {l0} has no variant.sku"),
    "currency mismatch between lines": (
        lambda o: o["lineItems"].__setitem__(1, ct.line("B-1", 1, 5000, rate=0.12, currency="NOK")),
        "currency mismatch: line item {l1} totalPrice is in NOK, the order in SEK"),
    "unknown currency": (lambda o: o["totalPrice"].update(currencyCode="XXX"),
                         "order totalPrice has an unknown or missing currency 'XXX'"),
    "wrong fractionDigits": (lambda o: _li(o)["totalPrice"].update(fractionDigits=3),
                             "line item {l0} totalPrice: fractionDigits 3 but SEK has 2"),
    "float centAmount": (lambda o: _li(o)["totalPrice"].update(centAmount=200.5),
                         "line item {l0} totalPrice: centAmount 200.5 is not an integer"),
    "string quantity": (lambda o: _li(o).update(quantity="2"),
                        "line item {l0}: quantity '2' is not a positive integer"),
    "line total disagrees with price": (
        lambda o: _li(o)["price"]["value"].update(centAmount=9999),
        "line item {l0}: unit price x quantity after discounts is 199.98 but totalPrice is 200.00"),
    "line gross disagrees with total": (
        lambda o: (_li(o)["taxedPrice"]["totalGross"].update(centAmount=20001), _li(o)["taxedPrice"].pop("totalTax")),
        "line item {l0}: totalPrice 200.00 is not taxedPrice.totalGross 200.01 although its price includes tax"),
    "order gross disagrees with lines": (
        lambda o: (o.pop("taxedPrice"), o["totalPrice"].update(centAmount=30001)),
        "lines (250.00) + shipping (49.00) = 299.00 but the order total gross is 300.01 SEK"),
    "order net disagrees with lines": (
        lambda o: o["taxedPrice"]["totalNet"].update(centAmount=24385),
        "lines and shipping sum to net 243.84 but the order taxedPrice.totalNet is 243.85"),
    "order tax portions disagree with totals": (
        lambda o: o["taxedPrice"]["taxPortions"][0]["amount"].update(centAmount=4981),
        "order tax portions sum to 55.17 but taxedPrice totalGross - totalNet is 55.16"),
    "tax portion per rate wrong": (
        lambda o: (o["taxedPrice"]["taxPortions"][0]["amount"].update(centAmount=5080),
                   o["taxedPrice"]["taxPortions"][1]["amount"].update(centAmount=436)),
        "but the lines' tax at"),
    "tax not matching rate": (
        lambda o: (_li(o, 1)["taxedPrice"]["totalNet"].update(centAmount=4000), _li(o, 1)["taxedPrice"].pop("totalTax")),
        "line item {l1}: tax 10.00 is not 12.00% of net 40.00"),
    "excluded tax without taxedPrice": (
        lambda o: (_li(o)["taxRate"].update(includedInPrice=False), _li(o).pop("taxedPrice")),
        "line item {l0} has no taxedPrice and its price excludes tax (or has no tax rate): its gross price is unknown"),
    "payments not expanded": (lambda o: o["paymentInfo"]["payments"][0].pop("obj"),
                              "is not expanded: read orders with expand=paymentInfo.payments[*]"),
    "no payments": (lambda o: o.pop("paymentInfo"), "order has no payments (paymentInfo.payments is empty)"),
    "no successful charge": (
        lambda o: o["paymentInfo"]["payments"][0]["obj"]["transactions"][0].update(state="Pending"),
        "no successful Charge transaction on the order's payments"),
    "charge differs from total": (
        lambda o: o["paymentInfo"]["payments"][0]["obj"]["transactions"][0]["amount"].update(centAmount=29999),
        "successful Charge transactions sum to 299.99 but the order total gross is 299.00 SEK"),
    "unknown payment method": (
        lambda o: o["paymentInfo"]["payments"][0]["obj"]["paymentMethodInfo"].update(method="bitcoin"),
        "unknown payment method 'adyen'/'bitcoin'"),
    "gift card without check number": (
        lambda o: o["paymentInfo"]["payments"][0]["obj"]["paymentMethodInfo"].update(method="giftcard"),
        "has neither interfaceId nor key: no check number"),
    "no line items": (lambda o: (o.update(lineItems=[]),), "order has no line items"),
    "dppq covers too many units": (
        lambda o: _li(o).update(discountedPricePerQuantity=[{"quantity": 3, "discountedPrice": {
            "value": ct.money(10000), "includedDiscounts": []}}]),
        "line item {l0}: discountedPricePerQuantity covers 3 units but the line has 2"),
    "bad created date": (lambda o: o.update(createdAt="yesterday"), "order createdAt 'yesterday' is not an ISO-8601"),
    "discount on total price": (lambda o: o.update(discountOnTotalPrice={"discountedAmount": ct.money(100)}),
                                "discountOnTotalPrice"),
    "garbage line item list": (lambda o: o.update(lineItems="garbage"), "malformed document: AttributeError"),
    "bad tax rate": (lambda o: _li(o)["taxRate"].update(amount="25%"), "tax rate amount '25%' is not a number"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rejected_with_reason(name, ctx):
    order = _base()
    mutate, reason = CASES[name]
    mutate(order)
    reason = reason.format(l0=order["lineItems"][0]["id"] if order["lineItems"] and isinstance(order["lineItems"], list) else "",
                           l1=order["lineItems"][1]["id"] if isinstance(order["lineItems"], list) and len(order["lineItems"]) > 1 else "")
    r = map_order(order, ctx)
    assert r.status == "rejected", (name, r)
    assert r.payload is None
    assert reason in r.reason, (name, r.reason)
    assert "anna@example.com" not in r.reason


def test_the_base_order_is_fine(ctx):
    r = map_order(_base(), ctx)
    assert r.status == "receipt", r.reason


@pytest.mark.parametrize("doc", [None, "order", 42, [], {}, {"id": None}, {"id": "x"}, {"id": "x", "orderState": "Open",
                                                                                        "paymentState": "Paid"}])
def test_not_an_order(doc, ctx):
    r = map_order(doc, ctx)
    # {"id": "x"} has no orderState: not a sale (skipped); everything else is rejected.
    assert r.status == ("skipped" if doc == {"id": "x"} else "rejected") and r.reason and r.payload is None
    assert isinstance(map_returns(doc, ctx), list)


_JUNK = st.one_of(st.none(), st.integers(-5, 10**12), st.floats(allow_nan=True), st.text(max_size=5), st.just([]),
                  st.just({}), st.booleans(), st.just({"centAmount": 1}))


def _paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


_BASE = _base()
_BASE["returnInfo"] = [{"items": [ct.return_item(_BASE["lineItems"][0], 1)]}]
_ALL_PATHS = list(_paths(_BASE))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _JUNK, st.booleans()), min_size=1, max_size=3))
def test_random_corruption_never_escapes_and_never_sends_wrong_money(ctx, edits):
    order = copy.deepcopy(_BASE)
    for path, junk, delete in edits:
        node = order
        try:
            for key in path[:-1]:
                node = node[key]
            if delete and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = junk
        except (KeyError, IndexError, TypeError):
            continue
    results = [map_order(order, ctx), *map_returns(order, ctx)]
    for r in results:
        assert r.status in ("receipt", "skipped", "rejected")
        if r.status == "receipt":
            assert receipt_problems(r.payload) == []
        else:
            assert r.reason and r.payload is None
    purchase = results[0]
    if purchase.status == "receipt":
        # Changing the money consistently takes more than three edits (line totals, taxed prices, order
        # totals, portions, charges), so whatever still maps must carry the original money.
        assert purchase.payload["totalGrossPrice"] == Decimal("299.00")
        assert [i["grossPaidPrice"] for i in purchase.payload["items"]] == [Decimal("200.00"), Decimal("50.00"),
                                                                              Decimal("49.00")]


def test_a_guest_without_email_is_an_excluded_sale_not_a_dead_letter(ctx):
    order = _base()
    order.pop("customerId"), order.pop("customerEmail")
    r = map_order(order, ctx)
    assert (r.status, r.payload) == ("excluded", None) and "no identifiable shopper" in r.reason


def test_non_string_country_never_reaches_the_payload_encoder(ctx):
    from voyado_sync.mapping.frame import order_results, results_frame
    from voyado_sync.mapping.models import dumps
    from voyado_sync.sandbox.generator import GeneratorConfig, generate

    ds = generate(GeneratorConfig(seed=5, persons=20, orders=40))
    payments = {p["id"]: p for p in ds.payments}
    orders = [o for o in ds.orders if o.get("paymentState") == "Paid"]
    for o in orders:
        o["country"] = 0.25
        for ref in o["paymentInfo"]["payments"]:  # as extraction reads them: expanded
            ref["obj"] = payments[ref["id"]]
    results = order_results(orders, ctx)
    assert any(r.ok for r in results)
    for r in results:
        if r.ok:
            names = {e["name"] for e in r.payload.get("extraData", [])}
            assert "country" not in names
            dumps(r.payload)
    results_frame(results)  # serializes every payload
