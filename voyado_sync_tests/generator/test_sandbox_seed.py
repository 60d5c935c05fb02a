"""The generated documents load into the real loopback sandboxes and come back unchanged over HTTP."""

from __future__ import annotations

import httpx
import pytest

from voyado_sync.sandbox.generator import GeneratorConfig, generate

from .support import ANCHOR


@pytest.fixture(scope="module")
def seeded():
    run = pytest.importorskip("voyado_sync.sandbox.run")
    ds = generate(GeneratorConfig(seed=21, persons=60, orders=80, pos_receipts=10, products=8, anchor_date=ANCHOR))
    boxes = run.start_sandboxes(dataset=ds)
    try:
        yield ds, boxes, run
    finally:
        boxes.stop()


def test_commercetools_serves_the_generated_documents(seeded):
    ds, boxes, run = seeded
    base = boxes.commercetools.url
    with httpx.Client(timeout=10) as http:
        token = http.post(f"{base}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(run.CT_CLIENT_ID, run.CT_CLIENT_SECRET)).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        pk = f"{base}/{run.CT_PROJECT_KEY}"
        for resource, docs in (("orders", ds.orders), ("customers", ds.customers), ("payments", ds.payments),
                               ("product-projections", ds.products), ("carts", ds.carts)):
            doc = docs[len(docs) // 2]
            r = http.get(f"{pk}/{resource}/{doc['id']}", headers=h)
            assert r.status_code == 200 and r.json() == doc, resource
        order = next(o for o in ds.orders if len(o["paymentInfo"]["payments"]) > 1)
        r = http.get(f"{pk}/orders/{order['id']}", params={"expand": "paymentInfo.payments[*]"}, headers=h)
        planned = sum(p["obj"]["amountPlanned"]["centAmount"] for p in r.json()["paymentInfo"]["payments"])
        assert planned == order["taxedPrice"]["totalGross"]["centAmount"]
        sku = order["lineItems"][0]["variant"]["sku"]
        r = http.get(f"{pk}/orders", params={"where": f'lineItems(variant(sku = "{sku}"))', "limit": 500}, headers=h)
        expected = {o["id"] for o in ds.orders if any(li["variant"]["sku"] == sku for li in o["lineItems"])}
        assert {o["id"] for o in r.json()["results"]} == expected


def test_engage_serves_the_generated_contacts_and_balances(seeded):
    ds, boxes, run = seeded
    h = {"apikey": run.ENGAGE_API_KEY, "Content-Type": "application/json"}
    contact = next(c for c in ds.voyado_contacts if c["loyalty"]["points"] > 0)
    with httpx.Client(base_url=boxes.engage.url, timeout=10, headers=h) as http:
        got = http.get(f"/api/v3/contacts/{contact['id']}")
        assert got.status_code == 200
        attrs = {k: v for k, v in contact["attributes"].items() if k != "contactType"}
        assert attrs.items() <= got.json()["attributes"].items()
        accounts = http.get("/api/v3/point-accounts", params={"contactId": contact["id"]}).json()["items"]
        assert [a["balance"] for a in accounts] == [contact["loyalty"]["points"]]
