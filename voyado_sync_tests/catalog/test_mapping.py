"""Products, categories, inventory and channels → Elevate catalog lines (pure mapping): prices exact per
market, stock per supply channel, localized texts and category paths, primary image, variations, and
every product that is not sent says why."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from voyado_sync.mapping.catalog import catalog
from voyado_sync.mapping.config import CatalogRule, Market

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
RULE = CatalogRule()


def docs(name: str) -> list[dict]:
    return [json.loads(line) for line in (SAMPLE / f"{name}.ndjson").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def sample():
    return {"products": docs("product-projections"), "categories": docs("categories"),
            "inventory": docs("inventory"), "channels": docs("channels")}


def build(sample, products=None, rule=RULE, inventory=None, now=NOW):
    return catalog(products if products is not None else sample["products"], sample["categories"],
                   sample["inventory"] if inventory is None else inventory, sample["channels"], rule, now)


def by_key(result):
    return {r.key: r for r in result.results}


def channel_id(sample, key):
    return next(c["id"] for c in sample["channels"] if c["key"] == key)


def test_every_sample_product_becomes_one_group_with_exact_prices_per_market(sample):
    out = build(sample)
    assert out.warnings == [] and [r.status for r in out.results] == ["line"] * len(sample["products"])
    doc = sample["products"][0]
    line = by_key(out)[doc["key"]].payload["replace"]
    assert line["key"] == doc["key"]
    (product,) = line["productGroup"]["products"].values()
    assert product["markets"] == ["se", "no", "dk", "fi", "de"]
    master = doc["masterVariant"]
    variant = product["variants"][master["sku"]]

    def expected(country, currency):
        p = next(p for p in master["prices"] if p.get("country") == country and p["value"]["currencyCode"] == currency
                 and not p.get("channel") and not p.get("customerGroup"))
        return Decimal(p["value"]["centAmount"]).scaleb(-p["value"]["fractionDigits"])

    assert variant["defaults"]["listPrice"] == expected("SE", "SEK")
    assert isinstance(variant["defaults"]["listPrice"], Decimal) and str(variant["defaults"]["listPrice"]).endswith(".00")
    assert variant["overrides"]["de|*"]["sellingPrice"] == expected("DE", "EUR")
    assert variant["overrides"]["no|*"]["listPrice"] == expected("NO", "NOK")
    # Every SKU of the product is a variant; no JPY market is configured, so no JPY price travels.
    skus = [master["sku"]] + [v["sku"] for v in doc["variants"]]
    assert list(product["variants"]) == skus
    assert all(p != expected("JP", "JPY") for v in product["variants"].values()
               for p in [v["defaults"]["listPrice"]] + [o["listPrice"] for o in v["overrides"].values()])


def test_stock_comes_from_the_market_supply_channel(sample):
    out = build(sample)
    doc = sample["products"][0]
    sku = doc["masterVariant"]["sku"]
    variant = next(iter(by_key(out)[doc["key"]].payload["replace"]["productGroup"]["products"].values()))["variants"][sku]
    nordic, de = channel_id(sample, "WH-NORDIC"), channel_id(sample, "WH-DE")
    qty = {e["supplyChannel"]["id"]: e["availableQuantity"] for e in sample["inventory"]
           if e["sku"] == sku and "supplyChannel" in e}
    assert variant["defaults"]["stock"] == qty[nordic] and variant["overrides"]["de|*"]["stock"] == qty[de]
    # The latest inventory entry wins over the projection's availability (which may be days old).
    moved = [dict(e, availableQuantity=7) if e["sku"] == sku and e.get("supplyChannel", {}).get("id") == nordic
             else e for e in sample["inventory"]]
    v1 = next(iter(by_key(build(sample, inventory=moved))[doc["key"]].payload["replace"]["productGroup"]["products"]
                   .values()))["variants"][sku]
    assert v1["defaults"]["stock"] == 7 and v1["overrides"]["de|*"]["stock"] == qty[de]
    # Without inventory entries the projection's own channel availability is used.
    fallback = build(sample, inventory=[])
    v2 = next(iter(by_key(fallback)[doc["key"]].payload["replace"]["productGroup"]["products"].values()))["variants"][sku]
    projected = doc["masterVariant"]["availability"]["channels"][nordic]["availableQuantity"]
    assert projected is not None and v2["defaults"]["stock"] == projected
    # A stock channel that is not a known channel key: stock left out, and said.
    rule = RULE.model_copy(update={"markets": (Market(id="se", country="SE", currency="SEK", locale="sv-SE",
                                                      stock_channel="WH-NOWHERE"),)})
    odd = build(sample, rule=rule)
    assert odd.warnings and "WH-NOWHERE" in odd.warnings[0]
    v3 = next(iter(by_key(odd)[doc["key"]].payload["replace"]["productGroup"]["products"].values()))["variants"][sku]
    assert "stock" not in v3["defaults"] and v3["defaults"]["listPrice"] > 0


def test_texts_are_localized_with_category_paths_and_primary_image(sample):
    doc = sample["products"][0]
    product = next(iter(by_key(build(sample))[doc["key"]].payload["replace"]["productGroup"]["products"].values()))
    d = product["defaults"]
    assert d["dataLocale"] == "en" and d["title"] == doc["name"]["en"]
    assert d["url"] == f"/en/p/{doc['slug']['en']}"
    cats = {c["id"]: c for c in sample["categories"]}
    primary = cats[doc["categories"][0]["id"]]
    path = [cats[a["id"]]["name"]["en"] for a in primary["ancestors"]] + [primary["name"]["en"]]
    assert d["ontology"] == " > ".join(path)
    sv = product["overrides"]["*|sv-SE"]
    assert sv["title"] == doc["name"]["sv-SE"] and sv["url"] == f"/sv-SE/p/{doc['slug']['sv-SE']}"
    assert sv["ontology"].split(" > ")[-1] == primary["name"]["sv-SE"]
    assert d["imageInfo"]["images"][0]["sources"][0]["url"] == doc["masterVariant"]["images"][0]["url"]


def _price(country, currency, cents, **extra):
    return {"id": f"p-{country}-{currency}-{cents}", "value": {"type": "centPrecision", "currencyCode": currency,
                                                               "centAmount": cents, "fractionDigits": 2},
            **({"country": country} if country else {}), **extra}


def _product(key, sku="S-1", prices=(), **extra):
    return {"id": f"id-{key}", "version": 1, "key": key, "name": {"en": key}, "slug": {"en": key.lower()},
            "published": True, "categories": [],
            "masterVariant": {"id": 1, "sku": sku, "prices": list(prices)}, "variants": [], **extra}


def _selling(result, key, market="se"):
    (product,) = result.payload["replace"]["productGroup"]["products"].values()
    v = next(iter(product["variants"].values()))
    fields = v["defaults"] if market == "se" else v["overrides"][f"{market}|*"]
    return fields["listPrice"], fields["sellingPrice"]


def test_price_choice_country_then_currency_validity_discounts(sample):
    prices = [
        _price(None, "SEK", 50000),                                        # currency fallback
        _price("SE", "SEK", 45000, customerGroup={"typeId": "customer-group", "id": "vip"}),  # not public
        _price("SE", "SEK", 44000, channel={"typeId": "channel", "id": "x"}),                  # not public
        _price("SE", "SEK", 30000, validUntil="2026-01-01T00:00:00.000Z"),                     # expired
        _price("SE", "SEK", 39900, discounted={"value": {"type": "centPrecision", "currencyCode": "SEK",
                                                         "centAmount": 29900, "fractionDigits": 2},
                                                "discount": {"typeId": "product-discount", "id": "d"}}),
        _price("DE", "EUR", 4995, validFrom="2027-01-01T00:00:00.000Z"),  # not valid yet
        _price(None, "EUR", 5495),
    ]
    (r,) = build(sample, products=[_product("PX", prices=prices)]).results
    assert r.status == "line" and r.markets == ("se", "fi", "de")
    assert _selling(r, "PX") == (Decimal("399.00"), Decimal("299.00"))
    assert _selling(r, "PX", "de") == (Decimal("54.95"), Decimal("54.95"))
    (later,) = build(sample, products=[_product("PX", prices=prices)], now=datetime(2027, 2, 1, tzinfo=timezone.utc)).results
    assert _selling(later, "PX", "de") == (Decimal("49.95"), Decimal("49.95"))


def test_products_not_sent_say_why(sample):
    good = _product("OK", "S-OK", [_price("SE", "SEK", 100)])
    products = [
        good,
        _product("UNPUB", "S-U", [_price("SE", "SEK", 100)], published=False),
        _product("NOPRICE", "S-N", [_price("JP", "JPY", 100)]),
        _product("NOSKU", None, [_price("SE", "SEK", 100)]),
        _product("BADMONEY", "S-B", [{"id": "bad", "value": {"currencyCode": "SEK"}, "country": "SE"}]),
        {"id": "id-NOMASTER", "key": "NOMASTER", "published": True},
        _product("ZDUP", "S-OK", [_price("SE", "SEK", 200)]),       # repeats OK's SKU
    ]
    out = by_key(build(sample, products=products))
    assert out["OK"].status == "line"
    assert (out["UNPUB"].status, out["UNPUB"].reason) == ("skipped", "unpublished")
    assert (out["NOPRICE"].status, out["NOPRICE"].reason) == ("skipped", "no price in any configured market")
    assert (out["NOSKU"].status, out["NOSKU"].reason) == ("skipped", "no variant has a SKU")
    assert out["BADMONEY"].status == "rejected" and "price bad" in out["BADMONEY"].reason
    assert out["NOMASTER"].status == "rejected" and "masterVariant" in out["NOMASTER"].reason
    assert out["ZDUP"].status == "rejected" and out["ZDUP"].reason == "SKU S-OK is already carried by product id-OK"
    # The result does not depend on input order.
    again = by_key(build(sample, products=list(reversed(copy.deepcopy(products)))))
    assert {k: (r.status, r.reason, r.payload) for k, r in again.items()} == \
        {k: (r.status, r.reason, r.payload) for k, r in out.items()}


def test_variation_attribute_splits_a_group_into_products(sample):
    def variant(i, sku, color):
        return {"id": i, "sku": sku, "prices": [_price("SE", "SEK", 1000)],
                "attributes": [{"name": "color", "value": {"key": color, "label": color.title()}}],
                "images": [{"url": f"https://img/{sku}.jpg", "dimensions": {"w": 800, "h": 800}}]}

    doc = _product("TEE")
    doc["masterVariant"] = variant(1, "TEE-RED-S", "red")
    doc["variants"] = [variant(2, "TEE-RED-M", "red"), variant(3, "TEE-BLUE-S", "blue")]
    (r,) = build(sample, products=[doc]).results
    products = r.payload["replace"]["productGroup"]["products"]
    assert set(products) == {"TEE-red", "TEE-blue"} and r.variants == 3
    assert list(products["TEE-red"]["variants"]) == ["TEE-RED-S", "TEE-RED-M"]
    assert products["TEE-blue"]["defaults"]["imageInfo"]["images"][0]["sources"] == [
        {"url": "https://img/TEE-BLUE-S.jpg", "width": 800}]
    one = build(sample, products=[doc], rule=RULE.model_copy(update={"variation_attribute": None})).results[0]
    assert list(one.payload["replace"]["productGroup"]["products"]) == ["TEE"]


def test_deleted_products_are_not_sent_and_their_group_goes(sample):
    live = _product("LIVE", "S-L", [_price("SE", "SEK", 100)])
    gone = _product("GONE", "S-G", [_price("SE", "SEK", 100)])
    reborn = _product("AGAIN", "S-A", [_price("SE", "SEK", 100)])   # deleted, then re-created with its key
    result = catalog([live, gone, dict(reborn, id="id-AGAIN-new")], sample["categories"], sample["inventory"],
                     sample["channels"], RULE, NOW, {"id-GONE": "GONE", "id-AGAIN": "AGAIN", "id-NOKEY": None})
    assert len([r for r in result.results if r.key == "AGAIN"]) == 1
    out = by_key(result)
    assert out["LIVE"].status == "line" and out["AGAIN"].status == "line"
    assert (out["GONE"].status, out["GONE"].reason) == ("skipped", "deleted in Commercetools")
    assert (out["id-NOKEY"].status, out["id-NOKEY"].reason) == ("skipped", "deleted in Commercetools")
