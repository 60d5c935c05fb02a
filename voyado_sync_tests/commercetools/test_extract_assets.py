"""Extraction assets materialized with Dagster against the sandbox over HTTP."""

from __future__ import annotations

import copy
import hashlib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
import pyarrow.parquet as pq
import pytest

from voyado_sync.defs.commercetools import assets as ct_assets
from voyado_sync.extract.windows import partition_window
from voyado_sync.sandbox.http import FaultRule
from voyado_sync.storage import PartitionStore

from .support import PROJECT, api_requests, example, make_customers, make_orders, past_day, ts

ASSETS = {a.key.path[-1]: a for a in ct_assets.commercetools_assets}


def materialize(assets, key, resources, **kw):
    return dg.materialize(assets, partition_key=key, resources=resources,
                          instance=dg.DagsterInstance.ephemeral(), **kw)


def store_of(resources) -> PartitionStore:
    return resources["partition_store"].store()


def checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def meta(result, name):
    mats = result.asset_materializations_for_node(name)
    return {k: v.value for k, v in mats[0].metadata.items()}


def test_window_over_10k_is_complete_via_subwindows(ct, resources):
    app, _ = ct
    day = past_day()
    app.put("customers", make_customers(day, 10_400))
    app.put("customers", make_customers(past_day(4), 30, start=20_000))  # outside the window
    result = materialize([ASSETS["customers"]], day, resources)
    assert result.success
    m = meta(result, "commercetools__customers")
    assert m["rows"] == 10_400 and m["rejects"] == 0
    assert m["requests"] == m["pages"] == 21 and m["offset_requests"] == 0
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    complete = evals["window_complete"]
    assert complete.passed
    assert complete.metadata["api_count"].value == 10_400 and complete.metadata["subwindows"].value >= 2
    assert evals["unique_ids"].passed
    assert all("offset" not in r.query for r in api_requests(app))
    df = store_of(resources).read("commercetools/customers", [day], columns=["id", "email"])
    assert df["id"].is_unique and len(df) == 10_400


def test_orders_typed_columns_expanded_payments_and_metadata(ct, resources):
    app, _ = ct
    day = past_day()
    payment = example("payment")
    payment["lastModifiedAt"] = ts(day, 5)
    app.put("payments", [payment])
    orders = make_orders(day, 30)
    orders[0]["paymentInfo"] = {"payments": [{"typeId": "payment", "id": payment["id"]}]}
    app.put("orders", orders)
    result = materialize([ASSETS["orders"]], day, resources)
    assert result.success
    m = meta(result, "commercetools__orders")
    assert m["rows"] == 30 and m["requests"] == 1 and m["window_start"] == f"{day}T00:00:00.000Z"
    assert m["min_last_modified_at"] == ts(day, 0)
    assert "@" not in m["preview"]  # no e-mail leaks into the preview
    assert all(checks(result).values())
    assert all(r.query.get("expand") == ["paymentInfo.payments[*]"] for r in api_requests(app, "/orders")
               if r.query.get("limit") != ["0"])
    df = store_of(resources).read("commercetools/orders", [day])
    first = df[df["id"] == orders[0]["id"]].iloc[0]
    assert first["total_amount"] == Decimal("10.00") and first["currency"] == "EUR"
    assert first["payments"][0]["payment_id"] == payment["id"] and first["payments"][0]["expanded"]
    assert first["line_items"][0]["sku"] == "SKU-0"


def test_official_examples_load_into_typed_columns(ct, resources):
    app, _ = ct
    day = past_day()
    names = {"customer": "customers", "order": "orders", "product-projection": "product-projections",
             "category": "categories", "inventory": "inventory", "store": "stores", "payment": "payments"}
    for name, resource in names.items():
        doc = example(name)
        doc["lastModifiedAt"] = ts(day, 60)
        if name == "product-projection":
            doc["published"] = True
        app.put(resource, [doc])
    datasets = ["customers", "orders", "product_projections", "categories", "inventory", "stores", "payments"]
    result = materialize([ASSETS[d] for d in datasets], day, resources)
    assert result.success
    store = store_of(resources)
    for d in datasets:
        df = store.read(f"commercetools/{d}", [day])
        assert len(df) == 1, d
        assert store.read(f"commercetools/{d}_rejects", [day]).empty, d
    order = store.read("commercetools/orders", [day]).iloc[0]
    assert order["total_amount"] == Decimal("10.00") and order["line_items"][0]["sku"] == "some-sku-123"
    assert order["created_at"] == datetime(2017, 1, 4, 19, 54, 49, 797000, tzinfo=timezone.utc)
    customer = store.read("commercetools/customers", [day]).iloc[0]
    assert customer["email"] == "johndoe@example.com" and customer["authentication_mode"] == "Password"
    payment = store.read("commercetools/payments", [day]).iloc[0]
    assert payment["amount_planned"] == Decimal(example("payment")["amountPlanned"]["centAmount"]) / 100
    category = store.read("commercetools/categories", [day]).iloc[0]
    assert category["parent_id"] == "123456" and list(category["path_names"]) == ["Hats"]
    inventory = store.read("commercetools/inventory", [day]).iloc[0]
    assert inventory["sku"] == example("inventory")["sku"]


def test_malformed_documents_go_to_rejects_and_the_partition_completes(ct, resources):
    app, _ = ct
    day = past_day()
    orders = make_orders(day, 10)
    orders[1]["totalPrice"] = "12.50 EUR"  # wrong shape
    orders[2]["surpriseField"] = 1  # unexpected field
    del orders[3]["lineItems"]  # missing required field
    orders[4]["lineItems"][0]["variant"].pop("sku")  # loads, but the SKU check warns
    orders[5]["totalPrice"]["currencyCode"] = "XXX"  # loads, currency check warns
    app.put("orders", orders)
    result = materialize([ASSETS["orders"]], day, resources)
    assert result.success
    assert meta(result, "commercetools__orders")["rows"] == 7
    c = checks(result)
    assert c["window_complete"] and c["unique_ids"]
    assert not c["no_rejects"] and not c["line_items_have_sku"] and not c["currencies_known"]
    rejects = store_of(resources).read("commercetools/orders_rejects", [day]).set_index("id")
    assert len(rejects) == 3
    assert "totalPrice" in rejects.loc[orders[1]["id"], "reason"]
    assert "unexpected field(s): surpriseField" in rejects.loc[orders[2]["id"], "reason"]
    assert "missing required field(s): lineItems" in rejects.loc[orders[3]["id"], "reason"]
    assert rejects.loc[orders[2]["id"], "raw"].startswith("{")


def test_documents_modified_while_reading_land_in_a_later_window(ct, resources):
    """A change during the read moves the document to a later lastModifiedAt: the first window keeps what it
    read (or loses nothing it has not read), the later window has the new version, and no id is lost."""
    app, url = ct
    day = past_day(4)
    later = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    orders = make_orders(day, 1500)
    app.put("orders", orders)
    app.clock = lambda: datetime.fromisoformat(f"{later}T12:00:00+00:00")
    ids = sorted(o["id"] for o in orders)
    touched = [ids[10], ids[700], ids[1400]]  # one already read, two not yet read when we change them

    original = app.dispatch
    fired = []

    def dispatch(req):
        resp = original(req)
        if req.path.endswith("/orders") and req.arg("limit") == "500" and not fired:
            fired.append(True)
            for i in touched:  # right after the first page is served
                app.update("orders", i, {"orderState": "Complete"})
        return resp

    app.dispatch = dispatch
    first = materialize([ASSETS["orders"]], day, resources)
    app.dispatch = original
    assert first.success
    complete = {e.check_name: e for e in first.get_asset_check_evaluations()}["window_complete"]
    assert complete.passed and complete.metadata["moved_out"].value == 1
    second = materialize([ASSETS["orders"]], later, resources)
    assert second.success
    store = store_of(resources)
    a = store.read("commercetools/orders", [day], columns=["id", "version"])
    b = store.read("commercetools/orders", [later], columns=["id", "version"])
    assert set(a["id"]) | set(b["id"]) == set(ids)  # none lost
    assert set(b["id"]) == set(touched) and set(b["version"]) == {2}
    assert ids[10] in set(a["id"]) and not {ids[700], ids[1400]} & set(a["id"])


def test_backfill_of_a_past_range_is_byte_identical(ct, resources):
    app, _ = ct
    days = [past_day(6), past_day(5)]
    for i, d in enumerate(days):
        app.put("orders", make_orders(d, 40, start=i * 1000))
    store = store_of(resources)

    def run() -> dict[str, str]:
        for d in days:
            assert materialize([ASSETS["orders"]], d, resources).success
        return {d: hashlib.sha256(store.path("commercetools/orders", d).read_bytes()).hexdigest() for d in days}

    first = run()
    tables = {d: pq.read_table(store.path("commercetools/orders", d)) for d in days}
    second = run()
    assert first == second
    assert all(pq.read_table(store.path("commercetools/orders", d)).equals(tables[d]) for d in days)


def test_faults_during_extraction_still_give_complete_partitions(ct, resources):
    app, _ = ct
    day = past_day()
    app.put("orders", make_orders(day, 2100))
    app.faults.configure(seed=11, rules=[FaultRule(
        pattern=f"GET /{PROJECT}/orders", retry_after=0.02,
        probabilities={"429": 0.1, "502": 0.05, "503": 0.1, "504": 0.05, "reset": 0.05, "truncate": 0.05})])
    config = dg.RunConfig(ops={"commercetools__orders": ct_assets.ExtractConfig(page_size=100)})
    result = materialize([ASSETS["orders"]], day, resources, run_config=config)
    assert result.success and all(checks(result).values())
    m = meta(result, "commercetools__orders")
    assert m["rows"] == 2100 and m["pages"] == 22 and m["retries"] > 0  # 21 full pages + the empty end
    assert sum(app.faults.injected.values()) > 0


def test_open_day_window_stops_at_now_minus_lag(ct, resources):
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    w = partition_window(start, start + timedelta(days=1), datetime.now(timezone.utc), timedelta(minutes=5))
    assert w.end <= datetime.now(timezone.utc) - timedelta(minutes=5)
    assert w.end - datetime.now(timezone.utc) > timedelta(minutes=-6)


def test_all_datasets_and_erasure_events_materialize(ct, resources):
    app, _ = ct
    day = past_day()
    app.clock = lambda: datetime.fromisoformat(f"{day}T10:00:00+00:00")
    customers = app.put("customers", make_customers(day, 3), emit_messages=True)
    app.put("channels", [{"key": "STO-SE-01", "roles": ["InventorySupply", "ProductDistribution"],
                          "name": {"en": "Store"}, "address": {"country": "SE", "city": "Stockholm"},
                          "geoLocation": {"type": "Point", "coordinates": [18.06, 59.33]}}])
    app.put("carts", [{**copy.deepcopy(make_orders(day, 1)[0]), "cartState": "Active"}])
    app.delete("customers", customers[0]["id"])
    result = materialize(ct_assets.commercetools_assets + [ct_assets.erasure_events], day, resources)
    assert result.success
    store = store_of(resources)
    erasures = store.read("commercetools/erasure_events", [day])
    assert list(erasures["type"]) == ["CustomerDeleted"] and erasures.iloc[0]["resource_id"] == customers[0]["id"]
    assert len(store.read("commercetools/customers", [day])) == 2
    channel = store.read("commercetools/channels", [day]).iloc[0]
    assert channel["latitude"] == pytest.approx(59.33) and list(channel["roles"]) == ["InventorySupply",
                                                                                     "ProductDistribution"]
    assert store.read("commercetools/carts", [day]).iloc[0]["cart_state"] == "Active"


def test_wrong_credentials_fail_fast_with_one_clear_message(ct, resources):
    app, _ = ct
    bad = dict(resources)
    good = resources["commercetools"]
    bad["commercetools"] = type(good)(api_url=good.api_url, auth_url=good.auth_url, project_key=PROJECT,
                                      client_id="sandbox-client", client_secret="nope")
    result = materialize([ASSETS["orders"]], past_day(), bad, raise_on_error=False)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failure) == 1
    assert "rejected the client credentials" in failure[0].event_specific_data.error.message
    assert len([r for r in app.requests() if r.path == "/oauth/token"]) == 1  # no retry storm
