"""Engage sandbox contacts through real HTTP: auth, mandatory headers, validation, lookups, PATCH, bulk,
change feed, contact type, preferences, consents, delete."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from .support import KEY, member


def test_apikey_required_and_unknown_key_rejected(engage_server, engage):
    url = f"{engage_server.url}/api/v3/target-audiences"
    missing = httpx.get(url, headers={"Content-Type": "application/json"})
    unknown = httpx.get(url, headers={"apikey": "nope", "Content-Type": "application/json"})
    ok = httpx.get(url, headers={"apikey": KEY, "Content-Type": "application/json"})
    assert (missing.status_code, unknown.status_code, ok.status_code) == (401, 401, 200)
    assert missing.json()["errorCode"] == "Unauthorized" and missing.json()["statusCode"] == 401
    # the request log never holds the raw key
    assert all(r.api_key != KEY for r in engage.requests())


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/v3/target-audiences", None),
    ("POST", "/api/v3/contacts", b'{"email": "a@example.com"}'),
])
def test_missing_content_type_is_500_like_engage(engage_server, engage, method, path, body):
    resp = httpx.request(method, engage_server.url + path, headers={"apikey": KEY}, content=body)
    assert resp.status_code == 500 and resp.json() == {"message": "An error has occurred"}
    assert engage.effects() == []


def test_create_contact_returns_201_with_member_number_and_query_params(api, engage):
    resp = api.post("/api/v3/contacts", params={"source": "e-com", "storeExternalId": "ECOM-SE",
                                                "createAsUnapproved": "true"},
                    json={**member(1), "countryCode": "SE", "unknownField": "ignored",
                          "preferences": {"acceptsEmail": True}})
    assert resp.status_code == 201
    c = resp.json()
    assert c["contactType"] == "Member" and c["attributes"]["memberNumber"]
    assert c["attributes"]["createdInStore"] == "ECOM-SE" and c["attributes"]["store"] == "ECOM-SE"
    assert "unknownField" not in c["attributes"] and c["preferences"] == {"acceptsEmail": True}
    assert c["meta"]["approved"] is False and c["meta"]["source"] == "e-com"
    assert api.get(f"/api/v3/contacts/{c['id']}").json() == c
    assert [e["kind"] for e in engage.effects()] == ["contact_created"]


@pytest.mark.parametrize("attrs,code", [
    ({"email": "not-an-email"}, "InvalidEmailAddress"),
    ({"email": "a@example.com", "mobilePhone": "0701234567"}, "InvalidPhoneNumber"),
    ({"email": "a@example.com", "mobilePhone": "+46 70 123"}, "InvalidPhoneNumber"),
    ({"email": "a@example.com", "contactType": "Prospect"}, "InvalidContactType"),
    ({"email": "a@example.com", "birthDay": "1990-13-01"}, "InvalidBirthDay"),
    ({"firstName": "No key"}, "MissingRequiredAttributes"),
])
def test_create_contact_validation(api, engage, attrs, code):
    resp = api.post("/api/v3/contacts", json=attrs)
    assert resp.status_code == 400
    assert resp.json()["errorCode"] == code and resp.json()["statusCode"] == 400 and resp.json()["message"]
    assert engage.effects() == [] and engage.contacts.by_id == {}


def test_create_is_not_an_upsert(api, engage):
    first = api.post("/api/v3/contacts", json=member(1)).json()
    again = api.post("/api/v3/contacts", json={**member(1), "firstName": "Changed", "email": "PERSON1@example.com"})
    assert again.status_code == 409 and again.json()["errorCode"] == "ContactAlreadyExists"
    assert again.json()["contactId"] == first["id"]
    assert engage.contacts.get(first["id"]).attributes["firstName"] == "F1"
    # the same email in another contact type is a different contact
    other = api.post("/api/v3/contacts", json={**member(1), "contactType": "Contact"})
    assert other.status_code == 201 and other.json()["contactType"] == "Contact"


def test_lookup_bare_guid_404_and_409(api):
    a = api.post("/api/v3/contacts", json=member(1, mobilePhone="+46701234567")).json()
    api.post("/api/v3/contacts", json=member(2, mobilePhone="+46701234567"))
    resp = api.get("/api/v3/contacts/id", params={"email": "Person1@Example.com"})
    assert resp.status_code == 200 and resp.json() == a["id"] and resp.text == f'"{a["id"]}"'
    assert api.get("/api/v3/contacts/id", params={"customKey": "ct-1"}).json() == a["id"]
    assert api.get("/api/v3/contacts/id", params={"customKey": a["attributes"]["memberNumber"]}).json() == a["id"]
    assert api.get("/api/v3/contacts/id", params={"any": "person1@example.com"}).json() == a["id"]
    missing = api.get("/api/v3/contacts/id", params={"email": "nobody@example.com"})
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ContactNotFound"
    dup = api.get("/api/v3/contacts/id", params={"mobilePhone": "+46701234567"})
    assert dup.status_code == 409 and dup.json()["errorCode"] == "MultipleMatches"
    assert len(dup.json()["multipleMatchesFound"]) == 2
    assert api.get("/api/v3/contacts/id", params={"email": "bad"}).json()["errorCode"] == "InvalidEmailAddress"
    assert api.get("/api/v3/contacts/id").json()["errorCode"] == "InvalidSearchQuery"
    # a raw '+' in a query string decodes to a space: Engage requires %2B (reference §1.4)
    raw = api.get("/api/v3/contacts/id?mobilePhone=+46701234567")
    assert raw.status_code == 400 and raw.json()["errorCode"] == "InvalidPhoneNumber"


def test_unknown_contact_is_404(api):
    resp = api.get("/api/v3/contacts/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404 and resp.json()["errorCode"] == "ContactNotFound"
    assert api.patch("/api/v3/contacts/00000000-0000-0000-0000-000000000000", json={}).status_code == 404


def test_patch_changes_only_sent_fields_and_null_overwrites(api, engage):
    c = api.post("/api/v3/contacts", json=member(1, city="Lund", zipCode="22100",
                                                 preferences={"acceptsEmail": True, "acceptsSms": False})).json()
    resp = api.patch(f"/api/v3/contacts/{c['id']}", json={"city": None, "zipCode": "", "lastName": "New",
                                                          "notAnAttribute": 1, "preferences": {"acceptsSms": True}})
    assert resp.status_code == 200
    attrs = resp.json()["attributes"]
    assert attrs["city"] is None and attrs["zipCode"] == "" and attrs["lastName"] == "New"
    assert attrs["firstName"] == "F1" and attrs["email"] == "person1@example.com"
    assert "notAnAttribute" not in attrs
    assert resp.json()["preferences"] == {"acceptsEmail": True, "acceptsSms": True}
    assert engage.effects("contact_updated")[0]["detail"]["fields"] == ["city", "lastName", "preferences.acceptsSms",
                                                                        "zipCode"]
    bad = api.patch(f"/api/v3/contacts/{c['id']}", json={"email": "broken", "firstName": "X"})
    assert bad.status_code == 400 and engage.contacts.get(c["id"]).attributes["firstName"] == "F1"
    typed = api.patch(f"/api/v3/contacts/{c['id']}", json={"contactType": "Contact"})
    assert typed.status_code == 400 and typed.json()["errorCode"] == "InvalidContactType"


def test_consents_definitions_and_patch(api):
    defs = api.get("/api/v2/consents").json()
    assert {d["id"] for d in defs} == {"newsletter", "profiling"}
    c = api.post("/api/v3/contacts", json=member(1)).json()
    resp = api.patch(f"/api/v3/contacts/{c['id']}", json={"consents": [
        {"id": "newsletter", "value": True, "date": "2025-01-02T10:00:00+01:00", "source": "web"}]})
    assert resp.json()["consents"] == [{"id": "newsletter", "value": True, "date": "2025-01-02T09:00:00Z",
                                        "source": "web", "comment": None}]
    back = api.patch(f"/api/v3/contacts/{c['id']}", json={"consents": [{"id": "newsletter", "value": None}]})
    assert back.status_code == 400 and back.json()["errorCode"] == "InvalidConsent"
    assert api.patch(f"/api/v3/contacts/{c['id']}", json={"consents": [{"id": "x", "value": True}]}).status_code == 400


def test_update_contact_type_and_preferences_and_delete(api, engage):
    c = api.post("/api/v3/contacts", json={"email": "c@example.com", "contactType": "Contact"},
                 params={"createAsUnapproved": "true"}).json()
    assert "memberNumber" not in c["attributes"]
    promoted = api.post(f"/api/v3/contacts/{c['id']}/updateContactType", params={"contactTypeId": "Member"})
    assert promoted.status_code == 200 and promoted.json()["contactType"] == "Member"
    assert promoted.json()["attributes"]["memberNumber"]
    bad = api.post(f"/api/v3/contacts/{c['id']}/updateContactType", params={"contactTypeId": "Nope"})
    assert bad.json()["errorCode"] == "InvalidContactType"
    pref = api.post(f"/api/v2/contacts/{c['id']}/preferences/acceptsSms", json={"value": True})
    assert pref.json()["preferences"]["acceptsSms"] is True and pref.json()["meta"]["approved"] is True
    assert api.post(f"/api/v2/contacts/{c['id']}/preferences/acceptsSms", json={"value": "yes"}).status_code == 400
    assert api.delete(f"/api/v2/contacts/{c['id']}").status_code == 204
    assert api.get(f"/api/v3/contacts/{c['id']}").status_code == 404
    assert api.get("/api/v3/contacts/id", params={"email": "c@example.com"}).status_code == 404
    assert [e["kind"] for e in engage.effects()] == ["contact_created", "contact_type_changed", "preference_set",
                                                     "contact_deleted"]


def test_changes_feed_by_type_and_window(api, engage):
    t0 = datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
    engage.clock = lambda: t0
    a = api.post("/api/v3/contacts", json=member(1)).json()["id"]
    engage.clock = lambda: t0 + timedelta(hours=2)
    b = api.post("/api/v3/contacts", json=member(2)).json()["id"]
    api.patch(f"/api/v3/contacts/{a}", json={"firstName": "Z"})
    api.delete(f"/api/v2/contacts/{b}")

    def changes(kind, start, end=None):
        params = {"changeType": kind, "fromDate": start.isoformat()}
        if end:
            params["toDate"] = end.isoformat()
        return api.get("/api/v3/contacts/changes", params=params)

    assert changes("Created", t0, t0 + timedelta(hours=1)).json() == [a]
    assert sorted(changes("Created", t0).json()) == sorted([a, b])
    assert changes("Updated", t0 + timedelta(hours=1)).json() == [a]
    assert changes("Deleted", t0).json() == [b]
    assert changes("Created", t0 + timedelta(hours=3)).json() == []
    assert api.get("/api/v3/contacts/changes", params={"changeType": "Moved", "fromDate": "2025-01-01"}).status_code == 400
    assert api.get("/api/v3/contacts/changes", params={"changeType": "Created"}).status_code == 400


def test_bulk_create_update_status_and_limit(api, engage):
    existing = api.post("/api/v3/contacts", json=member(0)).json()
    rows = [member(i) for i in range(1, 4)] + [{"email": "bad"}, member(0)]
    resp = api.post("/api/v3/contacts/bulk", params={"contactType": "Member"}, json=rows)
    assert resp.status_code == 202 and isinstance(resp.json(), str)
    status = api.get("/api/v3/contacts/bulk/status", params={"batchId": resp.json()}).json()
    assert status["status"] == "Completed" and (status["total"], status["succeeded"], status["failed"]) == (5, 3, 2)
    assert [r["status"] for r in status["results"]] == ["Created"] * 3 + ["Failed", "Failed"]
    assert status["results"][3]["errorCode"] == "InvalidEmailAddress"
    assert status["results"][4]["errorCode"] == "ContactAlreadyExists"
    assert status["results"][4]["contactId"] == existing["id"]
    upd = api.patch("/api/v3/contacts/bulk", json=[{"externalId": "ct-1", "city": "Malmö"},
                                                   {"id": existing["id"], "lastName": "Bulk"},
                                                   {"externalId": "ct-404", "city": "x"}])
    st = api.get("/api/v3/contacts/bulk/status", params={"batchId": upd.json()}).json()
    assert [r["status"] for r in st["results"]] == ["Updated", "Updated", "Failed"]
    assert st["results"][2]["errorCode"] == "ContactNotFound"
    assert engage.contacts.get(existing["id"]).attributes["lastName"] == "Bulk"
    too_many = api.post("/api/v3/contacts/bulk", json=[member(i) for i in range(4001)])
    assert too_many.status_code == 400 and too_many.json()["errorCode"] == "TooManyContacts"
    assert api.get("/api/v3/contacts/bulk/status", params={"batchId": "nope"}).status_code == 404
    assert len(engage.effects("contact_created")) == 4


def test_seed_generator_format_and_admin_dump(engage_server, engage, api):
    ids = engage.seed_contacts([{"id": "11111111-1111-1111-1111-111111111111",
                                 "attributes": {"email": "seed@example.com", "externalId": "ct-9",
                                                "firstName": "Seed"},
                                 "preferences": {"acceptsEmail": True}, "consents": {"newsletter": True},
                                 "loyalty": {"points": 120, "tier": "gold", "definitionId": 1}}])
    cid = ids[0]
    c = api.get(f"/api/v3/contacts/{cid}").json()
    assert c["attributes"]["loyaltyTier"] == "gold" and c["consents"][0]["value"] is True
    accounts = api.get("/api/v3/point-accounts", params={"contactId": cid}).json()
    assert accounts["items"][0]["balance"] == 120
    dump = httpx.get(f"{engage_server.url}/__admin/engage/contacts").json()
    assert [d["id"] for d in dump] == [cid]
    seeded = httpx.post(f"{engage_server.url}/__admin/engage/contacts",
                        json=[{"attributes": {"email": "two@example.com"}}]).json()
    assert seeded == {"seeded": 1} and len(engage.contacts.by_id) == 2
