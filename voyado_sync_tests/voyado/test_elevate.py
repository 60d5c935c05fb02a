"""Elevate sandbox + ElevateClient: gzip JSON Lines imports, full replace, validation, incremental,
validate-only, one import at a time, 202 + polling, export, auth."""

from __future__ import annotations

import gzip
import json
import threading

import httpx
import pytest

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.clients.http import AuthError, ConflictError, ValidationError

from .support import ELEVATE_KEY, FAST_RETRY

PATH = "/api/admin/v4/import/catalog"


def group(key: str, stock: int = 3, price: float = 299.0, title: str = "Shirt") -> dict:
    return {"replace": {"key": key, "productGroup": {"products": {f"{key}-p": {
        "markets": ["se"], "defaults": {"url": f"/p/{key}", "title": title},
        "variants": {f"{key}-p-m": {"defaults": {"stock": stock, "sellingPrice": price, "listPrice": 399.0}}}}}}}}


def gz(lines: list) -> bytes:
    return gzip.compress("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines).encode())


def raw_put(server, body: bytes, headers: dict | None = None, method: str = "PUT", **params) -> httpx.Response:
    h = {"Api-Key": ELEVATE_KEY, "Content-Type": "application/jsonlines", "Content-Encoding": "gzip", **(headers or {})}
    return httpx.request(method, server.url + PATH, content=body, headers=h, params=params, timeout=10)


def test_full_import_replaces_and_deletes_missing_groups(elevate_client, elevate):
    first = elevate_client.import_catalog([group("pg1"), group("pg2")])
    assert first["status"] == "succeeded" and first["replaced"] == 2
    second = elevate_client.import_catalog([group("pg2", stock=0), group("pg3")])
    assert set(elevate.catalog) == {"pg2", "pg3"} and second["deleted"] == 1
    exported = elevate_client.export_catalog()
    assert [x["key"] for x in exported] == ["pg2", "pg3"]
    stock = exported[0]["productGroup"]["products"]["pg2-p"]["variants"]["pg2-p-m"]["defaults"]["stock"]
    assert stock == 0
    assert [x["key"] for x in elevate_client.export_catalog(["pg3"])] == ["pg3"]
    assert len(elevate.effects("catalog_import")) == 2


@pytest.mark.parametrize("headers,body,code", [
    ({"Content-Type": "application/json"}, None, "UnsupportedContentType"),
    ({"Content-Encoding": "identity"}, None, "ContentEncodingRequired"),
    ({}, b"not gzip at all", "InvalidBody"),
])
def test_headers_and_gzip_are_required(elevate_server, elevate, headers, body, code):
    resp = raw_put(elevate_server, body if body is not None else gz([group("pg1")]), headers)
    assert resp.status_code == 400 and resp.json()["errorCode"] == code
    assert elevate.catalog == {}


def test_invalid_line_leaves_catalog_unchanged_and_lists_lines(elevate_server, elevate_client, elevate):
    elevate_client.import_catalog([group("keep")])
    bad_variant = group("pg3")
    bad_variant["replace"]["productGroup"]["products"]["pg3-p"]["variants"]["pg3-p-m"]["defaults"]["stock"] = -1
    lines = [group("pg1"), "{not json", {"edit": {"key": "pg2"}}, bad_variant,
             {"replace": {"key": "pg4", "productGroup": {"products": {}}}}, group("pg1")]
    resp = raw_put(elevate_server, gz(lines))
    assert resp.status_code == 400
    errors = resp.json()["errors"]
    assert sorted({e["line"] for e in errors}) == [2, 3, 4, 5, 6]
    assert any("stock" in e["reason"] for e in errors) and any("edit" in e["reason"] for e in errors)
    assert set(elevate.catalog) == {"keep"}
    with pytest.raises(ValidationError) as err:
        elevate_client.import_catalog([group("x"), {"replace": {"key": "y", "productGroup": {"products": {
            "x-p": {"variants": {"v": {}}}}}}}])  # product key used twice in the same file
    assert set(elevate.catalog) == {"keep"} and err.value.body["errors"]


def test_product_keys_must_be_unique_across_groups(elevate_client, elevate):
    elevate_client.import_catalog([group("a")])
    clash = {"replace": {"key": "b", "productGroup": {"products": {"a-p": {"variants": {"z": {}}}}}}}
    with pytest.raises(ValidationError) as err:
        elevate_client.import_catalog([clash], full=False)
    assert "already used by product group 'a'" in err.value.body["errors"][0]["reason"]
    assert set(elevate.catalog) == {"a"}


def test_validate_only_changes_nothing(elevate_client, elevate):
    elevate_client.import_catalog([group("pg1")])
    ok = elevate_client.import_catalog([group("pg2")], validate_only=True)
    assert ok["valid"] is True and ok["deleted"] == 1
    with pytest.raises(ValidationError):
        elevate_client.import_catalog([{"remove": {"key": "pg1"}}], validate_only=True)  # PUT: replace only
    assert set(elevate.catalog) == {"pg1"} and len(elevate.effects()) == 1


def test_incremental_import_replace_edit_remove(elevate_client, elevate):
    elevate_client.import_catalog([group("pg1"), group("pg2"), group("pg3")])
    edit = {"edit": {"key": "pg1", "productGroup": {"products": {"pg1-p": {
        "defaults": {"title": "New title"}, "variants": {"pg1-p-m": {"defaults": {"stock": 0}}}}}}}}
    result = elevate_client.import_catalog([edit, {"remove": {"key": "pg2"}}, group("pg4"),
                                            {"remove": {"key": "absent"}}], full=False)
    assert (result["edited"], result["removed"], result["replaced"]) == (1, 1, 1)
    assert set(elevate.catalog) == {"pg1", "pg3", "pg4"}
    product = elevate.catalog["pg1"]["products"]["pg1-p"]
    assert product["defaults"] == {"url": "/p/pg1", "title": "New title"}
    assert product["variants"]["pg1-p-m"]["defaults"] == {"stock": 0, "sellingPrice": 299.0, "listPrice": 399.0}
    with pytest.raises(ValidationError):
        elevate_client.import_catalog([{"edit": {"key": "missing", "productGroup": {}}}], full=False)


def test_long_import_answers_202_and_client_polls(elevate_server, elevate):
    elevate.import_delay_seconds, elevate.import_blocking_seconds = 0.6, 0.1
    raw = raw_put(elevate_server, gz([group("slow")]))
    assert raw.status_code == 202 and raw.json()["importId"]
    status = httpx.get(f"{elevate_server.url}/api/admin/v4/import/{raw.json()['importId']}",
                       headers={"Api-Key": ELEVATE_KEY}).json()["status"]
    assert status in ("queued", "running")
    # a second import while the first runs is rejected
    busy = raw_put(elevate_server, gz([group("other")]))
    assert busy.status_code == 409 and busy.json()["errorCode"] == "ImportInProgress"
    with ElevateClient(elevate_server.url, ELEVATE_KEY, retry=FAST_RETRY) as c:
        c.wait_for_import(raw.json()["importId"], poll_interval=0.05)
        done = c.import_catalog([group("polled")], poll_interval=0.05)
        assert done["status"] == "succeeded" and set(elevate.catalog) == {"polled"}
        elevate.fail_next_import = "index build failed"
        with pytest.raises(ValidationError) as err:
            c.import_catalog([group("never")], poll_interval=0.05)
        assert err.value.body["status"] == "failed" and set(elevate.catalog) == {"polled"}


def test_concurrent_imports_one_wins_one_conflicts(elevate_server, elevate):
    elevate.import_delay_seconds = 0.3
    results: list = []

    def run(key: str) -> None:
        with ElevateClient(elevate_server.url, ELEVATE_KEY, retry=FAST_RETRY) as c:
            try:
                results.append(c.import_catalog([group(key)])["status"])
            except ConflictError as exc:
                results.append(exc.code)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ImportInProgress", "succeeded"] and len(elevate.catalog) == 1


def test_bad_api_key_is_403_auth_error_without_retry(elevate_server, elevate):
    with ElevateClient(elevate_server.url, "wrong", retry=FAST_RETRY) as c:
        with pytest.raises(AuthError) as err:
            c.import_catalog([group("x")])
        assert err.value.status == 403 and c.stats.requests == 1
    assert elevate.catalog == {}


def test_transient_faults_on_import_are_retried(elevate_server, elevate_client, elevate):
    httpx.post(f"{elevate_server.url}/__admin/faults", json={"seed": 2, "rules": [
        {"pattern": "PUT /api/admin/v4/import", "probabilities": {"503": 0.25, "reset": 0.15}, "retry_after": 0.01}]})
    for i in range(4):
        elevate_client.import_catalog([group(f"pg{i}")])
        assert set(elevate.catalog) == {f"pg{i}"}
    assert elevate_client.stats.retries > 0
