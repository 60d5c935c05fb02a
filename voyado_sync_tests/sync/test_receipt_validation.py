"""One receipt validation: the receipts endpoint refuses a receipt read back for sending for exactly the
reasons, in exactly the words, the mapping refuses it when it builds it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from voyado_sync.mapping import MappingContext, map_order, receipt_problems
from voyado_sync.mapping.receipt_shape import concluded
from voyado_sync.sync.endpoints import ReceiptsEndpoint
from voyado_sync.sync.models import SyncItem
from voyado_sync_tests.mapping import ct


def _mapped() -> dict:
    order = ct.order([ct.line("A-1", 1, 10000), ct.line("B-1", 1, 5000, rate=0.12)])
    result = map_order(order, MappingContext(contact_ids={order["customerId"]: "c0ffee00-0000-0000-0000-000000000001"}))
    assert result.ok, result.reason
    return result.payload


def _refused_by_endpoint(payload, key=None) -> list[str]:
    return ReceiptsEndpoint(client=None).validate(SyncItem(key or payload["uniqueReceiptId"], "receipts", payload))


@pytest.mark.parametrize("mutate,reason", [
    (lambda r: r.pop("receiptNumber"), "receiptNumber is missing"),
    (lambda r: r.update(totalGrossPrice=150.0), "totalGrossPrice is a float, not an exact amount"),
    (lambda r: r["items"][0].update(grossPaidPrice=D("99.99")), "items sum to 149.99 but totalGrossPrice is 150.00"),
    (lambda r: r["contact"].update(matchKeyType=""), "contact.matchKey/matchKeyType is missing"),
    (lambda r: r["items"][1].update(taxPercent=12.0), "items[1].taxPercent 12.0 is not a number in 0..100"),
])
def test_the_endpoint_refuses_what_the_mapping_refuses_in_the_same_words(mutate, reason):
    payload = _mapped()
    assert _refused_by_endpoint(payload) == []
    mutate(payload)
    problems = receipt_problems(payload)
    assert reason in problems
    assert _refused_by_endpoint(payload) == problems
    # The mapping's rejection of the same payload carries the same text.
    rejected = concluded("o-1", "purchase", payload["uniqueReceiptId"], lambda: payload)
    assert rejected.status == "rejected" and rejected.reason == "; ".join(_refused_by_endpoint(payload))


def test_the_endpoint_adds_only_its_own_rules():
    payload = _mapped()
    assert _refused_by_endpoint(payload, key="another-key") == ["key must equal uniqueReceiptId"]
    assert ReceiptsEndpoint(client=None).validate(SyncItem("k", "receipts", ["not", "a", "receipt"])) == [
        "payload must be a JSON object, got list"]
