"""Engage sandbox: custom triggers, target audiences, carts, stock levels, back-in-stock, stores, effects,
rate limit."""

from __future__ import annotations

import httpx

from .support import KEY, member


def test_custom_triggers_need_an_existing_contact_and_are_not_deduplicated(api, engage):
    cid = api.post("/api/v3/contacts", json=member(1)).json()["id"]
    base = "/api/v2/automation/customTriggers/passwordReset"
    assert api.post(f"{base}/triggerByContactId/{cid}", json={"resetUrl": "https://x"}).json() == "OK"
    assert api.post(f"{base}/triggerByExternalContactId/ct-1", json={}).status_code == 200
    assert api.post(f"{base}/triggerByContactTypeAndKey/Member/person1@example.com", json={}).status_code == 200
    missing = api.post(f"{base}/triggerByContactId/00000000-0000-0000-0000-000000000000", json={})
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ContactNotFound"
    assert api.post(f"{base}/triggerByExternalContactId/ct-404", json={}).status_code == 404
    assert api.post(f"{base}/triggerByContactId/{cid}", json=[1]).status_code == 400
    assert [e["key"] for e in engage.effects("trigger")] == [f"passwordReset:{cid}"] * 3
    assert engage.triggers[0]["data"] == {"resetUrl": "https://x"}


def test_target_audiences(api):
    audiences = api.get("/api/v3/target-audiences").json()
    assert len(audiences) == 3 and all(set(a) == {"id", "name"} for a in audiences)


def test_carts_keep_latest_update_per_reference(api, engage):
    cart = {"cartReference": "cart-1", "time": "2025-03-01T10:00:00+01:00", "contactId": None, "language": "sv-SE",
            "url": "https://shop/cart", "items": [{"sku": "A", "quantity": 1}]}
    assert api.post("/api/v2/tracking/carts", json=cart).status_code == 200
    newer = {**cart, "time": "2025-03-01T10:05:00+01:00", "items": []}
    older = {**cart, "time": "2025-03-01T09:00:00+01:00", "items": [{"sku": "OLD", "quantity": 9}]}
    assert api.post("/api/v2/tracking/carts/batch", json=[newer, older]).status_code == 200
    assert engage.carts["cart-1"]["items"] == []
    assert len(engage.effects("cart")) == 2
    bad = api.post("/api/v2/tracking/carts/batch", json=[{"items": [{"sku": "A"}]}])
    assert bad.status_code == 400 and "cartReference" in bad.json()["message"]


def test_stock_levels_and_back_in_stock(api, engage):
    cid = api.post("/api/v3/contacts", json=member(1)).json()["id"]
    sub = api.post("/api/v3/inventory/backinstock/subscriptions",
                   json={"contactId": cid, "sku": "SKU-1", "locale": "sv-SE"})
    assert sub.status_code == 201 and sub.json()["contactId"] == cid and sub.json()["id"]
    gone = api.post("/api/v3/inventory/backinstock/subscriptions",
                    json={"contactId": "00000000-0000-0000-0000-000000000000", "sku": "SKU-1", "locale": "sv-SE"})
    assert gone.status_code == 404
    second = api.post("/api/v3/inventory/backinstock/subscriptions",
                      json={"ContactId": cid, "Sku": "SKU-2", "Locale": "sv-SE"}).json()
    assert api.delete(f"/api/v3/inventory/backinstock/subscriptions/{second['id']}").status_code == 204
    assert api.delete(f"/api/v3/inventory/backinstock/subscriptions/{second['id']}").status_code == 404
    assert api.put("/api/v2/inventory/stock-levels", json={"sku": "SKU-1", "quantity": 0, "locale": "sv-se"}).status_code == 204
    assert engage.backinstock_subscriptions  # quantity 0 does not fire
    resp = api.put("/api/v2/inventory/stock-levels/batch", json=[{"sku": "SKU-1", "quantity": 4, "locale": "sv-se"}])
    assert resp.status_code == 204 and engage.backinstock_subscriptions == {}
    assert engage.stock_levels[("SKU-1", "sv-se", None)]["quantity"] == 4
    assert [e["key"] for e in engage.effects("backinstock_triggered")] == [sub.json()["id"]]
    bad = api.put("/api/v2/inventory/stock-levels/batch", json=[{"sku": "X", "quantity": "4"}])
    assert bad.status_code == 400 and "quantity" in bad.json()["message"]


def test_stores(api):
    assert api.get("/api/v3/stores").json() == []
    store = {"name": "Ecom Sweden", "externalId": "ECOM-SE", "type": "ECOMM", "timeZone": "Europe/Stockholm"}
    assert api.post("/api/v3/stores", json=store).status_code == 201
    assert api.post("/api/v3/stores", json=store).json()["errorCode"] == "StoreAlreadyExists"
    assert api.post("/api/v3/stores", json={"name": "x"}).status_code == 400
    assert [s["externalId"] for s in api.get("/api/v3/stores").json()] == ["ECOM-SE"]
    assert api.get("/api/v2/stores/ECOM-SE").json()["name"] == "Ecom Sweden"


def test_admin_effects_and_reset(engage_server, api, engage):
    api.post("/api/v3/contacts", json=member(1))
    effects = httpx.get(f"{engage_server.url}/__admin/engage/effects", params={"kind": "contact_created"}).json()
    assert effects["count"] == 1 and effects["results"][0]["kind"] == "contact_created"
    assert httpx.post(f"{engage_server.url}/__admin/engage/reset").json() == {"reset": True}
    assert engage.effects() == [] and engage.contacts.by_id == {}
    assert api.post("/api/v3/contacts", json=member(1)).status_code == 201  # routes follow the new state


def test_rate_limit_per_api_key_answers_429_with_retry_after(engage_server, engage):
    engage.set_rate_limit(KEY, 5)
    headers = {"apikey": KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=engage_server.url, headers=headers) as c:
        statuses = [c.get("/api/v3/target-audiences") for _ in range(12)]
        limited = [r for r in statuses if r.status_code == 429]
        assert limited and float(limited[0].headers["Retry-After"]) > 0
        assert limited[0].json()["errorCode"] == "TooManyRequests"
        # another key has its own (here unlimited) budget
        other = [c.get("/api/v3/target-audiences", headers={"apikey": "other-key"}).status_code for _ in range(12)]
        assert set(other) == {200}
