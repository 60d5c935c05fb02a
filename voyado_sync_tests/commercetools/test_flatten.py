"""Typed columns of the pure flattening (no HTTP): prices with scope, availability per channel, phones."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from voyado_sync.extract.datasets import DATASETS
from voyado_sync.extract.flatten import flatten_page, raw_json

from .support import example


def money(cents: int, currency: str = "SEK", digits: int = 2) -> dict:
    return {"type": "centPrecision", "currencyCode": currency, "centAmount": cents, "fractionDigits": digits}


def test_product_projection_prices_availability_and_images():
    doc = example("product-projection")
    doc["masterVariant"].update({
        "sku": "SKU-1",
        "prices": [{"id": "p1", "value": money(19900)},
                   {"id": "p2", "value": money(1800, "JPY", 0), "country": "JP",
                    "channel": {"typeId": "channel", "id": "ch-1"},
                    "customerGroup": {"typeId": "customer-group", "id": "vip"},
                    "discounted": {"value": money(1500, "JPY", 0), "discount": {"typeId": "product-discount",
                                                                               "id": "d"}}}],
        "availability": {"isOnStock": True, "availableQuantity": 3,
                         "channels": {"ch-2": {"isOnStock": False, "availableQuantity": 0, "id": "i", "version": 1}}},
        "images": [{"url": "https://img/1.jpg", "dimensions": {"w": 1, "h": 1}}],
    })
    doc["variants"] = [{"id": 2, "sku": "SKU-2", "prices": [], "images": [], "attributes": []}]
    page = flatten_page(DATASETS["product_projections"], [doc])
    assert page.rejects.num_rows == 0
    row = page.rows.to_pylist()[0]
    assert row["skus"] == ["SKU-1", "SKU-2"] and row["variant_count"] == 2 and row["master_sku"] == "SKU-1"
    jp = row["prices"][1]
    assert (jp["amount"], jp["currency"], jp["country"], jp["channel_id"], jp["customer_group_id"]) == \
        (Decimal("1800"), "JPY", "JP", "ch-1", "vip")
    assert jp["discounted_amount"] == Decimal("1500")
    assert row["prices"][0]["amount"] == Decimal("199.00")
    assert [(a["channel_id"], a["is_on_stock"], a["available_quantity"]) for a in row["availability"]] == \
        [(None, True, 3), ("ch-2", False, 0)]
    assert row["images"] == [{"sku": "SKU-1", "url": "https://img/1.jpg"}]
    assert row["currencies"] == ["JPY", "SEK"]


def test_customer_default_address_phone_and_all_phones():
    doc = example("customer")
    doc["addresses"] = [{"id": "a1", "country": "SE", "phone": "08-123 456"},
                        {"id": "a2", "country": "NO", "mobile": "+47 912 34 567"}]
    doc["defaultShippingAddressId"] = "a2"
    doc["stores"] = [{"typeId": "store", "key": "se"}]
    row = flatten_page(DATASETS["customers"], [doc]).rows.to_pylist()[0]
    assert (row["country"], row["mobile"], row["phone"]) == ("NO", "+47 912 34 567", None)
    assert row["address_phones"] == ["08-123 456", "+47 912 34 567"] and row["store_keys"] == ["se"]


def test_order_returns_and_high_precision_money():
    doc = example("order")
    doc["returnInfo"] = [{"returnDate": "2026-01-02T10:00:00.000Z", "items": [
        {"type": "LineItemReturnItem", "id": "r1", "lineItemId": doc["lineItems"][0]["id"], "quantity": 1,
         "shipmentState": "Returned", "paymentState": "Initial"}]}]
    doc["lineItems"][0]["totalPrice"] = {"type": "highPrecision", "currencyCode": "EUR", "centAmount": 1000,
                                         "fractionDigits": 4, "preciseAmount": 100012}
    row = flatten_page(DATASETS["orders"], [doc]).rows.to_pylist()[0]
    assert row["returned_quantity"] == 1 and row["return_items"][0]["shipment_state"] == "Returned"
    assert row["line_items"][0]["total_amount"] == Decimal("10.0012")


def test_a_value_that_does_not_fit_its_column_is_rejected_alone():
    good, bad = example("inventory"), example("inventory")
    bad["id"] = "other"
    bad["quantityOnStock"] = 2**70  # beyond int64
    page = flatten_page(DATASETS["inventory"], [good, bad, "not a document"])
    assert page.rows.num_rows == 1
    reasons = page.rejects.column("reason").to_pylist()
    assert any("column type" in r for r in reasons) and any("not an object" in r for r in reasons)


def _dumps(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@pytest.mark.parametrize("doc", [
    {"b": 1, "a": {"z": [1, {"y": 2, "c": 3}]}}, {"rate": 0.25, "n": -0.0, "tiny": 1e-4, "big": 9.5e15},
    {"f": 1e16}, {"f": 1e-5}, {"f": -2.5e-8}, {"f": float("nan")}, {"f": float("inf")}, {"v": None},
    {"big": 10**40}, {"s": "x\u2028\x1f\"\\ é", "t": "size 3e5, blue"}, {"k": (1, 2)}, {"odd": "\ud800"},
    {"d": Decimal("1.50")},
])
def test_raw_json_is_what_json_dumps_writes(doc):
    assert raw_json(doc) == _dumps(doc)


def test_raw_json_of_generated_documents():
    from voyado_sync.sandbox.generator import GeneratorConfig, generate

    ds = generate(GeneratorConfig(seed=2, persons=60, orders=150, pos_receipts=40))
    docs = ds.orders + ds.customers + ds.products + ds.payments + ds.pos_receipts
    assert docs and all(raw_json(d) == _dumps(d) for d in docs)
