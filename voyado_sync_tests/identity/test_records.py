"""Extraction from raw source documents, and resolution quality on the sandbox generator's data."""

from __future__ import annotations

import pytest

from voyado_sync.identity.incremental import full_run
from voyado_sync.identity.records import extract
from voyado_sync.identity.synthetic import pair_metrics

from .helpers import RULES, contact, customer, order, receipt


def test_extract_reads_every_identifier_and_rejects_unreadable_documents():
    inp = extract([customer("c1", "a@x.se", "0701234567", customerNumber="K-1", externalId="ext-1")],
                  [order("o1", "c1", "b@x.se", "0707654321"), {"id": "o-anon", "lineItems": []}],
                  [receipt("r1", member="M1", card="C1", phone="0701", email="c@x.se"), {"customer": {}}],
                  [contact("V1", "d@x.se", "+46700000001", "M1", "ext-1"), "{not json", 42])
    got = set(zip(inp.identifiers["record_key"], inp.identifiers["id_type"]))
    assert {("ct_customer:c1", t) for t in ("ct_customer_id", "email", "phone", "external_id", "customer_number")} <= got
    assert {("ct_order:o1", t) for t in ("ct_customer_id", "email", "phone")} <= got
    assert {("pos_receipt:r1", t) for t in ("member_number", "card_id", "phone", "email")} <= got
    assert {("voyado_contact:V1", t) for t in ("voyado_contact_id", "email", "phone", "member_number",
                                               "external_id")} <= got
    assert "ct_order:o-anon" not in set(inp.records["record_key"])  # no identifier: not an identity record
    assert len(inp.rejects) == 3 and all(inp.rejects["reason"].str.startswith("unreadable document"))
    assert inp.records.set_index("record_key").loc["pos_receipt:r1", "country"] == "SE"


@pytest.mark.slow
def test_generator_dataset_resolves_with_high_precision():
    generator = pytest.importorskip("voyado_sync.sandbox.generator")
    ds = generator.generate(generator.GeneratorConfig(seed=5, persons=250, orders=600, days=3))
    inp = extract(ds.customers, ds.orders, ds.pos_receipts, ds.voyado_contacts, RULES)
    result = full_run(inp, RULES)
    truth = ds.ground_truth.assign(record_key=lambda d: d["source"] + ":" + d["record_id"].astype(str))
    pred = result.graph.records.set_index("record_key")["profile_id"]
    m = pair_metrics(pred, truth.set_index("record_key")["person_id"])
    assert m["precision"] >= 0.99 and m["recall"] >= 0.85, m
    # Garbage in the generator's data is refused with a reason, never linked.
    refused = result.edges[result.edges["outcome"].isin(["blocked", "invalid"])]
    assert len(refused) > 0 and refused["rule"].notna().all()
