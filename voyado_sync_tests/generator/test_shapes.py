"""Documents look like the API's: the official examples' keys, resolvable references, timestamps in the window."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

EXAMPLES = Path("/work/shared/reference/commercetools-examples")
REPO = Path(__file__).resolve().parents[2]
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# Optional fields the examples happen to carry but a document may rightly lack.
OPTIONAL = {"order": {"businessUnit", "customerId"}, "category": {"parent"}}


def _example(name: str) -> dict:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"reference example {name} not available")
    return json.loads(path.read_text())


@pytest.mark.parametrize("example, attr, pick, optional", [
    ("order.example.json", "orders", None, "order"),
    ("customer.example.json", "customers", None, None),
    ("payment.example.json", "payments", None, None),
    ("product-projection.example.json", "products", None, None),
    ("category.example.json", "categories", None, "category"),
    ("inventory.example.json", "inventory", None, None),
    ("store.example.json", "stores", None, None),
    ("type.example.json", "types", None, None),
])
def test_documents_have_every_field_of_the_official_example(ds, example, attr, pick, optional):
    ex = _example(example)
    allowed_missing = OPTIONAL.get(optional, set())
    docs = getattr(ds, attr)
    assert docs
    for doc in docs:
        missing = set(ex) - set(doc) - allowed_missing
        assert not missing, (attr, doc.get("id"), missing)


def test_nested_order_parts_match_the_example(ds):
    ex = _example("order.example.json")
    ex_line = ex["lineItems"][0]
    for o in ds.orders:
        for li in o["lineItems"]:
            assert not set(ex_line) - set(li)
            assert not set(ex_line["variant"]) - set(li["variant"])
            assert not set(ex_line["taxedPrice"]) - set(li["taxedPrice"])
            assert not set(ex_line["taxRate"]) - set(li["taxRate"])
            assert set(li["totalPrice"]) == set(ex_line["totalPrice"])
    ex_pay = _example("payment.example.json")
    for p in ds.payments:
        for t in p["transactions"]:
            assert not set(ex_pay["transactions"][0]) - set(t)
    ex_prod = _example("product-projection.example.json")
    for p in ds.products:
        for v in [p["masterVariant"], *p["variants"]]:
            assert not set(ex_prod["masterVariant"]) - set(v)


def _timestamps(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("createdAt", "lastModifiedAt", "timestamp", "addedAt", "returnDate") and isinstance(v, str):
                yield f"{path}.{k}", v
            else:
                yield from _timestamps(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _timestamps(v, f"{path}[{i}]")


def test_timestamps_are_api_formatted_inside_the_window(ds, default_cfg):
    lo, hi = default_cfg.window_start, default_cfg.window_end
    for attr in ("customers", "orders", "payments", "products", "categories", "inventory", "stores", "channels",
                 "carts", "types"):
        for doc in getattr(ds, attr):
            assert doc["createdAt"] <= doc["lastModifiedAt"], (attr, doc["id"])
            for where, ts in _timestamps(doc):
                assert TS.match(ts), (attr, where, ts)
                assert lo <= datetime.fromisoformat(ts.replace("Z", "+00:00")) <= hi, (attr, where, ts)
    for r in ds.pos_receipts:
        t = datetime.fromisoformat(r["created_at"])
        assert t.utcoffset() is not None and lo <= t <= hi
    for c in ds.voyado_contacts:
        assert lo <= datetime.fromisoformat(c["meta"]["createdOn"]) <= datetime.fromisoformat(c["meta"]["modifiedOn"]) <= hi


def test_ids_are_uuids_and_unique(ds):
    for attr in ("customers", "orders", "payments", "products", "categories", "inventory", "stores", "channels",
                 "carts", "types", "voyado_contacts"):
        ids = [d["id"] for d in getattr(ds, attr)]
        assert len(ids) == len(set(ids)), attr
        assert all(UUID.match(i) for i in ids), attr
    numbers = [o["orderNumber"] for o in ds.orders]
    assert len(numbers) == len(set(numbers))
    keys = [(e["sku"], (e.get("supplyChannel") or {}).get("id")) for e in ds.inventory]
    assert len(keys) == len(set(keys))  # one entry per (sku, supplyChannel)


def test_references_resolve(ds):
    customers = {c["id"] for c in ds.customers}
    payments = {p["id"] for p in ds.payments}
    channels = {c["id"]: c for c in ds.channels}
    stores = {s["key"] for s in ds.stores}
    categories = {c["id"] for c in ds.categories}
    products = {p["id"] for p in ds.products}
    skus = {v["sku"] for p in ds.products for v in [p["masterVariant"], *p["variants"]]}
    for o in ds.orders + ds.carts:
        assert o["store"]["key"] in stores and "id" not in o["store"]  # KeyReference
        if "customerId" in o:
            assert o["customerId"] in customers
        for li in o["lineItems"]:
            assert li["productId"] in products and li["variant"]["sku"] in skus
            assert "ProductDistribution" in channels[li["distributionChannel"]["id"]]["roles"]
            assert "InventorySupply" in channels[li["supplyChannel"]["id"]]["roles"]
    for o in ds.orders:
        assert all(r["id"] in payments for r in o["paymentInfo"]["payments"])
    for c in ds.categories:
        assert all(a["id"] in categories for a in c["ancestors"])
        if "parent" in c:
            assert c["ancestors"][-1] == c["parent"]
    assert max(len(c["ancestors"]) for c in ds.categories) == 2  # depth 3
    for p in ds.products:
        assert all(c["id"] in categories for c in p["categories"])
        for v in [p["masterVariant"], *p["variants"]]:
            for ch in v["availability"]["channels"]:
                assert "InventorySupply" in channels[ch]["roles"]
    for e in ds.inventory:
        if "supplyChannel" in e:
            assert e["supplyChannel"]["id"] in channels
    for s in ds.stores:
        assert all(c["id"] in channels for c in s["distributionChannels"] + s["supplyChannels"])


def test_catalog_is_localized_and_priced_in_every_scope(ds):
    locales = {"en", "sv-SE", "nb-NO", "da-DK", "fi-FI", "de-DE"}
    scopes = set()
    for p in ds.products:
        assert set(p["name"]) == locales and set(p["slug"]) == locales
        for v in [p["masterVariant"], *p["variants"]]:
            assert v["sku"] and v["images"]
            for price in v["prices"]:
                scopes.add((price["value"]["currencyCode"], "country" in price, "channel" in price,
                            "customerGroup" in price))
    currencies = {s[0] for s in scopes}
    assert {"SEK", "NOK", "DKK", "EUR", "JPY"} <= currencies
    assert any(s[2] for s in scopes) and any(s[3] for s in scopes) and any(not any(s[1:]) for s in scopes)
    assert any(p["variants"] for p in ds.products)


def test_stores_and_channels_match_the_store_mapping_table(ds):
    path = REPO / "data" / "stores.csv"
    if not path.exists():
        pytest.skip("data/stores.csv not present")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    store_keys = {s["key"] for s in ds.stores}
    channel_keys = {c["key"] for c in ds.channels}
    for row in rows:
        if row["kind"] == "store":
            assert row["key"] in store_keys
        if row["kind"] == "channel":
            assert row["key"] in channel_keys
    physical = [c for c in ds.channels if c["key"].startswith("STO-")]
    assert physical and all(set(c["roles"]) >= {"InventorySupply", "ProductDistribution"} for c in physical)
    assert {r["store_id"] for r in ds.pos_receipts} <= {c["key"] for c in physical}


def test_orders_carry_what_the_integration_reads(ds):
    for o in ds.orders:
        assert o["orderNumber"] and o["country"] and o["locale"] and o["customerEmail"] is not None
        assert o["billingAddress"]["country"] and o["shippingAddress"]["country"]
        assert o["shippingInfo"]["taxedPrice"] == o["taxedShippingPrice"]
    assert any("email" in o["billingAddress"] and "mobile" in o["billingAddress"] for o in ds.orders)


def test_abandoned_carts(ds, default_cfg):
    hi = default_cfg.window_end
    abandoned = [c for c in ds.carts if c["cartState"] == "Active"
                 and (hi - datetime.fromisoformat(c["lastModifiedAt"].replace("Z", "+00:00"))).total_seconds() > 3600]
    assert abandoned and any("customerId" in c for c in abandoned) and any("customerEmail" in c for c in abandoned)
