"""Every generated order and cart is priced exactly the way Commercetools prices it."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from voyado_sync.money import amount
from voyado_sync.sandbox.generator import GeneratorConfig, check_order_money, check_order_payments, generate
from voyado_sync.sandbox.generator.checks import check_returns

from .support import ANCHOR


@pytest.fixture(scope="module")
def edge_ds():
    """Heavy on the rare cases: yen, net-price B2B orders, split payments, returns."""
    return generate(GeneratorConfig(seed=7, persons=200, orders=600, anchor_date=ANCHOR, jpy_share=0.3,
                                    b2b_share=0.3, multi_payment_share=0.5, return_share=0.4, pos_receipts=10))


@pytest.mark.parametrize("which", ["ds", "edge_ds"])
def test_every_order_and_cart_is_consistent(which, request):
    data = request.getfixturevalue(which)
    payments = {p["id"]: p for p in data.payments}
    problems = []
    for o in data.orders:
        problems += check_order_money(o) + check_order_payments(o, payments) + check_returns(o)
    for c in data.carts:
        problems += check_order_money(c)
    assert problems == []


def test_the_hard_cases_are_present(edge_ds, ds):
    orders = ds.orders + edge_ds.orders
    jpy = [o for o in orders if o["totalPrice"]["currencyCode"] == "JPY"]
    assert jpy and all(o["totalPrice"]["fractionDigits"] == 0 for o in jpy)
    assert all(li["price"]["value"]["fractionDigits"] == 0 for o in jpy for li in o["lineItems"])
    net = [o for o in orders if not o["lineItems"][0]["taxRate"]["includedInPrice"]]
    assert net and all(o["totalPrice"]["currencyCode"] == "EUR" for o in net)
    assert all(o["totalPrice"] == o["taxedPrice"]["totalNet"] for o in net)
    assert all(o["totalPrice"]["centAmount"] < o["taxedPrice"]["totalGross"]["centAmount"] for o in net)
    rates = {li["taxRate"]["amount"] for o in orders for li in o["lineItems"]}
    assert {0.25, 0.12, 0.06, 0.15, 0.255, 0.19, 0.07} <= rates
    assert Counter(o["totalPrice"]["currencyCode"] for o in orders).keys() >= {"SEK", "NOK", "DKK", "EUR", "JPY"}
    lines = [li for o in orders for li in o["lineItems"]]
    gifts = [li for li in lines if li["lineItemMode"] == "GiftLineItem"]
    assert gifts and all(li["totalPrice"]["centAmount"] == 0 < li["price"]["value"]["centAmount"] for li in gifts)
    discounted = [d for li in lines for d in li["discountedPricePerQuantity"]]
    assert discounted
    discount_ids = {x["discount"]["id"] for d in discounted for x in d["discountedPrice"]["includedDiscounts"]}
    assert len(discount_ids) >= 3  # line, cart-wide, multi-buy and gift discounts
    assert any(len(d["discountedPrice"]["includedDiscounts"]) > 1 for d in discounted)  # stacked discounts
    assert any(sum(d["quantity"] for d in li["discountedPricePerQuantity"]) < li["quantity"]
               for li in lines if li["discountedPricePerQuantity"])  # only some units discounted
    assert any(o["customLineItems"] for o in orders)
    assert any(o["shippingInfo"]["price"]["centAmount"] > 0 for o in orders)
    assert any(o["shippingInfo"]["price"]["centAmount"] == 0 for o in orders)  # free shipping above threshold
    assert any(len(o["taxedPrice"]["taxPortions"]) > 1 for o in orders)


def test_payments_sum_to_the_gross_total_in_decimal(ds):
    by_id = {p["id"]: p for p in ds.payments}
    for o in ds.orders:
        pays = [by_id[r["id"]] for r in o["paymentInfo"]["payments"]]
        assert sum(amount(p["amountPlanned"]) for p in pays) == amount(o["taxedPrice"]["totalGross"])
    assert any(len(o["paymentInfo"]["payments"]) == 2 for o in ds.orders)
    methods = {p["paymentMethodInfo"]["method"] for p in ds.payments}
    assert {"card", "giftcard"} <= methods
    states = Counter((t["type"], t["state"]) for p in ds.payments for t in p["transactions"])
    assert states[("Charge", "Success")] and states[("Charge", "Failure")] and states[("Refund", "Success")]
    paid = [o for o in ds.orders if o["paymentState"] == "Paid"]
    assert paid and {o["orderState"] for o in ds.orders} == {"Open", "Confirmed", "Complete", "Cancelled"}


def test_returns_reference_bought_lines(edge_ds):
    returned = [o for o in edge_ds.orders if o["returnInfo"]]
    assert returned
    for o in returned:
        assert o["orderState"] == "Complete"
        by_id = {li["id"]: li for li in o["lineItems"]}
        for item in (i for info in o["returnInfo"] for i in info["items"]):
            assert item["type"] == "LineItemReturnItem"
            assert 0 < item["quantity"] <= by_id[item["lineItemId"]]["quantity"]
            assert item["shipmentState"] in ("Returned", "BackInStock") and item["paymentState"] == "Refunded"
    # Partial: some return covers fewer units than bought, or fewer lines than the order has.
    def partial(o):
        qty = {li["id"]: li["quantity"] for li in o["lineItems"]}
        items = o["returnInfo"][0]["items"]
        return len(items) < len(qty) or any(i["quantity"] < qty[i["lineItemId"]] for i in items)
    assert any(partial(o) for o in returned)


@pytest.mark.parametrize("mutate, expected", [
    (lambda o: o["lineItems"][0]["totalPrice"].__setitem__("centAmount", o["lineItems"][0]["totalPrice"]["centAmount"] + 1),
     "totalPrice"),
    (lambda o: o["lineItems"][0]["taxedPrice"]["totalNet"].__setitem__(
        "centAmount", o["lineItems"][0]["taxedPrice"]["totalNet"]["centAmount"] - 1), "taxedPrice"),
    (lambda o: o["taxedPrice"]["taxPortions"][0]["amount"].__setitem__(
        "centAmount", o["taxedPrice"]["taxPortions"][0]["amount"]["centAmount"] + 1), "taxPortions"),
    (lambda o: o["totalPrice"].__setitem__("fractionDigits", 3), "fractionDigits"),
    (lambda o: o["lineItems"][0]["taxRate"].__setitem__("amount", 0.2), "taxedPrice"),
    (lambda o: o["shippingInfo"]["price"].__setitem__("centAmount", o["shippingInfo"]["price"]["centAmount"] + 100),
     "totalPrice"),
])
def test_the_checker_catches_broken_money(ds, mutate, expected):
    order = copy.deepcopy(next(o for o in ds.orders if o["lineItems"][0]["taxedPrice"]["totalNet"]["centAmount"] > 0))
    assert check_order_money(order) == []
    mutate(order)
    problems = check_order_money(order)
    assert problems and any(expected in p for p in problems), problems


def test_the_checker_catches_broken_payments_and_returns(ds):
    by_id = {p["id"]: copy.deepcopy(p) for p in ds.payments}
    order = copy.deepcopy(next(o for o in ds.orders if o["paymentState"] == "Paid"))
    pay = by_id[order["paymentInfo"]["payments"][0]["id"]]
    pay["amountPlanned"]["centAmount"] += 1
    assert any("payments plan" in p for p in check_order_payments(order, by_id))
    del by_id[pay["id"]]
    assert any("missing" in p for p in check_order_payments(order, by_id))
    order["returnInfo"] = [{"items": [{"type": "LineItemReturnItem", "id": "x", "quantity": 99,
                                       "lineItemId": order["lineItems"][0]["id"]},
                                      {"type": "LineItemReturnItem", "id": "y", "quantity": 1, "lineItemId": "nope"}]}]
    problems = check_returns(order)
    assert any("returned 99" in p for p in problems) and any("unknown line item" in p for p in problems)
