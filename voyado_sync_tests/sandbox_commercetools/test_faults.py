"""Fault injection from the base server reaches the Commercetools routes, seen by a raw httpx client."""

from __future__ import annotations

import json

import httpx
import pytest

from voyado_sync.sandbox.run import CT_PROJECT_KEY as PROJECT


def _faults(ct, kind, pattern=f"GET /{PROJECT}/orders", **rule):
    httpx.post(f"{ct.url}/__admin/faults", json={"seed": 1, "rules": [
        {"pattern": pattern, "probabilities": {kind: 1.0}, **rule}]}).raise_for_status()


@pytest.fixture
def orders(ct):
    return ct.app.put("orders", [{"orderNumber": f"F-{i}", "note": "x" * 200} for i in range(20)])


@pytest.mark.parametrize("status,code", [(429, "TooManyRequests"), (503, "OverCapacity"), (502, "BadGateway"),
                                         (500, "General"), (504, "GatewayTimeout")])
def test_status_faults_are_answered_before_the_handler(ct, api, orders, status, code):
    _faults(ct, str(status), retry_after=0.25)
    resp = api.get("/orders")
    assert resp.status_code == status
    assert resp.json()["errors"][0]["code"] == code and resp.headers["X-Correlation-ID"]
    if status == 429:
        assert resp.headers["Retry-After"] == "0.25"
    assert api.get("/customers").status_code == 200  # the rule only matches orders
    assert [r.fault for r in ct.app.requests() if r.path.endswith("/orders")] == [str(status)]


def test_429_on_a_write_has_no_side_effect(ct, api):
    customer = ct.app.put("customers", {"email": "f@example.com"})[0]
    _faults(ct, "429", pattern=f"POST /{PROJECT}/customers")
    resp = api.post(f"/customers/{customer['id']}", json={"version": 1, "actions": [
        {"action": "setFirstName", "firstName": "X"}]})
    assert resp.status_code == 429
    assert ct.app.get("customers", customer["id"])["version"] == 1


def test_reset_mid_body(ct, api, orders):
    _faults(ct, "reset")
    with pytest.raises(httpx.TransportError):
        api.get("/orders")


def test_truncated_json(ct, api, orders):
    _faults(ct, "truncate")
    resp = api.get("/orders")
    assert resp.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content)


def test_slow_response_exceeds_client_timeout(ct, orders):
    _faults(ct, "slow", slow_seconds=0.5)
    with ct.api(timeout=0.2) as api, pytest.raises(httpx.ReadTimeout):
        api.get("/orders")


def test_token_endpoint_faults(ct):
    _faults(ct, "503", pattern="POST /oauth/token")
    resp = httpx.post(f"{ct.url}/oauth/token", auth=("sandbox-client", "sandbox-secret"),
                      data={"grant_type": "client_credentials"})
    assert resp.status_code == 503


def test_admin_is_never_faulted(ct, orders):
    _faults(ct, "503", pattern=".*")
    assert httpx.get(f"{ct.url}/__admin/ct/orders").status_code == 200
