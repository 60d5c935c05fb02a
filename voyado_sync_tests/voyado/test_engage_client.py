"""EngageClient against the sandbox: headers, typed helpers, retries on 429/503/reset/truncate, auth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from voyado_sync.clients.engage import EngageClient, OutcomeUnknownError
from voyado_sync.clients.http import USER_AGENT, AuthError, ConflictError, NotFoundError, TransientError, ValidationError

from .support import FAST_RETRY, member


def faults(server, pattern: str, probabilities: dict, seed: int = 1, **extra) -> None:
    resp = httpx.post(f"{server.url}/__admin/faults", json={
        "seed": seed, "rules": [{"pattern": pattern, "probabilities": probabilities, "retry_after": 0.01, **extra}]})
    resp.raise_for_status()


def test_every_request_sends_the_mandatory_headers(engage_server, client):
    seen = []

    def spy(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    with EngageClient("http://voyado.test", "k", transport=httpx.MockTransport(spy)) as c:
        c.target_audiences()
        c.post_receipt({"uniqueReceiptId": "x"})
    for r in seen:
        assert r.headers["apikey"] == "k" and r.headers["Content-Type"] == "application/json"
        assert r.headers["Accept"] == "application/json" and r.headers["User-Agent"] == USER_AGENT
    # and the real sandbox accepts a GET from the client (it would answer 500 without Content-Type)
    assert len(client.target_audiences()) == 3


def test_contact_helpers_round_trip(client, engage):
    c = client.create_contact(member(1, mobilePhone="+46701234567"), source="e-com", store_external_id="ECOM-SE")
    assert client.get_contact(c["id"])["attributes"]["createdInStore"] == "ECOM-SE"
    assert client.find_contact_id(email="person1@example.com") == c["id"]
    assert client.find_contact_id(mobile_phone="+46701234567") == c["id"]  # '+' is sent as %2B
    assert client.find_contact_id(email="nobody@example.com") is None
    client.create_contact(member(2, mobilePhone="+46701234567"))
    with pytest.raises(ConflictError) as conflict:
        client.find_contact_id(mobile_phone="+46701234567")
    assert len(conflict.value.body["multipleMatchesFound"]) == 2 and conflict.value.code == "MultipleMatches"
    assert client.patch_contact(c["id"], {"city": None})["attributes"]["city"] is None
    with pytest.raises(ConflictError) as dup:
        client.create_contact(member(1))
    assert dup.value.code == "ContactAlreadyExists"
    with pytest.raises(ValidationError) as bad:
        client.create_contact({"email": "nope"})
    assert bad.value.code == "InvalidEmailAddress" and bad.value.status == 400
    with pytest.raises(NotFoundError):
        client.get_contact("00000000-0000-0000-0000-000000000000")
    assert client.update_contact_type(c["id"], "Member")["contactType"] == "Member"
    assert client.set_preference(c["id"], "acceptsEmail", True)["preferences"]["acceptsEmail"] is True
    assert {d["id"] for d in client.consent_definitions()} == {"newsletter", "profiling"}
    assert client.contact_count() == 2
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    assert set(client.contact_changes("Created", since)) == set(engage.contacts.by_id)
    client.delete_contact(c["id"])
    assert client.contact_changes("Deleted", since) == [c["id"]]


def test_bulk_helpers(client):
    batch = client.bulk_create_contacts([member(i) for i in range(3)], contact_type="Member")
    assert client.bulk_status(batch)["succeeded"] == 3
    upd = client.bulk_update_contacts([{"externalId": "ct-1", "city": "Umeå"}])
    assert client.bulk_status(upd)["results"][0]["status"] == "Updated"
    with pytest.raises(ValueError, match="at most 4000"):
        client.bulk_create_contacts([member(i) for i in range(4001)])
    with pytest.raises(ValueError, match="at most 1000"):
        client.post_point_transactions([{}] * 1001, "k")


def test_loyalty_campaign_inventory_store_helpers(client, engage):
    cid = client.create_contact(member(1))["id"]
    assert client.point_definitions()[0]["id"] == 1
    row = {"contactId": cid, "amount": 5, "definitionId": 1, "source": "Manual", "description": "x"}
    result = client.post_point_transactions([row], "key-1")
    assert result == {"notAccepted": [], "errorMessages": [], "missingDefinitionIds": [], "missingContactIds": []}
    client.post_point_transactions([row], "key-1")
    assert client.point_accounts(cid)[0]["balance"] == 5
    client.trigger_custom("welcome", contact_id=cid, data={"a": "1"})
    client.trigger_custom("welcome", external_id="ct-1")
    with pytest.raises(NotFoundError):
        client.trigger_custom("welcome", external_id="ct-unknown")
    client.track_carts({"cartReference": "c1", "items": []})
    client.track_carts([{"cartReference": "c2", "items": [{"sku": "A", "quantity": 2}]}])
    client.put_stock_levels([{"sku": "A", "quantity": 3, "locale": "sv-se"}])
    sub = client.subscribe_back_in_stock(cid, "B", "sv-SE")
    client.unsubscribe_back_in_stock(sub["id"])
    client.create_store({"name": "Store 1", "externalId": "S1"})
    assert [s["externalId"] for s in client.stores()] == ["S1"]
    assert len(engage.effects("trigger")) == 2 and len(engage.effects("point_transaction")) == 1
    assert set(engage.carts) == {"c1", "c2"}


def test_rate_limit_429_is_retried_until_success(engage_server, engage, client):
    engage.set_rate_limit("sandbox-key", 10)
    cid = client.create_contact(member(1))["id"]
    for i in range(20):
        client.post_receipt({"contact": {"matchKey": cid, "matchKeyType": "contactId"}, "uniqueReceiptId": f"r{i}",
                             "createdDate": "2025-01-01T10:00:00+01:00", "storeExternalId": "S", "currency": "SEK",
                             "totalGrossPrice": 1, "paymentMethods": [{"type": "card", "value": 1}],
                             "items": [{"type": "PURCHASE", "sku": "A", "quantity": 1, "grossPaidPrice": 1,
                                        "taxAmount": 0.2, "taxPercent": 25, "articleNumber": "A",
                                        "articleName": "A"}]})
    assert len(engage.receipts) == 20 and len(engage.effects("receipt")) == 20
    assert any(r.status == 429 for r in engage.requests())
    assert client.stats.retries > 0 and client.stats.requests == 21 + client.stats.retries


@pytest.mark.parametrize("kind", ["503", "reset", "truncate", "429"])
def test_injected_faults_are_retried_without_double_effects(engage_server, engage, client, kind):
    cid = client.create_contact(member(1))["id"]
    faults(engage_server, "POST /api/v3/point-accounts/transactions", {kind: 0.5}, seed=3)
    for i in range(8):
        body = client.post_point_transactions(
            [{"contactId": cid, "amount": 1, "definitionId": 1, "source": "Manual", "description": "t"}], f"k{i}")
        assert body["notAccepted"] == []
    assert len(engage.effects("point_transaction")) == 8  # exactly once each, despite the faults
    assert engage.faults.describe()["injected"].get(kind, 0) > 0 and client.stats.retries > 0


def test_wrong_credentials_fail_once_without_retries(engage_server, engage):
    with EngageClient(engage_server.url, "wrong-key", retry=FAST_RETRY) as bad:
        with pytest.raises(AuthError) as err:
            bad.post_receipt({"uniqueReceiptId": "x"})
        assert err.value.status == 401 and "VOYADO_API_KEY" in str(err.value) and "wrong-key" not in str(err.value)
        assert bad.stats.requests == 1 and bad.stats.retries == 0
    assert len(engage.requests()) == 1


def test_non_idempotent_write_is_not_repeated_after_an_ambiguous_failure(engage_server, engage, client):
    cid = client.create_contact(member(1))["id"]
    faults(engage_server, "customTriggers", {"drop": 1.0})  # processed, then reset before any answer
    with pytest.raises(OutcomeUnknownError):
        client.trigger_custom("welcome", contact_id=cid)
    assert len(engage.effects("trigger")) == 1  # fired once, never re-sent
    faults(engage_server, "customTriggers", {"503": 1.0})
    with pytest.raises(TransientError):  # refused up front: retried until the policy gives up
        client.trigger_custom("welcome", contact_id=cid)
    assert len(engage.effects("trigger")) == 1
    faults(engage_server, "customTriggers", {"truncate": 1.0})
    assert client.trigger_custom("welcome", contact_id=cid) is None  # 200 with a cut body: it happened
    assert len(engage.effects("trigger")) == 2
    faults(engage_server, "customTriggers", {"reset": 1.0})
    assert client.trigger_custom("welcome", contact_id=cid) is None  # reset after the 200 status line: it happened
    assert len(engage.effects("trigger")) == 3
    for kind in ("reset", "drop"):
        faults(engage_server, "customTriggers", {kind: 1.0})
        with pytest.raises(TransientError):  # retry=False: the raw error, the caller (sync engine) decides
            client.trigger_custom("welcome", contact_id=cid, retry=False)


def test_iter_contact_changes_splits_windows_engage_refuses(engage_server, client):
    engage = engage_server.app
    engage.contacts.changes_cap = 3
    t0 = datetime(2024, 6, 1, tzinfo=timezone.utc)
    for i in range(10):
        engage.clock = lambda i=i: t0 + timedelta(days=i)
        client.create_contact(member(i))
    ids = list(client.iter_contact_changes("Created", datetime(2020, 1, 1, tzinfo=timezone.utc),
                                           t0 + timedelta(days=30)))
    assert sorted(ids) == sorted(engage.contacts.by_id)
    assert any(r.status == 400 for r in engage.requests())
