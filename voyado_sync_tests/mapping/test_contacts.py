"""Contact create payloads and PATCH diffs: only changed fields, never an empty value over a stored one,
externalId = Commercetools customer id and write-once, consents/preferences never written."""

from __future__ import annotations

from voyado_sync.mapping import contact_attributes, contact_request, patch_diff

PROFILE = {"ct_customer_id": "cust-1", "first_name": " Anna ", "last_name": "Svensson", "email": "Anna@Example.COM ",
           "mobile_phone": "070-123 45 67", "country": "se", "city": "Stockholm", "zip_code": "111 22",
           "street": "", "birth_day": "1990-05-17", "gender": "F", "voyado_contact_id": "c-1",
           "consents": [{"id": "newsletter", "value": True}], "preferences": {"acceptsEmail": True}}


def test_attributes_are_normalized_and_empty_values_dropped():
    assert contact_attributes(PROFILE) == {
        "firstName": "Anna", "lastName": "Svensson", "email": "anna@example.com", "mobilePhone": "+46701234567",
        "countryCode": "SE", "zipCode": "111 22", "city": "Stockholm", "birthDay": "1990-05-17",
        "gender": "Female", "externalId": "cust-1"}
    assert contact_attributes({"email": "not-an-email", "mobile_phone": "123", "first_name": None,
                               "last_name": float("nan")}) == {}


def test_create_request(config):
    req = contact_request(PROFILE, None, config)
    assert req.action == "create"
    assert req.body["contactType"] == "Member" and req.body["externalId"] == "cust-1"
    assert "consents" not in req.body and "preferences" not in req.body and "street" not in req.body
    assert req.params == {"source": "e-com", "storeExternalId": "ECOM-SE"}
    assert contact_request(PROFILE, None, config, store_external_id="STO-SE-01").params["storeExternalId"] == "STO-SE-01"


def test_patch_sends_only_changed_fields(config):
    stored = {"id": "c-1", "attributes": {
        "firstName": "Anna", "lastName": "Andersson", "email": "ANNA@example.com", "mobilePhone": "+46 70 123 45 67",
        "countryCode": "SE", "city": "Stockholm", "zipCode": "111 22", "street": "Storgatan 1",
        "birthDay": "1990-05-17T00:00:00", "gender": "Female", "externalId": "cust-1"},
        "preferences": {"acceptsEmail": False}, "consents": [{"id": "newsletter", "value": False}]}
    req = contact_request(PROFILE, stored, config)
    # lastName changed; street is empty in the profile and must not blank the stored one; email/phone/date
    # only differ in formatting; consents and preferences are Voyado's.
    assert (req.action, req.contact_id, req.body) == ("update", "c-1", {"lastName": "Svensson"})


def test_nothing_changed_is_no_request(config):
    stored = {"id": "c-1", "attributes": contact_attributes(PROFILE)}
    assert contact_request(PROFILE, stored, config).action == "none"


def test_external_id_is_write_once_and_fills_gaps():
    desired = {"externalId": "cust-1", "city": "Malmö"}
    assert patch_diff(desired, {"externalId": "other-system-7", "city": "Malmö"}) == {}
    assert patch_diff(desired, {"externalId": "", "city": None}) == {"externalId": "cust-1", "city": "Malmö"}
    # Voyado-owned and type fields are never patched even if asked to.
    assert patch_diff({"contactType": "Contact", "preferences": {"acceptsSms": True}, "consents": []}, {}) == {}
