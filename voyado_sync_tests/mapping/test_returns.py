"""RETURN receipts: signs per the reference, refunded amount = what was paid for the line, cumulative
rounding so partial returns add up to the cent, deterministic ids."""

from __future__ import annotations

from decimal import Decimal as D

from voyado_sync.mapping import dumps, map_returns, receipt_problems
from voyado_sync.mapping.returns import share, split
from voyado_sync_tests.mapping import ct


def _order_with_returns(*items_spec):
    # 3 units at 99.99 after a 0.01 cart discount: paid 299.97, tax 59.99 (net 239.98).
    line = ct.line("SHIRT-1-M", 3, 10000, cart_discounts=[("cd-1", 1)], product_key="SHIRT-1")
    gc = ct.payment(20000, method="giftcard", interface_id="GC-9")
    card = ct.payment(9997)
    order = ct.order([line], payments=[gc, card], order_id="o-r")
    order["returnInfo"] = [{"returnDate": None, "items": [ct.return_item(line, q, **kw) for q, kw in items_spec]}]
    order["returnInfo"][0].pop("returnDate")
    return order, line


def test_partial_return_refunds_what_was_paid(ctx):
    order, line = _order_with_returns((1, {"created": "2026-12-01T10:00:00Z"}))
    [r] = map_returns(order, ctx)
    assert r.status == "receipt", r.reason
    ret_id = order["returnInfo"][0]["items"][0]["id"]
    assert r.unique_receipt_id == f"ct-return-o-r-{ret_id}"
    expected = {
        "contact": {"matchKey": "cust-1", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": f"ct-return-o-r-{ret_id}", "receiptNumber": f"{order['orderNumber']}-R-{ret_id}",
        "createdDate": "2026-12-01T11:00:00+01:00", "storeExternalId": "ECOM-SE", "currency": "SEK",
        # 299.97 x 1/3 = 99.99; tax 59.99 x 1/3 = 19.9967 -> 20.00
        "totalGrossPrice": D("-99.99"),
        "taxDetails": [{"description": "VAT 0.25", "value": D("-20.00"), "percent": D("25.00"),
                        "totalIncludingTax": D("-99.99"), "totalExcludingTax": D("-79.99")}],
        # 99.99 split 200.00 : 99.97 -> 66.66|67 and 33.32|33; the extra cent goes to the larger remainder
        "paymentMethods": [{"type": "bonuscheck", "value": D("-66.67"), "description": "Giftcard",
                            "extraData": [{"name": "checkNumber", "value": "GC-9"}]},
                           {"type": "card", "value": D("-33.32"), "description": "Card"}],
        "items": [{"type": "RETURN", "sku": "SHIRT-1-M", "quantity": -1, "grossPaidPrice": D("99.99"),
                   "taxAmount": D("20.00"), "taxPercent": D("25.00"), "articleNumber": "SHIRT-1",
                   "articleName": "Produkt SHIRT-1-M"}],
        "extraData": [{"name": "channel", "value": "web"}, {"name": "country", "value": "SE"},
                      {"name": "locale", "value": "sv-SE"},
                      {"name": "originalReceiptNumber", "value": order["orderNumber"]}],
    }
    assert dumps(r.payload) == dumps(expected)
    assert receipt_problems(r.payload) == []
    assert r.receipt().totalGrossPrice == D("-99.99")


def test_returning_every_unit_in_parts_refunds_exactly_the_line(ctx):
    order, line = _order_with_returns((1, {"created": "2026-12-01T10:00:00Z"}),
                                      (1, {"created": "2026-12-02T10:00:00Z"}),
                                      (1, {"created": "2026-12-03T10:00:00Z"}))
    results = map_returns(order, ctx)
    assert [r.status for r in results] == ["receipt"] * 3
    gross = [r.payload["items"][0]["grossPaidPrice"] for r in results]
    tax = [r.payload["items"][0]["taxAmount"] for r in results]
    assert gross == [D("99.99")] * 3 and sum(gross) == D("299.97")
    assert tax == [D("20.00"), D("19.99"), D("20.00")] and sum(tax) == D("59.99")
    assert len({r.unique_receipt_id for r in results}) == 3


def test_amounts_do_not_change_when_a_sibling_qualifies_later(ctx):
    order, _ = _order_with_returns((1, {"created": "2026-12-01T10:00:00Z", "pay": "Initial"}),
                                   (1, {"created": "2026-12-02T10:00:00Z"}))
    first, second = map_returns(order, ctx)
    assert first.status == "skipped" and "paymentState 'Initial'" in first.reason
    before = dumps(second.payload)
    order["returnInfo"][0]["items"][0]["paymentState"] = "Refunded"
    again = map_returns(order, ctx)
    assert dumps(again[1].payload) == before
    assert again[0].status == "receipt"


def test_over_return_and_unknown_line_are_rejected(ctx):
    order, line = _order_with_returns((2, {"created": "2026-12-01T10:00:00Z"}), (2, {"created": "2026-12-02T10:00:00Z"}))
    ok, over = map_returns(order, ctx)
    assert ok.status == "receipt"
    assert over.status == "rejected" and "4 units of line" in over.reason and "has 3" in over.reason
    order["returnInfo"][0]["items"][0]["lineItemId"] = "nope"
    assert "does not have" in map_returns(order, ctx)[0].reason


def test_returns_of_an_order_that_is_not_a_sale_are_skipped(ctx):
    order, _ = _order_with_returns((1, {}))
    order["orderState"] = "Cancelled"
    [r] = map_returns(order, ctx)
    assert r.status == "skipped" and "Cancelled" in r.reason


def test_returns_of_an_unmappable_order_are_rejected_with_its_reason(ctx):
    order, _ = _order_with_returns((1, {}))
    order["store"]["key"] = "web-xx"
    [r] = map_returns(order, ctx)
    assert r.status == "rejected" and "unknown store" in r.reason


def test_custom_line_return_and_jpy(ctx):
    wrap = ct.custom_line("gift-wrap", 2, 300, rate=0.1, currency="JPY")
    order = ct.order([ct.line("TEE-1", 1, 1000, rate=0.1, currency="JPY")], custom=[wrap], currency="JPY",
                     store="web-jp", country="JP")
    order["returnInfo"] = [{"items": [ct.return_item(wrap, 1, custom=True)]}]
    [r] = map_returns(order, ctx)
    assert r.status == "receipt", r.reason
    assert dumps(r.payload["totalGrossPrice"]) == "-300"
    assert r.payload["items"][0]["quantity"] == -1 and r.payload["items"][0]["sku"] == "gift-wrap"


def test_share_and_split_are_exact():
    assert [share(1000, k, 3) for k in range(4)] == [0, 333, 667, 1000]
    assert share(-1000, 2, 3) == -667
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    assert split(-7, [5, 2]) == [-5, -2]
    assert sum(split(9999, [20000, 9997])) == 9999
    assert split(5, [0, 0]) == [5, 0]
