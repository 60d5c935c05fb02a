"""The payload asset decodes stored orders for what the mapping reads (`voyado_sync.mapping.decode`) and
serializes receipts with msgspec (`voyado_sync.jsonutil.dumps`). Both must be invisible: every document
maps to the same result, reason and payload bytes as from its fully parsed JSON, malformed ones included."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voyado_sync import jsonutil
from voyado_sync.extract.flatten import raw_json
from voyado_sync.mapping.decode import document, order_document
from voyado_sync.mapping.frame import order_results, pos_results, results_frame
from voyado_sync.mapping.models import dumps
from voyado_sync_tests.mapping import ct
from voyado_sync_tests.mapping.test_bad_input import CASES, _base


def _text(payload):
    """The payload's bytes, or the error the encoder raises (a float from the document in a text field:
    e.g. a numeric customerId as matchKey, which the receipt validation does not type-check)."""
    try:
        return dumps(payload) if payload else None
    except (TypeError, ValueError) as exc:
        return type(exc)


def _outcomes(results):
    return [(r.source_id, r.kind, r.status, r.unique_receipt_id, r.reason, _text(r.payload)) for r in results]


def _same_both_ways(texts, ctx):
    """Decoded from the stored text vs. from the whole document (json.loads, handed over as a dict)."""
    fast = order_results(texts, ctx)
    full = order_results([d if isinstance(d := _loads(t), dict) else t for t in texts], ctx)
    assert _outcomes(fast) == _outcomes(full)
    return fast


def _loads(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def generator_orders():
    from voyado_sync.sandbox.generator import GeneratorConfig, generate

    ds = generate(GeneratorConfig(seed=3, persons=150, orders=400, pos_receipts=60))
    payments = {p["id"]: p for p in ds.payments}
    for o in ds.orders:
        for ref in (o.get("paymentInfo") or {}).get("payments") or ():
            if ref.get("id") in payments:
                ref["obj"] = payments[ref["id"]]
    return ds


def test_generator_orders_map_the_same_from_the_decoded_fields(generator_orders, ctx):
    results = _same_both_ways([raw_json(o) for o in generator_orders.orders], ctx)
    kinds = {(r.kind, r.status) for r in results}
    assert {("purchase", "receipt"), ("purchase", "skipped"), ("return", "receipt")} <= kinds


def test_pos_receipts_map_the_same(generator_orders, ctx):
    texts = [raw_json(r) for r in generator_orders.pos_receipts] + ["[1]", "not json", '{"receipt_id": NaN}']
    fast = pos_results(texts, ctx)
    assert _outcomes(fast) == _outcomes(pos_results([_loads(t) if isinstance(_loads(t), dict) else t
                                                     for t in texts], ctx))
    assert any(r.ok for r in fast)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_rejection_keeps_its_reason(name, ctx):
    order = _base()
    CASES[name][0](order)
    (purchase, *_) = _same_both_ways([raw_json(order)], ctx)
    assert purchase.status == "rejected"


@pytest.mark.parametrize("text", [
    "not json", "[]", "null", '"an order"', "{", '{"id": NaN}', '{"id": "x", "totalPrice": {"centAmount": 1e400}}',
    '{"id": "x", "customerEmail": "\\ud800@x.se"}', '{"id": "x", "lineItems": {"a": 1}}',
    '{"id": "x", "lineItems": [null]}', '{"id": "x", "lineItems": ["a"]}', '{"id": "x", "lineItems": [{"variant": 5}]}',
    '{"id": "x", "shippingInfo": []}', '{"id": "x", "shippingAddress": "SE"}', '{"id": "x", "lineItems": null}',
    '{"id": "x", "id": "y"}', '{"id": 123456789012345678901234567890}',
])
def test_documents_the_typed_decoder_refuses_are_read_in_full(text, ctx):
    expected = _loads(text)
    assert order_document(text) == (expected if isinstance(expected, dict) else None)
    assert document(text) == (expected if isinstance(expected, dict) else None)
    _same_both_ways([text], ctx)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                     max_leaves=6)
_PLACES = ["order", "line", "variant", "shippingInfo", "shippingAddress", "payment"]
_KEYS = ["id", "sku", "price", "quantity", "taxRate", "taxedPrice", "totalPrice", "lineItems", "variant",
         "shippingInfo", "country", "paymentInfo", "returnInfo", "customLineItems", "name", "store", "locale",
         "discountedPricePerQuantity", "customerId", "transactions", "obj", "centAmount", "unknownField"]


_PATHS = {"order": (), "line": ("lineItems", 0), "variant": ("lineItems", 0, "variant"),
          "shippingInfo": ("shippingInfo",), "shippingAddress": ("shippingAddress",),
          "payment": ("paymentInfo", "payments", 0, "obj")}


def _place(order, where):
    """The object at ``where``, or None when an earlier edit replaced a step of the way."""
    node = order
    for step in _PATHS[where]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node if isinstance(node, dict) else None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(_PLACES), st.sampled_from(_KEYS), _json), min_size=1, max_size=3))
def test_any_edit_maps_the_same_from_the_decoded_fields(edits, ctx):
    order = ct.order([ct.line("A-1", 2, 10000), ct.line("B-1", 1, 5000, rate=0.12)], ship=ct.shipping(4900),
                     order_id="edit-1")
    order["returnInfo"] = [{"items": [ct.return_item(order["lineItems"][0], 1)]}]
    for where, key, value in edits:
        place = _place(order, where)
        if place is not None:
            place[key] = copy.deepcopy(value)
    _same_both_ways([raw_json(order)], ctx)


def test_receipts_serialize_to_the_same_bytes_as_the_exact_encoder(generator_orders, ctx):
    payloads = [r.payload for r in order_results([raw_json(o) for o in generator_orders.orders], ctx) if r.payload]
    assert payloads
    for p in payloads:
        out: list[str] = []
        jsonutil.encode(p, out, allow_float=False)
        assert dumps(p) == "".join(out)
    frame = results_frame(order_results([raw_json(o) for o in generator_orders.orders], ctx))
    assert list(frame.loc[frame["status"] == "receipt", "payload"]) == [dumps(p) for p in payloads]


@pytest.mark.parametrize("value, text", [
    (Decimal("-0.00"), "0.00"), (Decimal("1E+2"), "100"), (Decimal("-1.5E-9"), "-0.0000000015"),
    (Decimal("450.00"), "450.00"), ((1, "a"), '[1,"a"]'), ("x\u2028\x1f\"\\", '"x\u2028\\u001f\\"\\\\"'),
    ({"1": [True, None]}, '{"1":[true,null]}'), (10**30, str(10**30)),
])
def test_dumps_writes_what_the_exact_encoder_writes(value, text):
    assert jsonutil.dumps({"v": value}) == '{"v":' + text + "}"


@pytest.mark.parametrize("value, error", [(1.5, TypeError), (Decimal("NaN"), ValueError), (Decimal("Infinity"), ValueError)])
def test_dumps_refuses_what_the_exact_encoder_refuses(value, error):
    with pytest.raises(error):
        dumps({"items": [{"v": value}]})
