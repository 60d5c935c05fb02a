"""taxDetails and the order tax-portion check share one pass over the lines (`prepare_order` groups tax
and gross per percent): these pin the naming, ordering and rejection reasons of that shared pass."""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D

from voyado_sync.mapping import dumps, map_order
from voyado_sync_tests.mapping import ct


def _mixed_order(**kw):
    lines = [ct.line("A-1", 2, 10000), ct.line("F-1", 1, 5000, rate=0.12), ct.line("B-1", 1, 2500)]
    return ct.order(lines, ship=ct.shipping(4900), **kw)


def test_tax_details_grouped_per_percent_sorted_and_named_after_the_portion(ctx):
    order = _mixed_order()
    for p in order["taxedPrice"]["taxPortions"]:
        p["name"] = f"portion {p['rate']}"
    r = map_order(order, ctx)
    assert r.status == "receipt", r.reason
    details = r.payload["taxDetails"]
    assert [d["percent"] for d in details] == [D("12.00"), D("25.00")]
    assert [d["description"] for d in details] == ["portion 0.12", "portion 0.25"]
    by_pct = {d["percent"]: d for d in details}
    # 25 %: two lines (20000 + 2500) and shipping 4900, all tax included
    assert by_pct[D("25.00")]["totalIncludingTax"] == D("274.00")
    assert by_pct[D("25.00")]["value"] == sum(i["taxAmount"] for i in r.payload["items"] if i["taxPercent"] == D("25.00"))
    for d in details:
        assert d["totalIncludingTax"] - d["totalExcludingTax"] == d["value"]


def test_tax_detail_falls_back_to_the_first_lines_tax_name_then_the_percent(ctx):
    order = _mixed_order()
    for p in order["taxedPrice"]["taxPortions"]:
        p.pop("name")
    order["lineItems"][1]["taxRate"]["name"] = "Food"
    order["lineItems"][0]["taxRate"].pop("name")  # the first 25 % line has no name: no later line is used
    r = map_order(order, ctx)
    assert r.status == "receipt", r.reason
    assert [d["description"] for d in r.payload["taxDetails"]] == ["Food", "25.00%"]


def test_portion_mismatch_names_the_rate_and_both_amounts(ctx):
    order = _mixed_order()
    portions = order["taxedPrice"]["taxPortions"]
    moved = 100
    portions[0]["amount"]["centAmount"] -= moved
    portions[1]["amount"]["centAmount"] += moved
    r = map_order(order, ctx)
    assert r.status == "rejected"
    assert r.reason.startswith("order tax portion at ")
    assert "but the lines' tax at" in r.reason


def test_mapping_is_deterministic_and_leaves_the_order_untouched(ctx):
    order = _mixed_order(discount_codes=[])
    before = copy.deepcopy(order)
    first, second = map_order(order, ctx), map_order(json.loads(json.dumps(order)), ctx)
    assert order == before
    assert first.status == second.status == "receipt"
    assert dumps(first.payload) == dumps(second.payload)
