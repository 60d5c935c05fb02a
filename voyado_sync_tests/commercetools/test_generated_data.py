"""The data generator's Commercetools documents and POS files load with no rejects (the shared contract)."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pytest

from voyado_sync.defs.commercetools import assets as ct_assets
from voyado_sync.extract.datasets import DATASETS
from voyado_sync.extract.flatten import flatten_page
from voyado_sync.sandbox.generator import GeneratorConfig, generate, write_dataset

from .support import past_day

RESOURCE_OF = {"customers": "customers", "orders": "orders", "payments": "payments",
               "products": "product-projections", "categories": "categories", "inventory": "inventory",
               "stores": "stores", "channels": "channels", "carts": "carts"}


@pytest.mark.slow
def test_generated_documents_and_pos_files_load_without_rejects(ct, resources, tmp_path, monkeypatch):
    app, _ = ct
    anchor = date.fromisoformat(past_day(2))
    ds = generate(GeneratorConfig(seed=3, persons=30, orders=60, days=2, anchor_date=anchor, pos_receipts=20))
    for attr, resource in RESOURCE_OF.items():
        app.put(resource, getattr(ds, attr))
    drop = tmp_path / "drop"
    write_dataset(ds, drop)
    monkeypatch.setenv("VOYADO_SYNC_POS_DROP", str(drop / "pos") if (drop / "pos").exists() else str(drop))
    store = resources["partition_store"].store()
    days = {d.get("lastModifiedAt", "")[:10] for attr in RESOURCE_OF for d in getattr(ds, attr)}
    days = sorted(d for d in days if d and d <= anchor.isoformat() and d >= (anchor - timedelta(days=400)).isoformat())
    assert days
    assets = ct_assets.commercetools_assets + [ct_assets.pos_receipts]
    rows = {name: 0 for name in [*RESOURCE_OF, "pos"]}
    for day in days[-3:]:
        result = dg.materialize(assets, partition_key=day, resources=resources,
                                instance=dg.DagsterInstance.ephemeral())
        assert result.success
        failed = {(e.asset_key.to_user_string(), e.check_name): e.metadata for e in result.get_asset_check_evaluations()
                  if not e.passed}
        for dataset in [d.name for d in ct_assets.ENABLED]:
            rejects = store.read(f"commercetools/{dataset}_rejects", [day])
            assert rejects.empty, (dataset, rejects["reason"].tolist()[:3])
        pos_rejects = store.read("pos/receipts_rejects", [day])
        assert pos_rejects.empty, pos_rejects["reason"].tolist()[:3]
        assert not failed, failed
        rows["orders"] += len(store.read("commercetools/orders", [day]))
        rows["pos"] += len(store.read("pos/receipts", [day]))
    assert rows["orders"] == 60 and rows["pos"] == 20


def test_every_generated_dataset_flattens_without_rejects():
    ds = generate(GeneratorConfig(seed=5, persons=60, orders=150, days=3, anchor_date=date.fromisoformat(past_day(2))))
    name_of = {"products": "product_projections"}
    for attr in RESOURCE_OF:
        docs = getattr(ds, attr)
        page = flatten_page(DATASETS[name_of.get(attr, attr)], docs)
        assert docs and page.rows.num_rows == len(docs), (attr, page.rejects.column("reason").to_pylist()[:3])
