"""Every predicate form of reference §2.2 and its error cases, through real HTTP."""

from __future__ import annotations

import pytest

TYPE_REF = {"typeId": "type", "id": "t-1"}
DOCS = [
    {"id": "a1", "version": 1, "email": "anna@example.com", "firstName": "Anna", "age": 30, "vip": True,
     "tags": ["a", "b"], "externalId": "X1", "name": {"en": "Anna", "sv": "Anna"},
     "createdAt": "2024-04-01T00:00:00.000Z", "lastModifiedAt": "2024-05-01T10:00:00.000Z",
     "addresses": [{"country": "SE", "city": "Malmö"}, {"country": "NO"}],
     "custom": {"type": TYPE_REF, "fields": {"loyaltyTier": "gold", "points": 120}},
     "stores": [{"typeId": "store", "key": "se-store"}]},
    {"id": "b2", "version": 1, "email": "bo@example.com", "firstName": "Bo", "age": 42, "vip": False, "tags": ["b"],
     "createdAt": "2024-04-01T00:00:00.000Z", "lastModifiedAt": "2024-05-01T12:00:00.000Z",
     "addresses": [{"country": "DK"}], "custom": {"type": TYPE_REF, "fields": {"loyaltyTier": "silver"}},
     "store": {"typeId": "store", "key": "dk-store"},
     "lineItems": [{"variant": {"sku": "SKU-1"}, "quantity": 2}, {"variant": {"sku": "SKU-3"}, "quantity": 1}],
     "returnInfo": [{"items": [{"shipmentState": "Advised"}]}, {"items": [{"shipmentState": "Returned"}]}]},
    {"id": "c3", "version": 1, "email": "cy@example.com", "age": 17, "tags": [], "addresses": [],
     "createdAt": "2024-04-01T00:00:00.000Z", "lastModifiedAt": "2024-05-02T00:00:00.000Z",
     "lineItems": [{"variant": {"sku": "SKU-2"}, "quantity": 1}],
     "geoLocation": {"type": "Point", "coordinates": [18.07, 59.33]}},
    # A DateTime in another spelling (+02:00): 09:00Z, must compare as that instant.
    {"id": "d4", "version": 1, "email": "dee@example.com", "age": 65.5, "tags": ["c"], "addresses": [{"country": "FI"}],
     "createdAt": "2024-04-01T00:00:00.000Z", "lastModifiedAt": "2024-05-01T11:00:00+02:00"},
]

CASES = [
    ('email = "anna@example.com"', "a1"),
    ("age != 30", "b2 c3 d4"),
    ("age <> 30", "b2 c3 d4"),
    ("age < 30", "c3"),
    ("age <= 30", "a1 c3"),
    ("age > 42", "d4"),
    ("age >= 42", "b2 d4"),
    ("age = 65.5", "d4"),
    ('firstName != "Anna"', "b2 c3 d4"),  # absent fields match != (MongoDB semantics of the real API)
    ("vip = true", "a1"),
    ("vip = false", "b2"),
    ('lastModifiedAt >= "2024-05-01T10:00:00.000Z" and lastModifiedAt < "2024-05-02T00:00:00.000Z"', "a1 b2"),
    ('lastModifiedAt = "2024-05-01T09:00:00Z"', "d4"),
    ('lastModifiedAt < "2024-05-01T11:00:00+01:00"', "d4"),
    ('lastModifiedAt > "2024-05-01T09:00:00.000001Z"', "a1 b2 c3"),
    ("not (age < 40 and vip = true)", "b2 c3 d4"),
    ('age < 20 or age > 60 and email = "nobody"', "c3"),  # and binds tighter than or
    ("not age < 20 or vip = true", "a1 b2 d4"),  # not binds tighter than or
    ('(age < 20 or age > 60) and email = "dee@example.com"', "d4"),
    ("age > 20 AND vip = TRUE", "a1"),
    ('firstName in ("Anna", "Bo")', "a1 b2"),
    ("age in (17, 65.5)", "c3 d4"),
    ("age not in (30, 42)", "c3 d4"),
    ('firstName not in ("Anna")', "b2 c3 d4"),
    ("externalId is defined", "a1"),
    ("externalId is not defined", "b2 c3 d4"),
    ("custom is defined", "a1 b2"),
    ("tags is empty", "c3"),
    ("tags is not empty", "a1 b2 d4"),
    ("addresses is empty", "c3"),
    ('tags contains any ("a", "c")', "a1 d4"),
    ('tags contains all ("a", "b")', "a1"),
    ('tags contains all ("b")', "a1 b2"),
    ('tags = "b"', "a1 b2"),  # a comparison on an array matches any element
    ('addresses(country = "SE")', "a1"),
    ('addresses(country = "DK" or country = "NO")', "a1 b2"),
    ('addresses(not (country = "SE"))', "a1 b2 d4"),
    ('custom(fields(loyaltyTier = "gold"))', "a1"),
    ("custom(fields(points > 100))", "a1"),
    ('custom(type(id = "t-1")) and custom(fields(loyaltyTier in ("gold", "silver")))', "a1 b2"),
    ('lineItems(variant(sku = "SKU-1"))', "b2"),
    ('lineItems(variant(sku in ("SKU-1", "SKU-2")) and quantity = 2)', "b2"),
    ('returnInfo(items(shipmentState = "Returned"))', "b2"),
    ('store(key = "dk-store")', "b2"),
    ('stores(key = "se-store")', "a1"),
    ('name(en = "Anna")', "a1"),
    ("geoLocation within circle(18.0686, 59.3293, 1000)", "c3"),
    ("geoLocation within circle(10.75, 59.91, 1000)", ""),
    ('id > "b2"', "c3 d4"),
    ('id >= "b2" and age < 50', "b2 c3"),
    ('age > 100 or id > "c3"', "d4"),
    ('lastModifiedAt >= "2024-05-01T00:00:00.000Z" and id > "a1" and id < "d4"', "b2 c3"),
]


@pytest.fixture
def seeded(ct):
    ct.app.put("customers", DOCS)
    return ct


def _ids(resp) -> str:
    assert resp.status_code == 200, resp.text
    return " ".join(d["id"] for d in resp.json()["results"])


@pytest.mark.parametrize("where,expected", CASES, ids=[c[0] for c in CASES])
def test_predicate_forms(seeded, api, where, expected):
    assert _ids(api.get("/customers", params={"where": where, "sort": "id asc"})) == expected


@pytest.mark.parametrize("where,variables,expected", [
    ("email = :e", {"var.e": "anna@example.com"}, "a1"),
    ("firstName in :names", {"var.names": ["Anna", "Bo"]}, "a1 b2"),
    ("age > :a", {"var.a": "40"}, "b2 d4"),  # variables are coerced to the field's type
    ("vip = :v", {"var.v": "true"}, "a1"),
    ("lastModifiedAt >= :from and lastModifiedAt < :to",
     {"var.from": "2024-05-01T10:00:00.000Z", "var.to": "2024-05-02T00:00:00.000Z"}, "a1 b2"),
    ("id > :last", {"var.last": "b2"}, "c3 d4"),
    ("firstName in (:x, :y)", {"var.x": "Anna", "var.y": "Nobody"}, "a1"),
])
def test_input_variables(seeded, api, where, variables, expected):
    assert _ids(api.get("/customers", params={"where": where, "sort": "id asc", **variables})) == expected


def test_repeated_where_parameters_are_anded(seeded, api):
    resp = api.get("/customers", params=[("where", "age > 20"), ("where", "vip = false"), ("sort", "id asc")])
    assert _ids(resp) == "b2"


@pytest.mark.parametrize("where,points_at", [
    ("email = ", "end of input"),
    ('email "x"', "'\"x\"'"),
    ("age >> 3", "'>'"),
    ("(age > 3", "end of input"),
    ("age > 3)", "')'"),
    ("age in ()", "')'"),
    ("age in 1", "'1'"),
    ("tags contains", "end of input"),
    ("externalId is", "end of input"),
    ("externalId is maybe", "'maybe'"),
    ("and age = 1", "'and'"),
    ('email = "unterminated', "'\"'"),
    ("age = 1 age = 2", "'age'"),
    ("", "end of input"),
    ("email = anna", "'anna'"),
    ("not", "end of input"),
    ("geoLocation within circle(1, 2)", "')'"),
    ("age ! 3", "'!'"),
])
def test_syntax_errors_are_400_invalid_input_pointing_at_the_problem(seeded, api, where, points_at):
    resp = api.get("/customers", params={"where": where})
    assert resp.status_code == 400
    body = resp.json()
    assert body["statusCode"] == 400 and body["errors"][0]["code"] == "InvalidInput"
    assert body["message"].startswith("Malformed parameter: where:")
    assert f"Invalid input {points_at}" in body["message"], body["message"]
    assert "column" in body["message"]


def test_unknown_variable_is_400(seeded, api):
    resp = api.get("/customers", params={"where": "email = :e"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "InvalidInput"
    assert "'e'" in resp.json()["message"] and "var.e" in resp.json()["message"]


def test_single_value_variable_with_many_values_is_400(seeded, api):
    resp = api.get("/customers", params={"where": "email = :e", "var.e": ["a", "b"]})
    assert resp.status_code == 400 and "2 values" in resp.json()["message"]


def test_head_evaluation_agrees_with_full_documents():
    """The hot path evaluates on document heads (top-level scalars) and falls back to the parsed document
    when the predicate touches an object/array; both routes must give the same answer for every case."""
    from voyado_sync.sandbox.commercetools.predicates import compile_where
    from voyado_sync.sandbox.commercetools.store import Doc

    docs = [Doc(dict(d)) for d in DOCS]
    for where, expected in CASES:
        query = compile_where([where])
        via_head = [d.id for d in docs if query.matches(d.head, d.obj)]
        via_full = [d.id for d in docs if query.test(d.obj())]
        assert via_head == via_full == expected.split(), where
