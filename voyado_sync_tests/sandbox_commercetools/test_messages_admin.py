"""The admin surface simulating a live shop, and the Messages API it feeds (§3.1, §3.2)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

DAY1 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def _window(api, resource, start, end, **params):
    where = f'lastModifiedAt >= "{start}" and lastModifiedAt < "{end}"'
    return api.get(f"/{resource}", params={"where": where, "sort": "id asc", "limit": 500, **params}).json()


@pytest.fixture
def shop(ct):
    ct.app.clock = lambda: DAY1
    orders = ct.app.put("orders", [{"orderNumber": f"O-{i}", "orderState": "Open", "customerEmail": f"c{i}@x.se",
                                    "lineItems": [{"id": f"li-{i}", "variant": {"sku": "SKU-1"}, "quantity": 1}]}
                                   for i in range(10)], emit_messages=True)
    return ct, orders


def test_put_with_emit_messages_records_created_messages(shop, api):
    ct, orders = shop
    messages = api.get("/messages", params={"where": 'type = "OrderCreated"', "limit": 50}).json()
    assert messages["total"] == 10
    by_order = {m["resource"]["id"]: m for m in messages["results"]}
    first = by_order[orders[0]["id"]]
    assert first["order"] == orders[0] and first["sequenceNumber"] == 1 and first["resourceVersion"] == 1
    assert first["resourceUserProvidedIdentifiers"] == {"orderNumber": "O-0"}
    assert first["version"] == 1 and first["createdAt"] == first["lastModifiedAt"] == "2024-05-01T12:00:00.000Z"
    assert list(first)[:7] == ["id", "version", "sequenceNumber", "resource", "resourceVersion",
                               "resourceUserProvidedIdentifiers", "type"]


def test_admin_mutation_shows_up_in_a_later_window_and_in_messages(shop, api):
    ct, orders = shop
    day2 = DAY1 + timedelta(days=1)
    ct.app.clock = lambda: day2
    target = orders[3]["id"]
    resp = httpx.post(f"{ct.url}/__admin/ct/orders/{target}",
                      json={"set": {"orderState": "Confirmed", "custom.fields.note": "gift"}})
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["version"] == 2 and doc["lastModifiedAt"] == "2024-05-02T12:00:00.000Z"
    assert doc["custom"]["fields"]["note"] == "gift" and doc["lastModifiedBy"]["clientId"] == "sandbox-admin"
    first_window = _window(api, "orders", "2024-05-01T00:00:00.000Z", "2024-05-02T00:00:00.000Z")
    second_window = _window(api, "orders", "2024-05-02T00:00:00.000Z", "2024-05-03T00:00:00.000Z")
    assert target not in {d["id"] for d in first_window["results"]} and first_window["total"] == 9
    assert [d["id"] for d in second_window["results"]] == [target]
    messages = api.get("/messages", params={"where": f'resource(id = "{target}") and createdAt >= '
                                                     '"2024-05-02T00:00:00.000Z"',
                                            "sort": "sequenceNumber asc"}).json()["results"]
    assert [(m["type"], m["sequenceNumber"], m["resourceVersion"]) for m in messages] == [
        ("OrderStateChanged", 2, 2), ("OrderCustomFieldAdded", 3, 2)]
    assert (messages[0]["orderState"], messages[0]["oldOrderState"]) == ("Confirmed", "Open")
    assert (messages[1]["name"], messages[1]["value"]) == ("note", "gift")


def test_update_in_process_and_delete_emit_messages(shop, api):
    ct, orders = shop
    target = orders[0]["id"]
    ct.app.update("orders", target, {"shipmentState": "Shipped"}, client_id="warehouse")
    ct.app.update("orders", target, lambda d: d["returnInfo"].append({"items": [{"shipmentState": "Returned"}]})
                  if "returnInfo" in d else d.update(returnInfo=[{"items": [{"shipmentState": "Returned"}]}]))
    ct.app.update("orders", target, {"n": 1}, message_type="OrderCustomFieldAdded")
    assert httpx.delete(f"{ct.url}/__admin/ct/orders/{target}").status_code == 200
    messages = api.get("/messages", params={"where": f'resource(id = "{target}")', "sort": "sequenceNumber asc"})
    rows = [(m["type"], m["sequenceNumber"], m["resourceVersion"]) for m in messages.json()["results"]]
    assert rows == [("OrderCreated", 1, 1), ("OrderShipmentStateChanged", 2, 2), ("ReturnInfoAdded", 3, 3),
                    ("OrderCustomFieldAdded", 4, 4), ("OrderDeleted", 5, 5)]
    assert messages.json()["results"][1]["createdBy"]["clientId"] == "warehouse"
    assert api.get(f"/orders/{target}").status_code == 404
    assert httpx.delete(f"{ct.url}/__admin/ct/orders/{target}").status_code == 404


def test_simulate_touches_random_documents_reproducibly(shop, api):
    ct, orders = shop
    ct.app.clock = lambda: DAY1 + timedelta(hours=1)
    resp = httpx.post(f"{ct.url}/__admin/ct/simulate", json={"resource": "orders", "count": 4, "seed": 7})
    touched = resp.json()["touched"]
    assert len(set(touched)) == 4
    window = _window(api, "orders", "2024-05-01T13:00:00.000Z", "2024-05-01T14:00:00.000Z")
    assert sorted(touched) == [d["id"] for d in window["results"]]
    assert all(d["version"] == 2 for d in window["results"])
    changes = api.get("/messages", params={"where": 'type != "OrderCreated"', "limit": 50}).json()
    assert sorted(m["resource"]["id"] for m in changes["results"]) == sorted(touched)
    ct.app.reset()
    ct.app.put("orders", orders)
    again = httpx.post(f"{ct.url}/__admin/ct/simulate", json={"resource": "orders", "count": 4, "seed": 7})
    assert again.json()["touched"] == touched


@pytest.mark.parametrize("resource,doc", [
    ("customers", {"email": "a@x.se", "isEmailVerified": False}),
    ("inventory", {"sku": "S", "quantityOnStock": 5, "availableQuantity": 5}),
    ("payments", {"transactions": [{"id": "t1", "type": "Charge", "state": "Pending"}]}),
    ("product-projections", {"published": True, "hasStagedChanges": True}),
])
def test_simulate_other_resources_produce_messages(ct, api, resource, doc):
    stored = ct.app.put(resource, doc)[0]
    assert ct.app.simulate(resource, 1, seed=1) == [stored["id"]]
    assert ct.app.get(resource, stored["id"])["version"] == 2
    messages = api.get("/messages", params={"where": f'resource(id = "{stored["id"]}")'}).json()
    assert messages["count"] == 1 and messages["results"][0]["resourceVersion"] == 2


def test_messages_disabled_answers_empty_and_records_nothing(shop, api):
    ct, orders = shop
    httpx.post(f"{ct.url}/__admin/ct/config", json={"messages_enabled": False}).raise_for_status()
    assert api.get("/messages").json() == {"limit": 20, "offset": 0, "count": 0, "total": 0, "results": []}
    ct.app.update("orders", orders[0]["id"], {"orderState": "Complete"})
    ct.app.set_messages_enabled(True)
    types = [m["type"] for m in api.get("/messages", params={"limit": 100}).json()["results"]]
    assert "OrderStateChanged" not in types and types.count("OrderCreated") == 10


def test_admin_config_and_stats(ct):
    resp = httpx.post(f"{ct.url}/__admin/ct/config", json={"token_ttl_seconds": 2, "clock": "2024-06-01T08:00:00Z"})
    stats = resp.json()
    assert stats["token_ttl_seconds"] == 2 and stats["now"] == "2024-06-01T08:00:00.000Z"
    token = httpx.post(f"{ct.url}/oauth/token", auth=("sandbox-client", "sandbox-secret"),
                       data={"grant_type": "client_credentials"}).json()
    assert token["expires_in"] == 2
    ct.app.put("stores", {"key": "s1"})
    stats = httpx.get(f"{ct.url}/__admin/ct/stats").json()
    assert stats["counts"]["stores"] == 1 and stats["tokens_issued"] >= 1
    assert ct.app.get("stores", ct.app.all("stores")[0]["id"])["createdAt"] == "2024-06-01T08:00:00.000Z"
    httpx.post(f"{ct.url}/__admin/ct/config", json={"clock": None}).raise_for_status()
    assert abs(ct.app.now() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_admin_mutation_errors(ct):
    assert httpx.post(f"{ct.url}/__admin/ct/orders/nope", json={"set": {"a": 1}}).status_code == 404
    order = ct.app.put("orders", {"orderNumber": "E"})[0]
    assert httpx.post(f"{ct.url}/__admin/ct/orders/{order['id']}", json={"set": "x"}).status_code == 400
    resp = httpx.post(f"{ct.url}/__admin/ct/orders/{order['id']}", json={"unset": ["orderNumber"]})
    assert "orderNumber" not in resp.json()
    assert ct.app.count("orders") == 1
