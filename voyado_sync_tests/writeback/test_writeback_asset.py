"""The write-back asset end to end: the day's Voyado contacts in the partition store →
commercetools/customer_fields_writeback → customers in the Commercetools sandbox over real HTTP, with
the ledger and dead letters in real PostgreSQL. Legacy custom fields survive (their type is extended,
never replaced), a rerun writes nothing, a withdrawn consent suppresses the customer the next day, a
deleted customer is a dead letter, and "refuse" leaves customers with a foreign type alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from voyado_sync.defs.customer_fields import ENDPOINT, customer_fields_writeback
from voyado_sync.defs.voyado_sources import contact_row
from voyado_sync.resources.commercetools import CommercetoolsResource
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
from voyado_sync.sandbox.engage import EngageSandbox
from voyado_sync.sandbox.http import SandboxServer
from voyado_sync.state.db import get_engine
from voyado_sync.storage import PartitionStore
from voyado_sync.sync import dead_letters as dlq

DATA = Path(__file__).resolve().parents[2] / "data"
PROJECT = "voyado-sandbox"
DAY, NEXT_DAY = "2026-11-20", "2026-11-21"
API_KEY = "engage-test-key"


def _docs(name: str) -> list[dict]:
    return [json.loads(x) for x in (DATA / "sample" / f"{name}.ndjson").read_text().splitlines() if x.strip()]


@pytest.fixture
def engage():
    app = EngageSandbox(api_keys={API_KEY: None}, seed=0)
    app.seed_contacts(_docs("voyado_contacts"))
    server = SandboxServer(app).start()
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def ct():
    app = CommercetoolsSandbox(project_key=PROJECT)
    app.put("types", _docs("types"))
    app.put("customers", _docs("customers"))
    app.put("types", [{"key": "unused-customer-type", "name": {"en": "Nobody uses this"},
                       "resourceTypeIds": ["customer"], "fieldDefinitions": []}])
    server = SandboxServer(app).start()
    try:
        yield app, server.url
    finally:
        server.stop()


def _setup(tmp_path, pg_url, url, engage_url):
    store = PartitionStore(tmp_path / "parquet")
    customers = _docs("customers")   # as the customers source asset extracted them
    store.write_frame("commercetools/customers", DAY, pd.DataFrame({
        "id": [c["id"] for c in customers], "version": [c["version"] for c in customers],
        "custom_type_id": [(c.get("custom") or {}).get("type", {}).get("id") for c in customers]}))
    resources = {"commercetools": CommercetoolsResource(api_url=url, auth_url=url, project_key=PROJECT,
                                                        client_id="sandbox-client", client_secret="sandbox-secret"),
                 "engage": EngageResource(base_url=engage_url, api_key=API_KEY),
                 "state_db": StateDatabase(url=pg_url),
                 "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet"))}
    return store, resources


def _stage(store: PartitionStore, day: str, contacts: list[dict]) -> None:
    store.write_frame("voyado/contacts", day, pd.DataFrame([contact_row(c) for c in contacts]))


def _identity(store: PartitionStore, day: str, customer: str, contact: str) -> None:
    """identity/profiles and identity/contact_map as the identity asset writes them, for one profile."""
    store.write_frame("identity/profiles", day, pd.DataFrame({"profile_id": ["P1"], "ct_customer_ids": [[customer]],
                                                              "email": ["member@example.com"]}))
    store.write_frame("identity/contact_map", day, pd.DataFrame({"profile_id": ["P1"], "voyado_contact_id": [contact],
                                                                 "status": ["existing"]}))


def _run(day, resources, instance):
    result = dg.materialize([customer_fields_writeback], partition_key=day, resources=resources, instance=instance,
                            raise_on_error=False)
    assert result.success
    return result.asset_materializations_for_node("commercetools__customer_fields_writeback")[0].metadata


def _customer(app, cid):
    return app.collections["customers"].get(cid).obj()


def test_writeback_follows_voyado_and_keeps_legacy_fields(tmp_path, pg_url, ct, engage, sync_home):
    app, url = ct
    store, resources = _setup(tmp_path, pg_url, url, engage[1])
    contacts = _docs("voyado_contacts")
    _stage(store, DAY, contacts)
    customers = {c["id"]: c for c in _docs("customers")}
    targeted = [c for c in contacts if c["attributes"].get("externalId") in customers]
    legacy = {c["id"] for c in customers.values() if c.get("custom")}
    assert targeted and legacy & {c["attributes"]["externalId"] for c in targeted}

    with dg.instance_for_test() as instance:
        md = _run(DAY, resources, instance)
        assert md["outcome/sent"].value == len(targeted) and md["customers_targeted"].value == len(targeted)
        assert md["no_customer"].value == len(contacts) - len(targeted) and md["types_refused"].value == {}
        ours = app.collections["types"].get_by_key("voyado-sync-customer").obj()
        for c in targeted:
            cust = _customer(app, c["attributes"]["externalId"])
            fields = cust["custom"]["fields"]
            assert fields["voyadoContactId"] == c["id"]
            granted = sorted(x["id"] for x in c.get("consents") or [] if x["value"] is True)
            assert sorted(fields.get("voyadoConsents", [])) == granted
            assert fields["voyadoMarketingSuppressed"] is ("newsletter" not in granted)
            assert fields.get("voyadoLoyaltyTier") == c["loyalty"]["tier"]
            assert fields["voyadoPointBalance"] == c["loyalty"]["points"]   # read from Voyado's point accounts
            before = customers[cust["id"]]
            if cust["id"] in legacy:   # the merchant's type and fields are kept; the type gained ours
                assert cust["custom"]["type"] == before["custom"]["type"]
                assert all(fields[k] == v for k, v in before["custom"]["fields"].items())
            else:
                assert cust["custom"]["type"]["id"] == ours["id"]
        legacy_type = app.collections["types"].get(next(iter(
            {customers[i]["custom"]["type"]["id"] for i in legacy}))).obj()
        assert {"voyadoContactId", "voyadoMarketingSuppressed"} <= {d["name"] for d in legacy_type["fieldDefinitions"]}
        # A customer type none of the written customers uses is not touched.
        assert app.collections["types"].get_by_key("unused-customer-type").obj()["fieldDefinitions"] == []

        # A rerun changes nothing in Commercetools.
        versions = {cid: _customer(app, cid)["version"] for cid in customers}
        again = _run(DAY, resources, instance)
        assert again["outcome/unchanged_skipped"].value == len(targeted)
        assert {cid: _customer(app, cid)["version"] for cid in customers} == versions

        # The next day one contact withdraws the newsletter consent; another's customer was deleted.
        quitter = next(c for c in targeted if any(x["id"] == "newsletter" and x["value"] for x in c["consents"]))
        quitter = json.loads(json.dumps(quitter))
        for x in quitter["consents"]:
            if x["id"] == "newsletter":
                x["value"] = False
        gone = next(c for c in targeted if c["id"] != quitter["id"])
        gone = dict(gone, preferences={**gone["preferences"], "acceptsSms": not gone["preferences"]["acceptsSms"]})
        app.collections["customers"].remove(gone["attributes"]["externalId"])
        _stage(store, NEXT_DAY, [quitter, gone])
        md2 = _run(NEXT_DAY, resources, instance)
        assert md2["outcome/sent"].value == 1 and md2["outcome/rejected"].value == 1
        fields = _customer(app, quitter["attributes"]["externalId"])["custom"]["fields"]
        assert fields["voyadoMarketingSuppressed"] is True and "newsletter" not in fields.get("voyadoConsents", [])
        (dead,) = dlq.list_dead_letters(get_engine(pg_url), endpoint=ENDPOINT)
        assert dead.key == gone["attributes"]["externalId"] and dead.status_code == 404


def test_refuse_leaves_customers_with_a_foreign_type_alone(tmp_path, pg_url, ct, engage, sync_home, monkeypatch):
    app, url = ct
    config = tmp_path / "config"
    shutil.copytree(DATA, config, ignore=shutil.ignore_patterns("sample"))
    text = (config / "mapping.yaml").read_text().replace("other_type: extend", "other_type: refuse")
    (config / "mapping.yaml").write_text(text)
    monkeypatch.setenv("VOYADO_SYNC_CONFIG_DIR", str(config))
    store, resources = _setup(tmp_path, pg_url, url, engage[1])
    customers = {c["id"]: c for c in _docs("customers")}
    contacts = [c for c in _docs("voyado_contacts") if c["attributes"].get("externalId") in customers]
    _stage(store, DAY, contacts)
    legacy = [c for c in contacts if customers[c["attributes"]["externalId"]].get("custom")]
    with dg.instance_for_test() as instance:
        md = _run(DAY, resources, instance)
    assert md["outcome/rejected"].value == len(legacy) and md["outcome/sent"].value == len(contacts) - len(legacy)
    assert list(md["types_refused"].value.values()) == ["writeback.other_type is refuse"]
    for c in legacy:
        assert _customer(app, c["attributes"]["externalId"]) == {**customers[c["attributes"]["externalId"]],
                                                                 **{k: _customer(app, c["attributes"]["externalId"])[k]
                                                                    for k in ("version", "lastModifiedAt")}}
    reasons = {d.reason for d in dlq.list_dead_letters(get_engine(pg_url), endpoint=ENDPOINT)}
    assert reasons == {"custom_type_unusable"}


def test_points_redeemed_at_checkout_reach_voyado_and_the_balance_comes_back(tmp_path, pg_url, ct, engage,
                                                                             sync_home):
    from voyado_sync.defs.loyalty import point_transactions_payload, point_transactions_sync

    app, url = ct
    engage_app, engage_url = engage
    store, resources = _setup(tmp_path, pg_url, url, engage_url)
    customers = {c["id"]: c for c in _docs("customers")}
    member = next(c for c in _docs("voyado_contacts") if c["attributes"].get("externalId") in customers
                  and c["loyalty"]["points"] >= 200)
    customer = member["attributes"]["externalId"]
    _stage(store, DAY, [member])   # the contact itself does not change on NEXT_DAY
    order = {"id": "order-burn", "version": 2, "orderNumber": "B-1", "customerId": customer, "orderState": "Open",
             "paymentState": "Paid", "createdAt": f"{NEXT_DAY}T10:00:00.000Z",
             "custom": {"type": {"typeId": "type", "id": "t"}, "fields": {"loyaltyPointsRedeemed": 200}}}
    store.write_frame("commercetools/orders", NEXT_DAY, pd.DataFrame({"id": [order["id"]], "raw": [json.dumps(order)]}))
    _identity(store, NEXT_DAY, customer, member["id"])
    with dg.instance_for_test() as instance:
        _run(DAY, resources, instance)
        assert _customer(app, customer)["custom"]["fields"]["voyadoPointBalance"] == member["loyalty"]["points"]
        result = dg.materialize([point_transactions_payload, point_transactions_sync, customer_fields_writeback],
                                partition_key=NEXT_DAY, resources=resources, instance=instance, raise_on_error=False)
        assert result.success
        sync = result.asset_materializations_for_node("voyado__point_transactions_sync")[0].metadata
        assert sync["outcome/sent"].value == 1
        (tx,) = [t for t in engage_app.loyalty.transactions if t.get("contactId") == member["id"]]
        assert tx["amount"] == -200
        # The write-back picks the contact up because its points moved, and shows the new balance.
        assert _customer(app, customer)["custom"]["fields"]["voyadoPointBalance"] == member["loyalty"]["points"] - 200
        # A rerun books nothing twice.
        again = dg.materialize([point_transactions_payload, point_transactions_sync], partition_key=NEXT_DAY,
                               resources=resources, instance=instance, raise_on_error=False)
        md = again.asset_materializations_for_node("voyado__point_transactions_sync")[0].metadata
        assert md["outcome/unchanged_skipped"].value == 1
        assert len([t for t in engage_app.loyalty.transactions if t.get("contactId") == member["id"]]) == 1

        # The order is cancelled the day after: the redeemed points go back, once.
        later = "2026-11-22"
        cancelled = dict(order, version=3, orderState="Cancelled", lastModifiedAt=f"{later}T08:00:00.000Z")
        store.write_frame("commercetools/orders", later,
                          pd.DataFrame({"id": [order["id"]], "raw": [json.dumps(cancelled)]}))
        _identity(store, later, customer, member["id"])
        for _ in range(2):
            undone = dg.materialize([point_transactions_payload, point_transactions_sync, customer_fields_writeback],
                                    partition_key=later, resources=resources, instance=instance, raise_on_error=False)
            assert undone.success
        amounts = [t["amount"] for t in engage_app.loyalty.transactions if t.get("contactId") == member["id"]]
        assert amounts == [-200, 200]
        assert _customer(app, customer)["custom"]["fields"]["voyadoPointBalance"] == member["loyalty"]["points"]
