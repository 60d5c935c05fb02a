"""The official Commercetools example documents (reference/commercetools-examples/).

They are API samples, not sales: none carries a paymentState or an expanded payment, the order has no
store (only a business unit) and no order-level taxedPrice. Each missing piece is a precise rejection;
with the fill-ins documented below (a store row for the business unit, paymentState Paid, the official
payment example made a successful EUR charge, the order taxedPrice Commercetools computes once the
tax rate is applied) every example maps to a receipt with all required fields.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from voyado_sync.mapping import Receipt, dumps, map_order, receipt_problems
from voyado_sync.mapping.config import store_row
from voyado_sync.mapping.context import MappingContext

EXAMPLES = Path("/work/shared/reference/commercetools-examples")
if not EXAMPLES.is_dir():  # the repository copy, when the shared folder is not mounted
    EXAMPLES = Path(__file__).resolve().parents[2] / "reference" / "commercetools-examples"
pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="official examples not available")

FR_B2B = store_row("business-unit", "ba-france-123", "B2B-FR", timezone="Europe/Paris", channel="web",
                   country="FR", currency="EUR")


def _load(name):
    return json.loads((EXAMPLES / name).read_text())


def _money(cent, currency="EUR"):
    return {"type": "centPrecision", "currencyCode": currency, "centAmount": cent, "fractionDigits": 2}


def _paid_with(order, payment, cent):
    """Fill-in: the official payment example as a successful charge of the order total in EUR."""
    p = copy.deepcopy(payment)
    p["amountPlanned"] = _money(cent)
    p["transactions"][0].update(amount=_money(cent), state="Success")
    order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": p["id"], "obj": p}]}


@pytest.fixture
def b2b(config):
    return MappingContext(config.with_stores(FR_B2B))


def _assert_full_receipt(result):
    assert result.status == "receipt", result.reason
    assert receipt_problems(result.payload) == []
    receipt = Receipt.from_payload(result.payload)  # every required field of reference §3 is present
    assert receipt.items and receipt.paymentMethods and receipt.contact.matchKey
    return receipt


@pytest.mark.parametrize("source", ["order.example.json", "orders.example.json"])
def test_order_examples(source, config, b2b):
    doc = _load(source)
    orders = doc["results"] if "results" in doc else [doc]
    payment = _load("payment.example.json")
    for original in orders:
        order = copy.deepcopy(original)
        r = map_order(order, MappingContext(config))
        assert (r.status, r.reason) == ("skipped", "not a sale yet: paymentState None not in ['Paid']")
        order["paymentState"] = "Paid"  # fill-in 1
        assert "unknown store: order.businessUnit.key 'ba-france-123'" in map_order(order, MappingContext(config)).reason
        r = map_order(order, b2b)  # fill-in 2: a stores.csv row for the business unit
        assert r.reason == "order has no taxedPrice and its prices exclude tax: the gross total is unknown"
        # fill-in 3: the order taxedPrice (the line is 10.00 net + 10% tax = 11.00 gross)
        order["taxedPrice"] = {"totalNet": _money(1000), "totalGross": _money(1100),
                               "taxPortions": [{"rate": 0.1, "amount": _money(100), "name": "Bla"}]}
        assert map_order(order, b2b).reason == "order has no payments (paymentInfo.payments is empty)"
        order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": payment["id"]}]}
        assert "is not expanded" in map_order(order, b2b).reason
        order["paymentInfo"]["payments"][0]["obj"] = payment  # as published: USD, Charge Pending
        assert map_order(order, b2b).reason == "no successful Charge transaction on the order's payments"
        _paid_with(order, payment, 1100)  # fill-in 4
        receipt = _assert_full_receipt(map_order(order, b2b))
        assert receipt.uniqueReceiptId == "ct-order-92f5a867-bf19-47ab-982c-6720a03a3921"
        assert receipt.receiptNumber == "92f5a867-bf19-47ab-982c-6720a03a3921"  # no orderNumber
        assert receipt.createdDate == "2017-01-04T20:54:49+01:00"  # Paris local time
        assert receipt.storeExternalId == "B2B-FR" and receipt.currency == "EUR"
        assert receipt.totalGrossPrice == D("11.00")
        [item] = receipt.items
        assert (item.sku, item.quantity, item.grossPaidPrice, item.taxAmount, item.taxPercent) == (
            "some-sku-123", 1, D("11.00"), D("1.00"), D("10.00"))
        assert item.articleName == "MyProduct" and item.articleNumber == "some-sku-123"
        assert [(p.type, p.value) for p in receipt.paymentMethods] == [("card", D("11.00"))]
        assert receipt.contact.matchKey == "7297c742-d8b0-484b-aadc-1d0ba6769dc9"


def test_order_import_example(config):
    draft = _load("order-import.example.json")
    r = map_order(draft, MappingContext(config))
    assert (r.status, r.reason) == ("rejected", "not an order document (no id)")
    # Fill-in: what Commercetools adds when it imports the draft (id, states, dates, the custom line's
    # id/totalPrice), a German market without tax (taxMode Disabled) and a successful charge.
    order = copy.deepcopy(draft)
    order.update(id="imported-1", orderState="Complete", paymentState="Paid", country="DE", taxMode="Disabled",
                 createdAt="2026-03-01T09:00:00Z", completedAt="2026-02-28T23:30:00Z", customerId="cust-9")
    order["customLineItems"][0].update(id="cli-1", totalPrice={"currencyCode": "EUR", "centAmount": 4200})
    _paid_with(order, _load("payment.example.json"), 4200)
    receipt = _assert_full_receipt(map_order(order, MappingContext(config)))
    assert receipt.receiptNumber == "100000001"
    assert receipt.createdDate == "2026-03-01T00:30:00+01:00"  # completedAt wins, Berlin time
    assert receipt.storeExternalId == "ECOM-DE"
    [item] = receipt.items
    assert (item.sku, item.articleName, item.grossPaidPrice, item.taxAmount, item.taxPercent) == (
        "mySlug", "Name DE", D("42.00"), D("0.00"), D("0.00"))  # store locale de-DE -> "de"
    assert '"totalGrossPrice":42.00' in dumps(receipt.to_payload())


def test_payment_examples_are_read_through_the_method_table(config, b2b):
    order = _load("order.example.json")
    order.update(paymentState="Paid", taxedPrice={"totalNet": _money(1000), "totalGross": _money(1100),
                                                  "taxPortions": [{"rate": 0.1, "amount": _money(100)}]})
    for p in _load("payments.example.json")["results"]:
        _paid_with(order, p, 1100)
        receipt = _assert_full_receipt(map_order(order, b2b))
        assert receipt.paymentMethods[0].type == "card"  # STRIPE / CREDIT_CARD
        assert receipt.paymentMethods[0].description == "Credit Card"
