"""Paging, totals, sorting, expansion and single-document endpoints (reference §2.1, §2.3)."""

from __future__ import annotations

import uuid

import httpx
import pytest


def _seed_orders(ct, n: int, **extra):
    return ct.app.put("orders", [{"orderNumber": f"ORD-{i:05d}", "orderState": "Open", "n": i,
                                  "lastModifiedAt": f"2024-05-01T{i % 24:02d}:00:00.000Z", **extra}
                                 for i in range(n)])


def test_envelope_defaults(ct, api):
    _seed_orders(ct, 25)
    body = api.get("/orders").json()
    assert list(body) == ["limit", "offset", "count", "total", "results"]
    assert (body["limit"], body["offset"], body["count"], body["total"]) == (20, 0, 20, 25)


@pytest.mark.parametrize("params,status", [
    ({"limit": "0"}, 200), ({"limit": "500"}, 200), ({"limit": "501"}, 400), ({"limit": "-1"}, 400),
    ({"limit": "ten"}, 400), ({"offset": "10000"}, 200), ({"offset": "10001"}, 400), ({"offset": "-5"}, 400),
    ({"withTotal": "false"}, 200), ({"withTotal": "maybe"}, 400),
])
def test_limit_offset_bounds(ct, api, params, status):
    _seed_orders(ct, 3)
    resp = api.get("/orders", params=params)
    assert resp.status_code == status, resp.text
    if status == 400:
        assert resp.json()["errors"][0]["code"] == "InvalidInput"
        assert resp.json()["message"].startswith(f"Malformed parameter: {next(iter(params))}")


def test_limit_zero_and_offset(ct, api):
    _seed_orders(ct, 7)
    assert api.get("/orders", params={"limit": 0}).json() == {"limit": 0, "offset": 0, "count": 0, "total": 7,
                                                                 "results": []}
    page = api.get("/orders", params={"sort": "n asc", "offset": 5, "limit": 5}).json()
    assert [d["n"] for d in page["results"]] == [5, 6] and page["count"] == 2


def test_with_total_false_omits_total(ct, api):
    _seed_orders(ct, 3)
    body = api.get("/orders", params={"withTotal": "false", "where": "n >= 1"}).json()
    assert "total" not in body and body["count"] == 2


def test_total_is_capped_at_10000_only_when_a_where_is_used(ct, api):
    ct.app.put("inventory", [{"sku": f"S{i}", "quantityOnStock": 1} for i in range(10_050)])
    assert api.get("/inventory", params={"limit": 1}).json()["total"] == 10_050
    assert api.get("/inventory", params={"limit": 1, "where": "quantityOnStock = 1"}).json()["total"] == 10_000


def test_id_cursor_iterates_a_window_without_offset(ct, api):
    _seed_orders(ct, 1234)
    window = 'lastModifiedAt >= "2024-05-01T03:00:00.000Z" and lastModifiedAt < "2024-05-01T20:00:00.000Z"'
    expected = sorted(d["id"] for d in ct.app.all("orders") if 3 <= d["n"] % 24 < 20)
    seen, last, pages = [], None, 0
    while True:
        where = window + (f' and id > "{last}"' if last else "")
        page = api.get("/orders", params={"where": where, "sort": "id asc", "limit": 100,
                                          "withTotal": "false"}).json()
        pages += 1
        seen += [d["id"] for d in page["results"]]
        if page["count"] < 100:
            break
        last = page["results"][-1]["id"]
    assert seen == expected and pages == len(expected) // 100 + 1


def test_multi_field_sort_with_nested_paths(ct, api):
    ct.app.put("categories", [
        {"id": "c1", "orderHint": "0.2", "name": {"en": "Shoes"}, "depth": 1},
        {"id": "c2", "orderHint": "0.1", "name": {"en": "Hats"}, "depth": 1},
        {"id": "c3", "orderHint": "0.3", "name": {"en": "Bags"}, "depth": 0},
        {"id": "c4", "orderHint": "0.3", "name": {"en": "Apparel"}, "depth": 2},
    ])
    def by(*sorts: str) -> list[str]:
        resp = api.get("/categories", params=[("sort", s) for s in sorts])
        return [d["id"] for d in resp.json()["results"]]

    assert by("name.en asc") == ["c4", "c3", "c2", "c1"]
    assert by("orderHint desc", "name.en asc") == ["c4", "c3", "c1", "c2"]
    assert by("depth asc", "orderHint desc") == ["c3", "c1", "c2", "c4"]
    assert by("id desc") == ["c4", "c3", "c2", "c1"]


@pytest.mark.parametrize("sort", ["name", "name up", "asc", ". asc"])
def test_malformed_sort_is_400(ct, api, sort):
    resp = api.get("/categories", params={"sort": sort})
    assert resp.status_code == 400 and resp.json()["errors"][0]["code"] == "InvalidInput"


def _expansion_fixture(ct):
    payment = ct.app.put("payments", {"key": "pay-1", "amountPlanned": {"centAmount": 100}})[0]
    group = ct.app.put("customer-groups", {"key": "vip", "name": "VIP"})[0]
    channel = ct.app.put("channels", {"key": "web", "roles": ["ProductDistribution"]})[0]
    customer = ct.app.put("customers", {"email": "e@example.com",
                                        "customerGroup": {"typeId": "customer-group", "id": group["id"]}})[0]
    order = ct.app.put("orders", {"orderNumber": "X-1",
                                  "customerGroup": {"typeId": "customer-group", "id": group["id"]},
                                  "paymentInfo": {"payments": [{"typeId": "payment", "id": payment["id"]},
                                                               {"typeId": "payment", "id": "gone"}]},
                                  "lineItems": [{"id": "li-1", "distributionChannel": {"typeId": "channel",
                                                                                       "id": channel["id"]}},
                                                {"id": "li-2"}]})[0]
    return payment, group, channel, customer, order


def test_expand_references(ct, api):
    payment, group, channel, customer, order = _expansion_fixture(ct)
    params = [("expand", "paymentInfo.payments[*]"), ("expand", "customerGroup"),
              ("expand", "lineItems[*].distributionChannel")]
    listed = api.get("/orders", params=params).json()["results"][0]
    single = api.get(f"/orders/{order['id']}", params=params).json()
    for doc in (listed, single):
        payments = doc["paymentInfo"]["payments"]
        assert payments[0]["obj"] == ct.app.get("payments", payment["id"])
        assert "obj" not in payments[1]  # a dangling reference stays unexpanded
        assert doc["customerGroup"]["obj"]["key"] == "vip"
        assert doc["lineItems"][0]["distributionChannel"]["obj"]["key"] == "web"
        assert "distributionChannel" not in doc["lineItems"][1]
    assert api.get(f"/customers/{customer['id']}", params={"expand": "customerGroup"}).json()[
        "customerGroup"]["obj"]["id"] == group["id"]
    plain = api.get(f"/orders/{order['id']}").json()
    assert "obj" not in plain["customerGroup"]  # expansion never leaks into the stored document


def test_get_by_id_key_and_order_number(ct, api):
    order = ct.app.put("orders", {"orderNumber": "ORD/1 ä"})[0]
    customer = ct.app.put("customers", {"key": "cust-1", "email": "k@example.com"})[0]
    assert api.get(f"/orders/{order['id']}").json() == order
    assert api.get("/orders/order-number=ORD%2F1%20%C3%A4").json()["id"] == order["id"]
    assert api.get("/customers/key=cust-1").json()["id"] == customer["id"]
    for path in (f"/orders/{uuid.uuid4()}", "/orders/order-number=nope", "/customers/key=nope",
                 f"/orders/key={order['id']}"):
        resp = api.get(path)
        assert resp.status_code == 404, path
        assert resp.json()["errors"][0]["code"] == "ResourceNotFound"


def test_head_checks_existence(ct, api):
    order = ct.app.put("orders", {"orderNumber": "H-1"})[0]
    found = api.head(f"/orders/{order['id']}")
    assert found.status_code == 200 and found.content == b""
    assert api.head("/orders/order-number=H-1").status_code == 200
    assert api.head("/orders/order-number=H-2").status_code == 404
    assert api.head("/orders").status_code == 200


def test_product_projections_are_published_unless_staged(ct, api):
    live, draft = ct.app.put("product-projections", [{"key": "live", "published": True},
                                                     {"key": "draft", "published": False}])
    assert [d["key"] for d in api.get("/product-projections").json()["results"]] == ["live"]
    staged = api.get("/product-projections", params={"staged": "true", "sort": "key asc"}).json()
    assert [d["key"] for d in staged["results"]] == ["draft", "live"]
    assert api.get(f"/product-projections/{draft['id']}").status_code == 404
    assert api.get(f"/product-projections/{draft['id']}", params={"staged": "true"}).status_code == 200
    assert api.get("/product-projections/key=live").status_code == 200


def test_correlation_id_is_echoed_or_generated(ct, api):
    assert api.get("/orders", headers={"X-Correlation-ID": "mine-123"}).headers["X-Correlation-ID"] == "mine-123"
    assert api.get("/orders/nope", headers={"X-Correlation-ID": "mine-404"}).headers["X-Correlation-ID"] == "mine-404"
    assert api.get("/orders").headers["X-Correlation-ID"]


def test_project_endpoint_reports_messages_configuration(ct, api):
    assert api.get("").json()["messages"]["enabled"] is True
    ct.app.set_messages_enabled(False)
    assert api.get("").json()["messages"]["enabled"] is False


def test_unknown_route_is_404_in_commercetools_shape(ct, api):
    resp = api.get("/discount-codes-that-do-not-exist")
    assert resp.status_code == 404 and resp.json()["errors"][0]["code"] == "ResourceNotFound"
    assert httpx.get(f"{ct.url}/__admin/ct/nothing-here").status_code == 404


def test_concurrent_writes_and_reads_never_fail(ct):
    """Handlers run on many threads: readers page while the shop inserts, updates and emits messages."""
    from concurrent.futures import ThreadPoolExecutor

    _seed_orders(ct, 300)
    token = ct.token()

    def writer(k: int) -> int:
        for i in range(40):
            doc = ct.app.put("orders", {"orderNumber": f"W-{k}-{i}"}, emit_messages=True)[0]
            ct.app.update("orders", doc["id"], {"orderState": "Confirmed"})
        return 0

    def reader(k: int) -> int:
        failures = 0
        with ct.api(token) as api:
            for _ in range(25):
                for path in ("/orders", "/messages"):
                    resp = api.get(path, params={"sort": "id asc", "limit": 50, "where": 'id > "0"'})
                    failures += resp.status_code != 200
        return failures

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(writer, k) for k in range(3)] + [pool.submit(reader, k) for k in range(5)]
        results = [job.result() for job in jobs]
    assert sum(results) == 0
    assert ct.app.count("orders") == 300 + 3 * 40
    assert ct.app.count("messages") == 3 * 40 * 2


def test_in_store_endpoints_see_only_that_store(ct):
    se, dk = ct.app.put("customers", [{"email": "se@x.se", "key": "se-1", "stores": [{"typeId": "store", "key": "se"}]},
                                      {"email": "dk@x.dk", "stores": [{"typeId": "store", "key": "dk"}]}])
    order = ct.app.put("orders", [{"orderNumber": "SE-1", "store": {"typeId": "store", "key": "se"}},
                                  {"orderNumber": "DK-1", "store": {"typeId": "store", "key": "dk"}}])[0]
    token = ct.token(scope="view_orders:voyado-sandbox:se view_customers:voyado-sandbox:se")
    with httpx.Client(base_url=f"{ct.url}/voyado-sandbox", headers={"Authorization": f"Bearer {token}"}) as api:
        listed = api.get("/in-store/key=se/customers", params={"where": 'email = "se@x.se" or email = "dk@x.dk"'})
        assert [d["id"] for d in listed.json()["results"]] == [se["id"]]
        assert api.get("/in-store/key=se/orders").json()["total"] == 1
        assert api.get("/in-store/key=se/orders/order-number=SE-1").json()["id"] == order["id"]
        assert api.get("/in-store/key=se/orders/order-number=DK-1").status_code == 404
        assert api.get(f"/in-store/key=se/customers/{dk['id']}").status_code == 404
        assert api.get("/in-store/key=se/customers/key=se-1").status_code == 200
        assert api.get("/in-store/key=dk/orders").status_code == 403  # scoped to store "se" only
        assert api.get("/orders").status_code == 403  # and not project-wide


def test_expand_through_obj_implies_the_parent(ct, api):
    customer = ct.app.put("customers", {"email": "p@x.se"})[0]
    payment = ct.app.put("payments", {"customer": {"typeId": "customer", "id": customer["id"]}})[0]
    order = ct.app.put("orders", {"paymentInfo": {"payments": [{"typeId": "payment", "id": payment["id"]}]}})[0]
    doc = api.get(f"/orders/{order['id']}", params={"expand": "paymentInfo.payments[*].obj.customer"}).json()
    assert doc["paymentInfo"]["payments"][0]["obj"]["customer"]["obj"]["email"] == "p@x.se"
    assert api.get("/orders", params={"expand": "paymentInfo..payments"}).status_code == 400
