"""Customer update actions with optimistic concurrency, custom Types, and the Messages writes produce (§5)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

LOYALTY_TYPE = {
    "key": "customer-loyalty", "name": {"en": "Loyalty / consent"}, "resourceTypeIds": ["customer"],
    "fieldDefinitions": [
        {"name": "newsletterConsent", "label": {"en": "Newsletter consent"}, "required": False,
         "type": {"name": "Boolean"}},
        {"name": "loyaltyTier", "label": {"en": "Tier"}, "required": False,
         "type": {"name": "Enum", "values": [{"key": "gold", "label": "Gold"}]}},
        {"name": "loyaltyPoints", "label": {"en": "Points"}, "required": False, "type": {"name": "Number"}},
    ]}


@pytest.fixture
def customer(ct):
    return ct.app.put("customers", {"email": "jane@example.com", "firstName": "Jane", "addresses": [],
                                    "createdAt": "2024-01-01T00:00:00.000Z",
                                    "lastModifiedAt": "2024-01-01T00:00:00.000Z"})[0]


@pytest.fixture
def loyalty_type(api):
    resp = api.post("/types", json=LOYALTY_TYPE)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _messages(api, resource_id):
    return api.get("/messages", params={"where": f'resource(id = "{resource_id}")', "sort": "sequenceNumber asc",
                                        "limit": 500}).json()["results"]


def test_type_create_and_add_field_definition(ct, api, loyalty_type):
    assert loyalty_type["version"] == 1 and loyalty_type["key"] == "customer-loyalty"
    assert [f["name"] for f in loyalty_type["fieldDefinitions"]] == ["newsletterConsent", "loyaltyTier",
                                                                       "loyaltyPoints"]
    assert loyalty_type["createdBy"]["clientId"] == "sandbox-client"
    assert api.post("/types", json=LOYALTY_TYPE).json()["errors"][0]["code"] == "DuplicateField"
    resp = api.post("/types/key=customer-loyalty", json={"version": 1, "actions": [
        {"action": "addFieldDefinition", "fieldDefinition": {
            "name": "channels", "label": {"en": "Consent channels"}, "required": False,
            "type": {"name": "Set", "elementType": {"name": "String"}}}},
        {"action": "addEnumValue", "fieldName": "loyaltyTier", "value": {"key": "silver", "label": "Silver"}}]})
    assert resp.status_code == 200, resp.text
    updated = resp.json()
    assert updated["version"] == 2 and updated["lastModifiedAt"] >= loyalty_type["lastModifiedAt"]
    assert updated["fieldDefinitions"][-1]["name"] == "channels"
    assert [v["key"] for v in updated["fieldDefinitions"][1]["type"]["values"]] == ["gold", "silver"]
    assert api.get(f"/types/{loyalty_type['id']}").json() == updated


@pytest.mark.parametrize("action,code", [
    ({"action": "addFieldDefinition", "fieldDefinition": {"name": "loyaltyTier", "label": {"en": "x"},
                                                          "required": False, "type": {"name": "String"}}},
     "DuplicateFieldDefinition"),
    ({"action": "addFieldDefinition", "fieldDefinition": {"name": "x", "label": {"en": "x"}, "required": False,
                                                          "type": {"name": "String"}}}, "InvalidInput"),
    ({"action": "removeFieldDefinition", "fieldName": "doesNotExist"}, "InvalidOperation"),
    ({"action": "addEnumValue", "fieldName": "loyaltyTier", "value": {"key": "gold", "label": "Gold"}},
     "DuplicateEnumValues"),
    ({"action": "renameEverything"}, "InvalidInput"),
])
def test_type_update_errors(api, loyalty_type, action, code):
    resp = api.post(f"/types/{loyalty_type['id']}", json={"version": 1, "actions": [action]})
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == code, resp.text
    assert api.get(f"/types/{loyalty_type['id']}").json()["version"] == 1  # atomic: nothing applied


def test_type_remove_field_definition_and_delete(api, loyalty_type):
    resp = api.post(f"/types/{loyalty_type['id']}", json={"version": 1, "actions": [
        {"action": "removeFieldDefinition", "fieldName": "loyaltyPoints"}]})
    assert [f["name"] for f in resp.json()["fieldDefinitions"]] == ["newsletterConsent", "loyaltyTier"]
    assert api.delete(f"/types/{loyalty_type['id']}", params={"version": 1}).status_code == 409
    assert api.delete(f"/types/{loyalty_type['id']}", params={"version": 2}).status_code == 200
    assert api.get(f"/types/{loyalty_type['id']}").status_code == 404


def test_customer_custom_fields_roundtrip_with_versions_and_messages(ct, api, customer, loyalty_type):
    ct.app.clock = lambda: datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    resp = api.post(f"/customers/{customer['id']}", json={"version": 1, "actions": [
        {"action": "setCustomType", "type": {"typeId": "type", "key": "customer-loyalty"},
         "fields": {"newsletterConsent": True}},
        {"action": "setCustomField", "name": "loyaltyTier", "value": "gold"},
        {"action": "setExternalId", "externalId": "VOY-1"}]})
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["version"] == 2 and doc["lastModifiedAt"] == "2024-05-01T10:00:00.000Z"
    assert doc["lastModifiedBy"] == {"clientId": "sandbox-client", "isPlatformClient": False}
    assert doc["custom"] == {"type": {"typeId": "type", "id": loyalty_type["id"]},
                             "fields": {"newsletterConsent": True, "loyaltyTier": "gold"}}
    assert doc["externalId"] == "VOY-1"
    resp = api.post(f"/customers/{customer['id']}", json={"version": 2, "actions": [
        {"action": "setCustomField", "name": "loyaltyTier", "value": "gold"},  # unchanged: no message
        {"action": "setCustomField", "name": "newsletterConsent", "value": False},
        {"action": "setCustomField", "name": "loyaltyTier"}]})  # no value removes the field
    assert resp.json()["custom"]["fields"] == {"newsletterConsent": False}
    messages = _messages(api, customer["id"])
    assert [(m["type"], m["sequenceNumber"], m["resourceVersion"]) for m in messages] == [
        ("CustomerCustomTypeSet", 1, 2), ("CustomerCustomFieldAdded", 2, 2), ("CustomerExternalIdSet", 3, 2),
        ("CustomerCustomFieldChanged", 4, 3), ("CustomerCustomFieldRemoved", 5, 3)]
    assert messages[1]["name"] == "loyaltyTier" and messages[1]["value"] == "gold"
    assert messages[3]["value"] is False and messages[3]["previousValue"] is True
    assert messages[0]["customFields"]["type"]["id"] == loyalty_type["id"]
    assert messages[0]["createdBy"]["clientId"] == "sandbox-client"
    assert messages[0]["resource"] == {"typeId": "customer", "id": customer["id"]}
    assert messages[2]["resourceUserProvidedIdentifiers"] == {"externalId": "VOY-1"}
    assert messages[0]["createdAt"] == messages[0]["lastModifiedAt"] == "2024-05-01T10:00:00.000Z"


def test_stale_version_is_409_with_current_version(api, customer):
    body = {"version": 1, "actions": [{"action": "setFirstName", "firstName": "Janet"}]}
    assert api.post(f"/customers/{customer['id']}", json=body).status_code == 200
    stale = api.post(f"/customers/{customer['id']}", json=body)
    assert stale.status_code == 409
    error = stale.json()
    assert error["statusCode"] == 409 and error["errors"][0]["code"] == "ConcurrentModification"
    assert error["errors"][0]["currentVersion"] == 2
    assert api.get(f"/customers/{customer['id']}").json()["firstName"] == "Janet"


@pytest.mark.parametrize("body,status,code", [
    ({"version": 1, "actions": [{"action": "setShoeSize", "size": 42}]}, 400, "InvalidInput"),
    ({"version": 1, "actions": [{"action": "setFirstName", "firstName": "x"}] * 501}, 400, "InvalidInput"),
    ({"version": 1, "actions": [{"action": "setCustomField", "name": "loyaltyTier", "value": "gold"}]}, 400,
     "InvalidOperation"),
    ({"actions": []}, 400, "InvalidJsonInput"),
    ({"version": "1", "actions": []}, 400, "InvalidJsonInput"),
    ({"version": 1, "actions": [{"action": "setCustomType", "type": {"typeId": "type", "key": "nope"}}]}, 400,
     "ReferencedResourceNotFound"),
])
def test_customer_update_errors(api, customer, body, status, code):
    resp = api.post(f"/customers/{customer['id']}", json=body)
    assert resp.status_code == status and resp.json()["errors"][0]["code"] == code, resp.text
    assert api.get(f"/customers/{customer['id']}").json()["version"] == 1


def test_malformed_json_body_is_invalid_json_input(api, customer):
    resp = api.post(f"/customers/{customer['id']}", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "InvalidJsonInput"


def test_custom_field_values_are_validated_against_the_type(api, customer, loyalty_type):
    set_type = {"version": 1, "actions": [{"action": "setCustomType", "type": {"typeId": "type",
                                                                               "id": loyalty_type["id"]}}]}
    assert api.post(f"/customers/{customer['id']}", json=set_type).status_code == 200
    for name, value, code in [("loyaltyTier", "platinum", "InvalidField"), ("loyaltyPoints", "many", "InvalidField"),
                              ("unknownField", 1, "InvalidOperation")]:
        resp = api.post(f"/customers/{customer['id']}", json={"version": 2, "actions": [
            {"action": "setCustomField", "name": name, "value": value}]})
        assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == code, (name, resp.text)


def test_update_by_key_and_key_uniqueness(ct, api, customer):
    ct.app.put("customers", {"email": "other@example.com", "key": "taken"})
    resp = api.post(f"/customers/{customer['id']}", json={"version": 1, "actions": [
        {"action": "setKey", "key": "jane"}]})
    assert resp.json()["key"] == "jane"
    resp = api.post("/customers/key=jane", json={"version": 2, "actions": [{"action": "setKey", "key": "taken"}]})
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "DuplicateField"
    resp = api.post("/customers/key=jane", json={"version": 2, "actions": [
        {"action": "changeEmail", "email": "Other@Example.com"}]})
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "email"


def test_customer_create_and_delete(ct, api):
    resp = api.post("/customers", json={"email": "new@example.com", "firstName": "New", "password": "secret"})
    assert resp.status_code == 201
    created = resp.json()["customer"]
    assert created["version"] == 1 and created["authenticationMode"] == "Password"
    assert created["password"] != "secret" and created["isEmailVerified"] is False
    assert api.post("/customers", json={"email": "new@example.com"}).json()["errors"][0]["code"] == "DuplicateField"
    assert api.delete(f"/customers/{created['id']}").status_code == 400  # version is required
    assert api.delete(f"/customers/{created['id']}", params={"version": 1}).json()["id"] == created["id"]
    assert [m["type"] for m in _messages(api, created["id"])] == ["CustomerCreated", "CustomerDeleted"]
    assert ct.app.get("customers", created["id"]) is None


def test_official_customer_update_example(ct, api, reference_examples):
    response = reference_examples("customer-update-response")
    before = {k: v for k, v in response.items() if k != "addresses"} | {"addresses": [], "version": 3}
    ct.app.put("customers", before)
    resp = api.post(f"/customers/{before['id']}", json=reference_examples("customer-update"))
    assert resp.status_code == 200
    got = resp.json()
    assert got["addresses"][0]["id"]  # the API assigns address ids
    for doc in (got, response):
        doc["addresses"][0].pop("id")
        doc.pop("lastModifiedAt")
        doc.pop("lastModifiedBy", None)
    assert got == response
