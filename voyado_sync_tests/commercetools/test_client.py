"""CommercetoolsClient against the real sandbox over HTTP: paging, tokens, retries, typed errors."""

from __future__ import annotations

import time

import pytest

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.clients.http import (USER_AGENT, AuthError, ConflictError, NotFoundError, RetryPolicy,
                                      ValidationError)
from voyado_sync.sandbox.http import FaultRule

from .support import FAST_RETRY, PROJECT, api_requests, make_customers, make_orders, past_day


def test_pages_more_than_10k_in_one_window_by_id_cursor_without_offset(ct, client):
    app, _ = ct
    day = past_day()
    app.put("customers", make_customers(day, 10_250))
    window = f'lastModifiedAt >= "{day}T00:00:00.000Z" and lastModifiedAt < "{day}T23:59:59.999Z"'
    seen = [d["id"] for page in client.iter_pages("customers", where=[window]) for d in page]
    assert len(seen) == len(set(seen)) == 10_250
    assert seen == sorted(seen)
    logged = api_requests(app, "/customers")
    assert len(logged) == 21  # ceil(10 250 / 500)
    assert all("offset" not in r.query for r in logged)
    assert all(r.query["sort"] == ["id asc"] and r.query["limit"] == ["500"] and r.query["withTotal"] == ["false"]
               for r in logged)
    assert all(any("id > :lastId" in w for w in r.query["where"]) for r in logged[1:])
    assert client.stats.pages == 21 and client.stats.offset_requests == 0
    # `total` is capped at 10 000 when a where is used: count reports the cap, not the truth.
    assert client.count("customers", where=[window]) == 10_000


def test_exact_multiple_of_page_size_needs_one_extra_empty_page(ct, client):
    app, _ = ct
    app.put("orders", make_orders(past_day(), 1000))
    pages = list(client.iter_pages("orders"))
    assert [len(p) for p in pages] == [500, 500]
    assert client.stats.requests == 3  # the third (empty) page proves the end


def test_user_agent_and_token_cached(ct, client):
    app, _ = ct
    app.put("orders", make_orders(past_day(), 3))
    for _ in range(5):
        client.query("orders", limit=1)
    assert client.stats.token_requests == 1
    assert client.stats.requests == 5
    assert USER_AGENT.startswith("voyado_sync/")


def test_token_refreshed_before_expiry(ct):
    app, url = ct
    app.set_token_ttl(1.0)
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=FAST_RETRY) as c:
        c.query("orders", limit=1)
        time.sleep(1.05)
        c.query("orders", limit=1)
        assert c.stats.token_requests == 2
        assert c.stats.requests == 2  # refreshed before expiry: no 401 round trip
    assert not [r for r in app.requests() if r.status == 401]


def test_401_refreshes_once_then_succeeds(ct, client):
    app, _ = ct
    client.query("orders", limit=1)
    app.auth.expire_all()  # the server forgets the token (e.g. revoked)
    client.query("orders", limit=1)
    assert client.stats.token_requests == 2
    assert [r.status for r in api_requests(app, "/orders")] == [200, 401, 200]


def test_401_after_refresh_fails_with_one_auth_error(ct):
    app, url = ct
    app.set_token_ttl(0)  # every token is dead on arrival
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=FAST_RETRY) as c:
        with pytest.raises(AuthError) as err:
            c.query("orders", limit=1)
    assert err.value.status == 401 and "even after a refresh" in str(err.value)
    assert len(api_requests(app, "/orders")) == 2  # the original and one retry with a fresh token


def test_wrong_credentials_fail_fast_with_one_clear_message(ct):
    app, url = ct
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "WRONG", retry=FAST_RETRY) as c:
        with pytest.raises(AuthError) as err:
            c.query("orders")
    assert "rejected the client credentials" in str(err.value) and "WRONG" not in str(err.value)
    assert len([r for r in app.requests() if r.path == "/oauth/token"]) == 1
    assert not api_requests(app)


@pytest.mark.parametrize("kind", ["429", "502", "503", "504", "reset", "truncate", "slow"])
def test_each_fault_is_retried_to_success(ct, kind):
    app, url = ct
    day = past_day()
    app.put("orders", make_orders(day, 1200))
    app.faults.configure(seed=5, rules=[FaultRule(pattern=f"GET /{PROJECT}/orders", probabilities={kind: 0.4},
                                                  retry_after=0.05, slow_seconds=0.6)])
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", timeout=0.3,
                             retry=FAST_RETRY) as c:
        ids = [d["id"] for page in c.iter_pages("orders", page_size=100) for d in page]
        assert c.stats.retries >= app.faults.injected[kind] > 0
    assert len(ids) == len(set(ids)) == 1200


def test_retry_after_is_honoured(ct):
    app, url = ct
    app.faults.configure(seed=1, rules=[FaultRule(pattern=f"GET /{PROJECT}/orders", probabilities={"429": 1.0},
                                                  retry_after=0.4)])
    policy = RetryPolicy(max_attempts=2, max_total_seconds=5, initial_backoff=0.001, max_backoff=0.001)
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=policy) as c:
        started = time.monotonic()
        with pytest.raises(Exception) as err:
            c.query("orders")
        assert time.monotonic() - started >= 0.4
    assert getattr(err.value, "status", None) == 429 and err.value.retry_after == 0.4


def test_retries_are_bounded_in_total_time(ct):
    app, url = ct
    app.faults.configure(seed=1, rules=[FaultRule(pattern=f"GET /{PROJECT}/orders", probabilities={"503": 1.0})])
    policy = RetryPolicy(max_attempts=1000, max_total_seconds=0.5, initial_backoff=0.05, max_backoff=0.1)
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=policy) as c:
        started = time.monotonic()
        with pytest.raises(Exception) as err:
            c.query("orders")
        assert time.monotonic() - started < 2.0
    assert err.value.status == 503 and err.value.code == "OverCapacity"


def test_no_retry_on_400_403_404_409_with_typed_errors(ct, client):
    app, url = ct
    customer = app.put("customers", make_customers(past_day(), 1))[0]
    # 400: a malformed predicate
    with pytest.raises(ValidationError) as e400:
        client.query("customers", where=["email = = 1"])
    assert e400.value.status == 400 and e400.value.code == "InvalidInput" and e400.value.correlation_id
    # 404
    with pytest.raises(NotFoundError) as e404:
        client.get_by_id("customers", "does-not-exist")
    assert e404.value.code == "ResourceNotFound" and e404.value.correlation_id
    # 409: stale version on a plain update
    with pytest.raises(ConflictError) as e409:
        client.update("customers", customer["id"], 99, [{"action": "setExternalId", "externalId": "x"}])
    assert e409.value.code == "ConcurrentModification"
    # 403: the read-only client may not write
    with CommercetoolsClient(url, url, PROJECT, "sandbox-reader", "reader-secret", retry=FAST_RETRY) as reader:
        with pytest.raises(AuthError) as e403:
            reader.update("customers", customer["id"], 1, [{"action": "setExternalId", "externalId": "x"}])
    assert e403.value.status == 403 and e403.value.code == "insufficient_scope"
    statuses = [r.status for r in api_requests(app)]
    assert statuses == [400, 404, 409, 403]  # each answered once: nothing retried


def test_update_customer_rereads_and_retries_on_409(ct, client):
    app, _ = ct
    customer = app.put("customers", make_customers(past_day(), 1))[0]
    app.update("customers", customer["id"], {"firstName": "Changed"})  # someone else moved the version on
    updated = client.update_customer(customer["id"], customer["version"],
                                     [{"action": "setExternalId", "externalId": "EXT-1"}])
    assert updated["externalId"] == "EXT-1" and updated["firstName"] == "Changed"
    assert [r.status for r in api_requests(app)] == [409, 200, 200]


def test_types_create_and_update(ct, client):
    draft = {"key": "customer-loyalty", "name": {"en": "Loyalty"}, "resourceTypeIds": ["customer"],
             "fieldDefinitions": []}
    created = client.create_type(draft)
    updated = client.update_type("customer-loyalty", created["version"], [{
        "action": "addFieldDefinition", "fieldDefinition": {"name": "loyaltyTier", "label": {"en": "Tier"},
                                                            "required": False, "type": {"name": "String"}}}],
        by_key=True)
    assert updated["version"] == created["version"] + 1
    assert [f["name"] for f in updated["fieldDefinitions"]] == ["loyaltyTier"]


def test_get_by_key_order_number_and_expand(ct, client):
    app, _ = ct
    payment = app.put("payments", [{"key": "pay-1", "amountPlanned": {"type": "centPrecision", "currencyCode": "SEK",
                                                                       "centAmount": 100, "fractionDigits": 2},
                                    "paymentMethodInfo": {"method": "card"}, "transactions": []}])[0]
    order = make_orders(past_day(), 1)[0]
    order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": payment["id"]}]}
    app.put("orders", [order])
    assert client.get_by_key("payments", "pay-1")["id"] == payment["id"]
    got = client.order_by_number(order["orderNumber"], expand=["paymentInfo.payments[*]"])
    assert got["paymentInfo"]["payments"][0]["obj"]["key"] == "pay-1"


def test_empty_configuration_fails_fast():
    with pytest.raises(ValueError, match="client_secret is empty"):
        CommercetoolsClient("http://x", "http://x", "p", "id", "")
    with pytest.raises(ValueError, match="not an http"):
        CommercetoolsClient("ftp://x", "http://x", "p", "id", "s")
