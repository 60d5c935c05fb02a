"""The identity multi-asset through dg.materialize, on Parquet inputs in a temporary PartitionStore."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pytest
import yaml

from voyado_sync.defs.voyado_sources import contact_row
from voyado_sync.privacy import find_pii
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.storage import PartitionStore

from .helpers import contact, customer, order, receipt


def _write(store: PartitionStore, dataset: str, key: str, docs: list[dict], id_field: str = "id") -> None:
    store.write_frame(dataset, key, pd.DataFrame({"id": [d.get(id_field) for d in docs],
                                                  "raw": [json.dumps(d) for d in docs]}))


@pytest.fixture
def env(sync_home, tmp_path, monkeypatch):
    from voyado_sync.defs.identity import identity

    data = tmp_path / "data"
    resources = {"state_db": StateDatabase(url=f"sqlite:///{tmp_path / 'state.db'}"),
                 "partition_store": PartitionStoreResource(base_dir=str(data))}
    return identity, PartitionStore(data), resources


def _materialize(asset, resources, key, instance, **kw):
    return dg.materialize([asset], partition_key=key, resources=resources, instance=instance, **kw)


def test_two_days_merge_with_alias_metadata_and_hashed_samples(env):
    asset, store, resources = env
    day1, day2 = "2025-03-01", "2025-03-02"
    _write(store, "commercetools/customers", day1, [customer("c1", "ann@mail.se", "0701234567", first="Ann")])
    _write(store, "commercetools/orders", day1, [order("o1", None, None, "070-123 45 67"),
                                                 order("o2", None, "noreply@shop.se")])
    # pos/receipts and voyado/contacts have no partition for day1: an empty day, not an error.
    with dg.instance_for_test() as instance:
        r1 = _materialize(asset, resources, day1, instance)
        assert r1.success
        _write(store, "pos/receipts", day2, [receipt("r1", member="M5", phone="0709990000", email="ann@mail.se")],
               id_field="receipt_id")
        store.write_frame("voyado/contacts", day2, pd.DataFrame([contact_row(contact("V5", "other@mail.se",
                                                                                     member="M5"))]))
        r2 = _materialize(asset, resources, day2, instance)
        assert r2.success
        meta = {m.asset_key.path[-1]: {k: v.value for k, v in m.materialization.metadata.items()}
                for m in r2.get_asset_materialization_events()}
        checks = r2.get_asset_check_evaluations()
    assert meta["edges"]["mode"] == "incremental"
    assert meta["edges"]["outcome/merged"] >= 4
    assert meta["profiles"]["profiles_total"] == 2  # ann (+receipt +contact) and the noreply guest order
    assert [c.passed for c in checks] == [True]
    profiles = store.read("identity/profiles", [day2])
    ann = profiles[profiles["ct_customer_id"] == "c1"].iloc[0]
    assert ann["email"] == "ann@mail.se" and ann["voyado_contact_id"] == "v5"
    assert sorted(ann["phones"]) == ["+46701234567", "+46709990000"]
    cmap = store.read("identity/contact_map", [day2]).set_index("profile_id")
    assert cmap.loc[ann["profile_id"], "status"] == "existing"
    # What receipts, loyalty and campaigns look up from these two assets.
    from voyado_sync.lookups.contacts import read_contact_lookup

    lookup = read_contact_lookup(store, day2)
    assert (dict(lookup.by_customer), dict(lookup.by_email)) == ({"c1": "v5"}, {"ann@mail.se": "v5"})
    # Metadata carries hashes only.
    text = json.dumps(meta, default=str)
    assert not find_pii(text) and "0701234567" not in text and "+46701234567" not in text
    edges = store.read("identity/edges", [day1])
    assert set(edges["outcome"]) >= {"merged", "blocked"}


def test_giant_profile_check_fails_the_step(env, tmp_path, monkeypatch):
    asset, store, resources = env
    config = tmp_path / "config"
    config.mkdir()
    (config / "identity_rules.yaml").write_text(yaml.safe_dump({"giant_profile_identifiers": 2}))
    monkeypatch.setenv("VOYADO_SYNC_CONFIG_DIR", str(config))
    day = "2025-03-03"
    _write(store, "commercetools/customers", day, [customer("c1", "big@mail.se", "0701234567")])
    _write(store, "commercetools/orders", day, [order("o1", "c1", "big2@mail.se")])
    with dg.instance_for_test() as instance:
        r = _materialize(asset, resources, day, instance, raise_on_error=False)
        checks = r.get_asset_check_evaluations()
    assert not r.success
    assert [c.passed for c in checks] == [False]
    assert checks[0].metadata["largest_profile_identifiers"].value == 4


def test_definitions_include_the_identity_assets(sync_home):
    from voyado_sync.definitions import defs

    d = defs() if callable(defs) else defs
    for name in ("edges", "profiles", "decisions", "aliases", "contact_map"):
        spec = d.resolve_assets_def(dg.AssetKey(["identity", name]))
        assert spec.group_names_by_key[dg.AssetKey(["identity", name])] == "identity"
