"""Mapping tables load with clear errors; the receipt model and JSON codec keep amounts exact; batch
validation flags duplicates and broken money."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from voyado_sync.mapping import Receipt, batch_problems, dumps, load_config, loads, map_order, receipt_problems
from voyado_sync.mapping.categories import category_paths, product_category_paths
from voyado_sync.mapping.context import MappingContext
from voyado_sync.mapping.frame import order_results, reject_repeated_ids, results_frame, unvalidated
from voyado_sync.settings import ConfigError
from voyado_sync_tests.mapping import ct


def test_shipped_tables():
    cfg = load_config()
    for key in ("web-se", "web-no", "web-dk", "web-fi", "web-de"):
        assert cfg.store("store", key).channel == "web"
    assert cfg.store("channel", "STO-SE-01").channel == "store"
    assert cfg.payment("adyen", "Gift-Card").voyado_type == "bonuscheck"
    assert cfg.payment("pos", "voucher").voyado_type == "bonuscheck"
    assert cfg.payment(None, "CREDIT_CARD").voyado_type == "card"
    assert cfg.rules.sale.payment_states == ("Paid",)


@pytest.mark.parametrize("files, message", [
    ({"stores.csv": "kind,key,store_external_id,timezone,channel\nstore,web-se,E,Mars/Olympus,web\n"}, "timezone 'Mars/Olympus'"),
    ({"stores.csv": "kind,key,store_external_id,timezone,channel\nshop,web-se,E,UTC,web\n"}, "kind 'shop'"),
    ({"stores.csv": "kind,key,store_external_id,timezone,channel\nstore,a,E,UTC,web\nstore,a,F,UTC,web\n"}, "duplicate store 'a'"),
    ({"stores.csv": "kind,key\nstore,a\n"}, "missing column(s) store_external_id"),
    ({"payment_methods.csv": "payment_interface,method,voyado_type\n*,card,\n"}, "method and voyado_type are required"),
    ({"mapping.yaml": "sale:\n  order_state: [Open]\n"}, "sale.order_state"),
    ({"mapping.yaml": "contact:\n  guest_policy: maybe\n"}, "contact.guest_policy"),
    ({"mapping.yaml": "sale: [\n"}, "not valid YAML"),
])
def test_bad_tables_fail_clearly(tmp_path, files, message):
    from voyado_sync.settings import PACKAGE_DATA

    for name in ("stores.csv", "payment_methods.csv", "mapping.yaml"):
        (tmp_path / name).write_text(files.get(name) or (PACKAGE_DATA / name).read_text())
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(tmp_path)


def test_codec_keeps_digits():
    payload = {"a": D("450.00"), "b": D("1200"), "c": [D("-0.00"), True, None, 3, "é\""]}
    text = dumps(payload)
    assert text == '{"a":450.00,"b":1200,"c":[0.00,true,null,3,"é\\""]}'
    assert loads(text)["a"] == D("450.00") and str(loads(text)["a"]) == "450.00"
    with pytest.raises(TypeError, match="float"):
        dumps({"x": 1.5})


def test_model_rejects_wrong_money(ctx):
    p = map_order(ct.order([ct.line("A-1", 1, 10000)]), ctx).payload
    Receipt.from_payload(p)
    with pytest.raises(ValidationError, match="more decimals"):
        Receipt.from_payload({**p, "totalGrossPrice": D("100.001")})
    with pytest.raises(ValidationError, match="no UTC offset"):
        Receipt.from_payload({**p, "createdDate": "2026-11-26T15:05:00"})
    with pytest.raises(ValidationError, match="negative quantity"):
        Receipt.from_payload({**p, "items": [{**p["items"][0], "type": "RETURN"}]})


def test_validate_flags_each_invariant(ctx):
    good = map_order(ct.order([ct.line("A-1", 1, 10000), ct.line("B-1", 1, 5000, rate=0.12)]), ctx).payload
    assert receipt_problems(good) == []
    bad_item = {**good, "items": [{**good["items"][0], "grossPaidPrice": D("99.99")}, good["items"][1]]}
    assert "items sum to 149.99 but totalGrossPrice is 150.00" in receipt_problems(bad_item)
    bad_pay = {**good, "paymentMethods": [{"type": "card", "value": D("150.01")}]}
    assert "payments sum to 150.01 but totalGrossPrice is 150.00" in receipt_problems(bad_pay)
    bad_tax = {**good, "taxDetails": good["taxDetails"][:1]}
    assert any(p.startswith("taxDetails sum to") for p in receipt_problems(bad_tax))
    assert "currency 'ZZZ' is not a known ISO-4217 code" in receipt_problems({**good, "currency": "ZZZ"})
    assert any("float" in p for p in receipt_problems({**good, "totalGrossPrice": 150.0}))
    assert any("more decimals" in p for p in receipt_problems({**good, "totalGrossPrice": D("150.001")}))
    # Read back from stored JSON text, the same payload still validates exactly.
    assert receipt_problems(loads(dumps(good))) == []
    problems = batch_problems([good, bad_pay, good])
    assert problems[0] == [] and problems[1] and any("appears more than once" in p for p in problems[2])


def test_categories_and_frame(ctx):
    cats = [{"id": "c1", "name": {"en": "Women"}, "ancestors": []},
            {"id": "c2", "name": {"en": "Tops"}, "ancestors": [{"typeId": "category", "id": "c1"}]},
            {"id": "c3", "name": {"en": "Shirts", "sv": "Skjortor"},
             "ancestors": [{"typeId": "category", "id": "c1"}, {"typeId": "category", "id": "c2"}]}]
    paths = category_paths(cats)
    assert paths["c3"] == "Women > Tops > Shirts"
    assert product_category_paths([{"id": "p1", "categories": [{"id": "zz"}, {"id": "c3"}, {"id": "c1"}]}], paths) == {
        "p1": "Women > Tops > Shirts"}
    line = ct.line("A-1", 1, 10000, product_id="p1")
    order = ct.order([line])
    order["returnInfo"] = [{"items": [ct.return_item(line, 1)]}]
    ctx2 = MappingContext(ctx.config, product_categories=product_category_paths(
        [{"id": "p1", "categories": [{"id": "c3"}]}], paths))
    import json

    frame = results_frame(order_results([json.dumps(order), "not json"], ctx2))
    assert list(frame["kind"]) == ["purchase", "return", "purchase"]
    assert list(frame["status"]) == ["receipt", "receipt", "rejected"]
    assert list(frame["total_gross"][:2]) == ["100.00", "-100.00"]
    assert loads(frame["payload"][0])["items"][0]["articleGroup"] == "Women > Tops > Shirts"


def test_the_frame_rejects_repeated_ids_and_finds_persisted_receipts_that_were_not_validated(ctx):
    order = ct.order([ct.line("A-1", 1, 10000)])
    frame = results_frame([map_order(order, ctx), map_order(order, ctx)])
    assert reject_repeated_ids(frame) == 1
    uid = frame["unique_receipt_id"][0]
    assert list(frame["status"]) == ["receipt", "rejected"]
    assert frame["reason"][1] == f"uniqueReceiptId {uid!r} appears more than once in the batch"
    assert unvalidated(frame, frame.copy()) == []
    corrupted = frame.copy()
    corrupted.loc[0, "payload"] = corrupted.loc[0, "payload"].replace("100.00", "100.01")
    assert unvalidated(frame, corrupted) == [[f"{uid}: the persisted payload is not the validated one"]]
    doubled = frame.copy()
    doubled.loc[1, "status"] = "receipt"
    assert unvalidated(frame, doubled) == [[f"uniqueReceiptId {uid!r} appears more than once in the batch"]]


def test_fast_and_explaining_validators_agree(ctx):
    """`receipt_problems` answers a clean receipt through a message-free fast path; for any mutation of a
    receipt both paths must agree on whether it is fine."""
    import copy
    import random

    from voyado_sync.mapping.validate import _clean, _problems

    line = ct.line("A-1", 2, 10000, cart_discounts=[("cd", 100)])
    base = map_order(ct.order([line, ct.line("B-1", 1, 5000, rate=0.12)], ship=ct.shipping(4900),
                              payments=[ct.payment(10000, method="giftcard", interface_id="GC"), ct.payment(19700)]),
                     ctx).payload
    junk = [None, "", " ", 0, -1, 1.5, D("0.001"), D("-1.00"), D("NaN"), "x", [], {}, "PURCHASE", "RETURN", True]
    rnd = random.Random(3)

    def paths(doc, prefix=()):
        if isinstance(doc, dict):
            for k, v in doc.items():
                yield prefix + (k,)
                yield from paths(v, prefix + (k,))
        elif isinstance(doc, list):
            for i, v in enumerate(doc):
                yield prefix + (i,)
                yield from paths(v, prefix + (i,))

    assert base is not None
    all_paths = list(paths(base))
    for _ in range(2000):
        p = copy.deepcopy(base)
        path = rnd.choice(all_paths)
        node = p
        for k in path[:-1]:
            node = node[k]
        if rnd.random() < 0.2 and isinstance(node, dict):
            node.pop(path[-1])
        else:
            node[path[-1]] = rnd.choice(junk)
        try:
            fast = _clean(p)
        except Exception:
            fast = False
        assert fast == (not _problems(p)), (path, node.get(path[-1]) if isinstance(node, dict) else None)
