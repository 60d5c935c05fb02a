"""The catalog assets end to end: Commercetools documents in the partition store → catalog_payload →
catalog_sync over real HTTP into the Elevate sandbox, with the ledger and dead letters in real PostgreSQL.
Reruns send nothing; a backfill of an old day sends only what changed since; an unpublished product is
removed while untouched groups stay; a product Elevate would refuse is a dead letter with its reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from voyado_sync.defs.catalog import ENDPOINT, catalog_payload, catalog_sync
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import ElevateResource
from voyado_sync.sandbox.elevate import ElevateSandbox
from voyado_sync.sandbox.http import SandboxServer
from voyado_sync.storage import PartitionStore
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.state.db import get_engine

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
DAY, NEXT_DAY = "2026-11-20", "2026-11-21"
KEY = "elevate-test-key"
DATASETS = {"product_projections": "product-projections", "categories": "categories", "inventory": "inventory",
            "channels": "channels"}


def _docs(name: str) -> list[dict]:
    return [json.loads(x) for x in (SAMPLE / f"{name}.ndjson").read_text().splitlines() if x.strip()]


def _write(store: PartitionStore, dataset: str, day: str, docs: list[dict]) -> None:
    store.write_frame(f"commercetools/{dataset}", day,
                      pd.DataFrame({"id": [d["id"] for d in docs], "raw": [json.dumps(d) for d in docs]}))


@pytest.fixture
def elevate():
    app = ElevateSandbox(api_keys=[KEY], import_blocking_seconds=5.0)
    server = SandboxServer(app).start()
    try:
        yield server
    finally:
        server.stop()


def _run(day, resources, instance):
    result = dg.materialize([catalog_payload, catalog_sync], partition_key=day, resources=resources,
                            instance=instance, raise_on_error=False)
    assert result.success
    md = {n: result.asset_materializations_for_node(n)[0].metadata
          for n in ("voyado__catalog_payload", "voyado__catalog_sync")}
    return md["voyado__catalog_payload"], md["voyado__catalog_sync"], result


def test_catalog_reaches_elevate_once_and_follows_changes(tmp_path, pg_url, elevate, sync_home):
    store = PartitionStore(tmp_path / "parquet")
    products = _docs("product-projections")
    for dataset, name in DATASETS.items():
        _write(store, dataset, DAY, _docs(name))
    resources = {"elevate": ElevateResource(base_url=elevate.url, api_key=KEY),
                 "state_db": StateDatabase(url=pg_url), "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet"))}
    app = elevate.app
    with dg.instance_for_test() as instance:
        payload, sync, _ = _run(DAY, resources, instance)
        assert payload["lines"].value == len(products) and payload["rejected"].value == 0
        assert sync["outcome/sent"].value == len(products) and sync["requests"].value == 1
        assert set(app.catalog) == {p["key"] for p in products}
        first = products[0]
        group = app.catalog[first["key"]]
        (product,) = group["products"].values()
        sek = next(p for p in first["masterVariant"]["prices"] if p.get("country") == "SE" and not p.get("channel")
                   and not p.get("customerGroup"))["value"]
        assert Decimal(str(product["variants"][first["masterVariant"]["sku"]]["defaults"]["listPrice"])) == \
            Decimal(sek["centAmount"]).scaleb(-sek["fractionDigits"])
        assert product["overrides"]["*|sv-SE"]["title"] == first["name"]["sv-SE"]

        # A rerun sends nothing.
        imports = len(app.imports)
        assert [i["type"] for i in app.imports.values()] == ["incremental"]
        _, again, _ = _run(DAY, resources, instance)
        assert again["outcome/unchanged_skipped"].value == len(products) and len(app.imports) == imports

        # The next day: one product repriced, one unpublished, one repeating another's SKU.
        repriced = json.loads(json.dumps(products[1]))
        repriced["version"] += 1
        repriced["masterVariant"]["prices"] = [
            {"id": "new-se", "value": {"type": "centPrecision", "currencyCode": "SEK", "centAmount": 12345,
                                       "fractionDigits": 2}, "country": "SE"}]
        gone = dict(products[2], version=products[2]["version"] + 1, published=False)
        clash = json.loads(json.dumps(products[3]))
        clash.update(id="id-clash", key="ZZ-CLASH", version=1)
        _write(store, "product_projections", NEXT_DAY, [repriced, gone, clash])

        # Backfilling the OLD day publishes the current catalog: only the three changes travel.
        payload, sync, result = _run(DAY, resources, instance)
        assert (payload["lines"].value, payload["removals"].value, payload["rejected"].value) == (len(products) - 1, 1, 1)
        check = {e.check_name: e for e in result.get_asset_check_evaluations()}["products_mapped"]
        assert check.check_name == "products_mapped" and not check.passed
        assert sync["outcome/sent"].value == 2 and sync["outcome/dead_lettered"].value == 1
        assert len(app.imports) == imports + 1
        last = list(app.imports.values())[-1]
        assert (last["type"], last["lines"]) == ("incremental", 2)  # never a full replace
        assert gone["key"] not in app.catalog and len(app.catalog) == len(products) - 1
        (p1,) = app.catalog[repriced["key"]]["products"].values()
        assert p1["variants"][repriced["masterVariant"]["sku"]]["defaults"]["listPrice"] == 123.45
        assert "ZZ-CLASH" not in app.catalog

        # A product deleted in Commercetools (an erasure event; its last version is still in the store).
        deleted = products[4]
        store.write_frame("commercetools/erasure_events", NEXT_DAY, pd.DataFrame({
            "message_id": ["m-1"], "type": ["ProductDeleted"], "resource_type_id": ["product"],
            "resource_id": [deleted["id"]], "key": [deleted["key"]]}))
        payload, sync, _ = _run(DAY, resources, instance)
        assert payload["removals"].value == 2 and sync["outcome/sent"].value == 1
        assert deleted["key"] not in app.catalog and len(app.catalog) == len(products) - 2
        (dead,) = dlq.list_dead_letters(get_engine(pg_url), endpoint=ENDPOINT)
        assert dead.key == "unmapped:product:id-clash" and "already carried by product" in dead.error


def test_without_elevate_the_catalog_is_built_but_not_pushed(tmp_path, pg_url, elevate, sync_home):
    store = PartitionStore(tmp_path / "parquet")
    for dataset, name in DATASETS.items():
        _write(store, dataset, DAY, _docs(name))
    resources = {"elevate": ElevateResource(enabled=False), "state_db": StateDatabase(url=pg_url),
                 "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet"))}
    with dg.instance_for_test() as instance:
        payload, sync, _ = _run(DAY, resources, instance)
    assert payload["lines"].value == len(_docs("product-projections"))
    assert sync["pending_lines"].value == payload["lines"].value and "not configured" in sync["skipped"].value
    assert elevate.app.catalog == {} and dlq.list_dead_letters(get_engine(pg_url)) == []


def test_the_catalog_is_read_back_from_elevate_and_a_changed_price_fails_the_check(tmp_path, pg_url, elevate,
                                                                                 sync_home):
    import copy

    import httpx

    store = PartitionStore(tmp_path / "parquet")
    for dataset, name in DATASETS.items():
        _write(store, dataset, DAY, _docs(name))
    resources = {"elevate": ElevateResource(base_url=elevate.url, api_key=KEY), "state_db": StateDatabase(url=pg_url),
                 "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet"))}
    with dg.instance_for_test() as instance:
        _, sync, result = _run(DAY, resources, instance)
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert checks["catalog_held_by_elevate"].passed and sync["catalog_checked"].value > 0
        # Somebody edits a price in Elevate: the read-back sees it, and the step fails (blocking).
        app = elevate.app
        key = next(iter(app.catalog))
        group = copy.deepcopy(app.catalog[key])
        product = next(iter(group["products"].values()))
        variant = next(iter(product["variants"].values()))
        variant["defaults"]["sellingPrice"] = 1.0
        httpx.put(f"{elevate.url}/__admin/elevate/catalog/{key}", json=group).raise_for_status()
        again = dg.materialize([catalog_payload, catalog_sync], partition_key=DAY, resources=resources,
                               instance=instance, raise_on_error=False)
        evaluation = {e.check_name: e for e in again.get_asset_check_evaluations()}["catalog_held_by_elevate"]
        assert not again.success and not evaluation.passed
        assert key in evaluation.metadata["differences"].value
