"""Every official example document seeds and comes back through GET exactly as given (§4)."""

from __future__ import annotations

import json

import pytest

SINGLE = [("customer", "customers"), ("order", "orders"), ("product-projection", "product-projections"),
          ("category", "categories"), ("inventory", "inventory"), ("payment", "payments"), ("store", "stores"),
          ("type", "types"), ("message", "messages")]
# list example -> (resource, sort that reproduces the example's order)
LISTS = [("customers", "customers", "id asc"), ("orders", "orders", "id asc"),
         ("product-projections", "product-projections", "id asc"), ("categories", "categories", "orderHint asc"),
         ("payments", "payments", "id asc"), ("stores", "stores", "createdAt asc"),
         ("messages", "messages", "id asc")]


def _compact(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("name,resource", SINGLE, ids=[s[0] for s in SINGLE])
def test_single_document_round_trips_byte_equivalent(ct, api, reference_examples, name, resource):
    doc = reference_examples(name)
    ct.app.put(resource, doc)
    resp = api.get(f"/{resource}/{doc['id']}")
    assert resp.status_code == 200
    assert resp.json() == doc
    assert resp.content == _compact(doc)  # same keys, same order, nothing added
    assert ct.app.get(resource, doc["id"]) == doc


@pytest.mark.parametrize("name,resource,sort", LISTS, ids=[s[0] for s in LISTS])
def test_list_example_envelopes(ct, api, reference_examples, name, resource, sort):
    example = reference_examples(name)
    ct.app.put(resource, example["results"])
    resp = api.get(f"/{resource}", params={"limit": example["limit"], "sort": sort})
    assert resp.status_code == 200
    body = resp.json()
    if name == "customers":  # the example comes from a project with 10 182 customers
        example["total"] = 1
    assert body == example
    assert list(body) == list(example)


def test_type_create_example_produces_the_type_example(api, reference_examples):
    resp = api.post("/types", json=reference_examples("type-create"))
    assert resp.status_code == 201
    created = resp.json()
    expected = reference_examples("type")
    for volatile in ("id", "createdAt", "lastModifiedAt"):
        expected.pop(volatile)
        assert created.pop(volatile)
    assert created.pop("createdBy") == created.pop("lastModifiedBy") == {"clientId": "sandbox-client",
                                                                          "isPlatformClient": False}
    assert created == expected
    assert list(created) == list(expected)


def test_error_example_shape(ct, api, reference_examples):
    customer = ct.app.put("customers", reference_examples("customer"))[0]
    resp = api.post(f"/customers/{customer['id']}", json={"version": 99, "actions": []})
    example = reference_examples("error")
    body = resp.json()
    assert resp.status_code == example["statusCode"] == body["statusCode"]
    assert list(body) == list(example) and body["errors"][0]["code"] == example["errors"][0]["code"]
    assert set(example["errors"][0]) <= set(body["errors"][0])


def test_seeding_through_the_admin_surface_accepts_array_and_ndjson(ct, api, reference_examples):
    import httpx

    orders = reference_examples("orders")["results"]
    stores = reference_examples("stores")["results"]
    resp = httpx.post(f"{ct.url}/__admin/ct/orders", json=orders)
    assert resp.json()["count"] == 1 and resp.json()["ids"] == [orders[0]["id"]]
    ndjson = "\n".join(json.dumps(s) for s in stores) + "\n"
    assert httpx.post(f"{ct.url}/__admin/ct/stores", content=ndjson).json()["count"] == 2
    assert api.get(f"/orders/{orders[0]['id']}").content == _compact(orders[0])
    assert api.get("/stores/key=random-key-1234314").json() == stores[1]
    dumped = httpx.get(f"{ct.url}/__admin/ct/stores").json()
    assert dumped["count"] == 2 and {s["id"] for s in dumped["results"]} == {s["id"] for s in stores}
    assert httpx.post(f"{ct.url}/__admin/ct/stores", content=b"{nope").status_code == 400
