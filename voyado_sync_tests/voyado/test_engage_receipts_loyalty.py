"""Engage sandbox receipts and point transactions through real HTTP."""

from __future__ import annotations

import copy

import httpx
import pytest

from .support import member


def receipt(rid: str = "ct-order-1-payment-1", match_key: str = "ct-1", match_type: str = "externalId",
            **extra) -> dict:
    return {"contact": {"matchKey": match_key, "matchKeyType": match_type, "contactType": "Member"},
            "uniqueReceiptId": rid, "receiptNumber": "100045", "createdDate": "2025-03-01T14:05:00+01:00",
            "storeExternalId": "ECOM-SE", "currency": "SEK", "totalGrossPrice": 450.00,
            "paymentMethods": [{"type": "card", "description": "Adyen Visa", "value": 450.00}],
            "items": [{"type": "PURCHASE", "sku": "SKU-1-M", "quantity": 1, "grossPaidPrice": 450.00,
                       "taxAmount": 90.00, "taxPercent": 25.0, "articleNumber": "SKU-1", "articleName": "Shirt",
                       "discounts": [{"value": -50.00, "type": "cart-discount", "description": "10% off"}]}],
            **extra}


@pytest.fixture
def contact_id(api) -> str:
    return api.post("/api/v3/contacts", json=member(1)).json()["id"]


def test_receipt_accepted_and_deduplicated_silently(api, engage, contact_id):
    first = api.post("/api/v3/receipts", json=receipt())
    again = api.post("/api/v3/receipts", json=receipt(totalGrossPrice=1.0))
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    assert len(engage.effects("receipt")) == 1
    stored = engage.receipts["ct-order-1-payment-1"]
    assert stored["contactId"] == contact_id and stored["status"] == "Processed"
    assert stored["receipt"]["totalGrossPrice"] == 450.0  # the duplicate changed nothing
    assert engage.stores.by_external_id["ECOM-SE"]["autoCreated"] is True  # unknown store auto-created
    assert any(e["message"] == "Duplicate receipt ignored" for e in engage.integration_log)


def test_return_receipt_with_negative_quantity_and_total(api, engage, contact_id):
    ret = receipt("ct-order-1-return-1", totalGrossPrice=-450.0,
                  paymentMethods=[{"type": "card", "value": -450.0}])
    ret["items"][0].update(type="RETURN", quantity=-1)
    assert api.post("/api/v3/receipts", json=ret).status_code == 202
    assert engage.receipts["ct-order-1-return-1"]["receipt"]["items"][0]["quantity"] == -1


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.pop("uniqueReceiptId"), "uniqueReceiptId is required"),
    (lambda r: r.pop("contact"), "contact is required"),
    (lambda r: r["contact"].update(matchKeyType="Shoe"), "contact.matchKeyType"),
    (lambda r: r.update(createdDate="2025-03-01T14:05:00"), "createdDate"),
    (lambda r: r.update(totalGrossPrice="450"), "totalGrossPrice must be a number"),
    (lambda r: r.update(currency="sek"), "currency"),
    (lambda r: r.update(items=[]), "items is required"),
    (lambda r: r["items"][0].pop("sku"), "items[0].sku is required"),
    (lambda r: r["items"][0].update(quantity=1.5), "items[0].quantity must be a integer"),
    (lambda r: r["items"][0].update(type="SALE"), "items[0].type"),
    (lambda r: r["items"][0]["discounts"][0].pop("value"), "items[0].discounts[0].value"),
    (lambda r: r["paymentMethods"][0].pop("value"), "paymentMethods[0].value is required"),
])
def test_receipt_validation_names_the_field(api, engage, mutate, field):
    body = receipt()
    mutate(body)
    resp = api.post("/api/v3/receipts", json=body)
    assert resp.status_code == 400
    err = resp.json()
    assert err["errorCode"] == "InvalidReceipt" and field in err["message"] and err["errors"]
    assert engage.effects() == [] and engage.receipts == {}


def test_receipt_without_contact_is_parked_in_the_integration_log_then_taken_once_the_contact_exists(
        api, engage, engage_server):
    body = receipt(match_key="nobody@example.com", match_type="EMAIL")
    assert api.post("/api/v3/receipts", json=body).status_code == 202
    assert "ct-order-1-payment-1" not in engage.receipts  # accepted is not held
    log = [e for e in engage.integration_log if e["message"] == "Contact is missing"]
    assert log and log[0]["reference"] == "ct-order-1-payment-1"
    assert "nobody@example.com" not in str(engage.integration_log)
    parked = httpx.get(f"{engage_server.url}/__admin/engage/receipts/parked").json()
    assert [p["uniqueReceiptId"] for p in parked] == ["ct-order-1-payment-1"]
    # The same id again once the contact exists: processed, not dropped as a duplicate.
    created = api.post("/api/v3/contacts", json={"email": "nobody@example.com", "firstName": "N"}).json()
    assert api.post("/api/v3/receipts", json=body).status_code == 202
    assert engage.receipts["ct-order-1-payment-1"]["contactId"] == created["id"]


def test_a_contacts_transactions_read_back_what_engage_holds(api, engage, engage_server, contact_id):
    api.post("/api/v3/receipts", json=receipt("r-1", contact_id, "ContactId"))
    ret = receipt("r-2", contact_id, "ContactId")
    ret["items"][0].update(type="RETURN", quantity=-1)
    ret["totalGrossPrice"] = -ret["totalGrossPrice"]
    ret["paymentMethods"][0]["value"] = -ret["paymentMethods"][0]["value"]
    api.post("/api/v3/receipts", json=ret)
    page = api.get(f"/api/v2/contacts/{contact_id}/transactions", params={"count": 1}).json()
    assert page["totalCount"] == 2 and len(page["items"]) == 1
    items = page["items"] + api.get(f"/api/v2/contacts/{contact_id}/transactions",
                                    params={"offset": 1}).json()["items"]
    by_id = {t["externalId"]: t for t in items}
    assert by_id["r-1"]["localNetPriceSum"] == 450.0 and by_id["r-1"]["localCurrency"] == "SEK"
    assert by_id["r-2"]["localNetPriceSum"] == -450.0 and by_id["r-2"]["lineItems"][0]["quantity"] == -1
    # Corrupting what Engage holds, as the read-back tests do.
    admin = f"{engage_server.url}/__admin/engage/receipts"
    assert httpx.patch(f"{admin}/r-1", json={"totalGrossPrice": 449.0}).json() == {"overwritten": True}
    assert httpx.delete(f"{admin}/r-2").json() == {"forgotten": True}
    left = api.get(f"/api/v2/contacts/{contact_id}/transactions").json()["items"]
    assert [(t["externalId"], t["localNetPriceSum"]) for t in left] == [("r-1", 449.0)]


def test_match_key_types_are_case_insensitive(api, engage, contact_id):
    api.post("/api/v3/receipts", json=receipt("r-1", contact_id, "contactId"))
    api.post("/api/v3/receipts", json=receipt("r-2", contact_id, "ContactId"))
    api.post("/api/v3/receipts", json=receipt("r-3", "PERSON1@example.com", "email"))
    assert {engage.receipts[r]["contactId"] for r in ("r-1", "r-2", "r-3")} == {contact_id}


def test_receipts_are_batched_when_configured(engage_server, api, engage, contact_id):
    httpx.post(f"{engage_server.url}/__admin/engage/config", json={"receipt_batch_seconds": 3600})
    api.post("/api/v3/receipts", json=receipt("later"))
    assert "later" not in engage.receipts and len(engage.effects("receipt")) == 1
    assert api.post("/api/v3/receipts", json=receipt("later")).status_code == 202  # duplicate while queued
    assert len(engage.effects("receipt")) == 1
    assert httpx.post(f"{engage_server.url}/__admin/engage/receipts/flush").json() == {"processed": 1}
    assert engage.receipts["later"]["contactId"] == contact_id


def _tx(contact_id: str, amount: int = 10, **extra) -> dict:
    return {"contactId": contact_id, "amount": amount, "definitionId": 1, "timeStamp": "2025-03-01T10:00:00+01:00",
            "source": "Manual", "description": "goodwill", **extra}


def test_point_transactions_idempotency_key(api, engage, contact_id):
    rows = [_tx(contact_id, 10), _tx(contact_id, 5)]
    first = api.post("/api/v3/point-accounts/transactions", json=rows, headers={"Idempotency-Key": "k-1"})
    again = api.post("/api/v3/point-accounts/transactions", json=rows, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(engage.effects("point_transaction")) == 2
    account = api.get("/api/v3/point-accounts", params={"contactId": contact_id}).json()["items"][0]
    assert account["balance"] == 15
    other = api.post("/api/v3/point-accounts/transactions", json=rows, headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 200 and len(engage.effects("point_transaction")) == 4
    assert api.get(f"/api/v3/point-accounts/{account['id']}").json()["balance"] == 30
    listed = api.get("/api/v3/point-accounts/transactions", params={"accountId": account["id"]}).json()
    assert listed["totalCount"] == 4 and {t["type"] for t in listed["items"]} == {"Addition"}


def test_point_transactions_not_accepted_rows(api, engage, contact_id):
    missing = "00000000-0000-0000-0000-00000000dead"
    rows = [_tx(contact_id, -3), _tx(missing), _tx(contact_id, definitionId=99), _tx(contact_id, source=""),
            _tx(contact_id, 7, validFrom="2999-01-01T00:00:00+00:00")]
    body = api.post("/api/v3/point-accounts/transactions", json=rows).json()
    assert body["notAccepted"] == [rows[1], rows[2], rows[3]]
    assert body["missingContactIds"] == [missing] and body["missingDefinitionIds"] == [99]
    assert any("source must be set" in m for m in body["errorMessages"])
    account = engage.loyalty.account(contact_id, 1)
    assert (account["balance"], account["pendingPoints"]) == (-3, 7)
    assert len(engage.effects("point_transaction")) == 2
    too_many = api.post("/api/v3/point-accounts/transactions", json=[_tx(contact_id)] * 1001)
    assert too_many.status_code == 400 and too_many.json()["errorCode"] == "TooManyRows"
    assert api.get("/api/v3/point-accounts/definitions").json()[0]["id"] == 1
    assert api.get("/api/v3/point-accounts", params={"contactId": missing}).status_code == 404


def test_receipt_body_is_not_mutated_by_sandbox(api, engage, contact_id):
    body = receipt("immutable")
    sent = copy.deepcopy(body)
    api.post("/api/v3/receipts", json=body)
    assert engage.receipts["immutable"]["receipt"] == sent
