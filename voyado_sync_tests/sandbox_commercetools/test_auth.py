"""OAuth2 client credentials, bearer checks and scopes (reference §1.2, §6)."""

from __future__ import annotations

import time

import httpx
import pytest

from voyado_sync.sandbox.run import CT_PROJECT_KEY as PROJECT


def _token(ct, auth, **data):
    return httpx.post(f"{ct.url}/oauth/token", auth=auth, data=data)


def test_client_credentials_token(ct):
    resp = _token(ct, ("sandbox-client", "sandbox-secret"), grant_type="client_credentials")
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 172_800
    assert body["scope"] == f"manage_project:{PROJECT}" and len(body["access_token"]) >= 20
    assert "refresh_token" not in body


def test_requested_scope_must_be_covered_by_the_client(ct):
    narrowed = _token(ct, ("sandbox-client", "sandbox-secret"), grant_type="client_credentials",
                      scope=f"view_orders:{PROJECT} view_customers:{PROJECT}")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == f"view_customers:{PROJECT} view_orders:{PROJECT}"
    denied = _token(ct, ("sandbox-reader", "reader-secret"), grant_type="client_credentials",
                    scope=f"manage_customers:{PROJECT}")
    assert denied.status_code == 400
    assert denied.json()["error"] == "invalid_scope"
    assert denied.json()["errors"][0]["code"] == "invalid_scope"
    other_project = _token(ct, ("sandbox-client", "sandbox-secret"), grant_type="client_credentials",
                           scope="view_orders:someone-else")
    assert other_project.status_code == 400


@pytest.mark.parametrize("auth", [("sandbox-client", "wrong"), ("nobody", "sandbox-secret"), None])
def test_bad_client_credentials_are_401_invalid_client(ct, auth):
    resp = _token(ct, auth, grant_type="client_credentials")
    assert resp.status_code == 401
    body = resp.json()
    assert body["statusCode"] == 401 and body["error"] == "invalid_client"
    assert body["errors"][0]["code"] == "invalid_client" and body["error_description"]


def test_grant_type_is_required_and_checked(ct):
    assert _token(ct, ("sandbox-client", "sandbox-secret")).json()["error"] == "invalid_request"
    resp = _token(ct, ("sandbox-client", "sandbox-secret"), grant_type="password")
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}])
def test_missing_or_invalid_bearer_is_401_invalid_token(ct, headers):
    resp = httpx.get(f"{ct.url}/{PROJECT}/customers", headers=headers)
    assert resp.status_code == 401
    assert resp.json() == {"statusCode": 401, "message": "invalid_token",
                           "errors": [{"code": "invalid_token", "message": "invalid_token"}],
                           "error": "invalid_token", "error_description": "invalid_token"}
    assert resp.headers["X-Correlation-ID"]


def test_short_lived_token_expires(ct):
    ct.app.set_token_ttl(1)
    resp = _token(ct, ("sandbox-client", "sandbox-secret"), grant_type="client_credentials")
    assert resp.json()["expires_in"] == 1
    headers = {"Authorization": f"Bearer {resp.json()['access_token']}"}
    assert httpx.get(f"{ct.url}/{PROJECT}/customers", headers=headers).status_code == 200
    time.sleep(1.1)
    expired = httpx.get(f"{ct.url}/{PROJECT}/customers", headers=headers)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    fresh = ct.token()
    assert httpx.get(f"{ct.url}/{PROJECT}/customers", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_admin_can_expire_all_tokens(ct, api):
    assert api.get("/orders").status_code == 200
    httpx.post(f"{ct.url}/__admin/ct/tokens/expire").raise_for_status()
    assert api.get("/orders").status_code == 401


@pytest.mark.parametrize("resource,scope,allowed", [
    ("customers", "view_customers", True), ("customers", "view_orders", False),
    ("orders", "view_orders", True), ("orders", "view_customers", False),
    ("carts", "view_orders", True),
    ("product-projections", "view_products", True), ("product-projections", "view_published_products", True),
    ("inventory", "view_products", True), ("inventory", "view_orders", False),
    ("categories", "view_categories", True), ("categories", "view_products", True),
    ("categories", "view_orders", False),
    ("channels", "view_channels", True), ("channels", "view_products", True), ("channels", "view_orders", False),
    ("payments", "view_payments", True), ("payments", "view_orders", False),
    ("stores", "view_stores", True), ("stores", "view_products", False),
    ("messages", "view_messages", True), ("messages", "view_customers", False),
    ("types", "view_types", True), ("types", "manage_types", True), ("types", "view_customers", False),
])
def test_scopes_per_endpoint(ct, resource, scope, allowed):
    token = ct.token(scope=f"{scope}:{PROJECT}")
    with ct.api(token) as api:
        resp = api.get(f"/{resource}")
    if allowed:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 403
        assert resp.json()["errors"][0]["code"] == "insufficient_scope"
        assert resp.json()["error"] == "insufficient_scope"


def test_staged_projections_need_view_products(ct):
    token = ct.token(scope=f"view_published_products:{PROJECT}")
    with ct.api(token) as api:
        assert api.get("/product-projections").status_code == 200
        assert api.get("/product-projections", params={"staged": "true"}).status_code == 403


def test_read_only_client_cannot_write(ct):
    customer = ct.app.put("customers", {"email": "x@example.com"})[0]
    token = ct.token("sandbox-reader", "reader-secret")
    with ct.api(token) as api:
        assert api.get(f"/customers/{customer['id']}").status_code == 200
        resp = api.post(f"/customers/{customer['id']}", json={"version": 1, "actions": []})
        assert resp.status_code == 403 and resp.json()["errors"][0]["code"] == "insufficient_scope"
        assert "manage_customers" in resp.json()["message"]
        assert api.post("/types", json={"key": "k", "name": {"en": "k"}, "resourceTypeIds": []}).status_code == 403


def test_token_of_one_project_does_not_open_another(ct):
    resp = httpx.get(f"{ct.url}/other-project/customers", headers={"Authorization": f"Bearer {ct.token()}"})
    assert resp.status_code == 403 and resp.json()["errors"][0]["code"] == "insufficient_scope"


def test_extra_clients_can_be_configured(ct):
    httpx.post(f"{ct.url}/__admin/ct/config",
               json={"clients": {"etl": ["etl-secret", f"view_orders:{PROJECT}"]}}).raise_for_status()
    token = ct.token("etl", "etl-secret")
    with ct.api(token) as api:
        assert api.get("/orders").status_code == 200
        assert api.get("/customers").status_code == 403
