"""The Voyado source assets materialized with Dagster against the Engage sandbox."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from voyado_sync.defs.voyado_sources import (CONTACTS_DATASET, voyado_contacts, voyado_target_audiences)
from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.state import PartitionStoreResource
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.storage import PartitionStore

from .support import KEY

FIRST = daily_partitions.get_first_partition_key()
DAY = "2025-03-01"


def _seed(engage) -> dict[str, str]:
    docs = [
        {"id": "aaaaaaaa-0000-0000-0000-000000000001", "createdOn": "2024-12-01T10:00:00+00:00",
         "attributes": {"email": "old@example.com", "externalId": "ct-old", "memberNumber": "1"}},
        {"id": "aaaaaaaa-0000-0000-0000-000000000002", "createdOn": "2025-03-01T08:00:00+00:00",
         "attributes": {"email": "new@example.com", "externalId": "ct-new", "mobilePhone": "+46701234567"},
         "preferences": {"acceptsEmail": True}, "consents": [{"id": "newsletter", "value": True}]},
        {"id": "aaaaaaaa-0000-0000-0000-000000000003", "createdOn": "2025-01-10T08:00:00+00:00",
         "modifiedOn": "2025-03-01T23:59:00+00:00", "contactType": "Contact",
         "attributes": {"email": "upd@example.com"}},
        {"id": "aaaaaaaa-0000-0000-0000-000000000004", "createdOn": "2025-03-02T00:00:00+00:00",
         "attributes": {"email": "tomorrow@example.com"}},
    ]
    return dict(zip(("old", "new", "upd", "tomorrow"), engage.seed_contacts(docs)))


def _resources(engage_server, tmp_path) -> dict:
    return {"engage": EngageResource(base_url=engage_server.url, api_key=KEY, rate_limit_per_second=500),
            "partition_store": PartitionStoreResource(base_dir=str(tmp_path))}


def test_contacts_partition_reads_the_days_changes_into_parquet(engage_server, engage, tmp_path, sync_home):
    ids = _seed(engage)
    # Contacts were read before (an earlier partition exists), so this day reads only its changes.
    PartitionStore(tmp_path).write_frame(CONTACTS_DATASET, FIRST, pd.DataFrame({"id": pd.Series([], dtype=str)}))
    result = dg.materialize([voyado_contacts], resources=_resources(engage_server, tmp_path), partition_key=DAY)
    assert result.success
    meta = result.asset_materializations_for_node("voyado__contacts")[0].metadata
    assert meta["dagster/row_count"].value == 2 and meta["mode"].value == "delta"
    assert meta["created"].value == 1 and meta["updated"].value == 1
    df = PartitionStore(tmp_path).read(CONTACTS_DATASET, [DAY])
    assert sorted(df["id"]) == sorted([ids["new"], ids["upd"]])
    assert list(df.columns) == ["id", "email", "mobilePhone", "memberNumber", "externalId", "contactType",
                                "consents_json", "preferences_json", "raw"]
    new = df.set_index("id").loc[ids["new"]]
    assert (new["email"], new["mobilePhone"], new["externalId"], new["contactType"]) == (
        "new@example.com", "+46701234567", "ct-new", "Member")
    assert json.loads(new["consents_json"])[0]["id"] == "newsletter"
    assert json.loads(new["preferences_json"]) == {"acceptsEmail": True}
    assert json.loads(new["raw"])["id"] == ids["new"]
    assert df.set_index("id").loc[ids["upd"]]["contactType"] == "Contact"
    # no raw email in the metadata
    assert "@example.com" not in str({k: v.value for k, v in meta.items()})
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks] == [True]


def test_first_partition_and_full_config_read_every_contact(engage_server, engage, tmp_path, sync_home):
    ids = _seed(engage)
    engage.contacts.changes_cap = 2  # forces the client to split windows, as above 250 000 ids
    resources = _resources(engage_server, tmp_path)
    first = dg.materialize([voyado_contacts], resources=resources, partition_key=FIRST)
    assert first.success
    df = PartitionStore(tmp_path).read(CONTACTS_DATASET, [FIRST])
    # Every contact Voyado holds now, also those created after the first day: a backfill must know them.
    assert sorted(df["id"]) == sorted([ids["old"], ids["new"], ids["upd"], ids["tomorrow"]])
    full = dg.materialize([voyado_contacts], resources=resources, partition_key=DAY,
                          run_config={"ops": {"voyado__contacts": {"config": {"full": True}}}})
    assert full.success
    meta = full.asset_materializations_for_node("voyado__contacts")[0].metadata
    assert meta["mode"].value == "full"
    assert sorted(PartitionStore(tmp_path).read(CONTACTS_DATASET, [DAY])["id"]) == sorted(
        [ids["old"], ids["new"], ids["upd"], ids["tomorrow"]])


def test_wrong_api_key_fails_the_step_once(engage_server, engage, tmp_path, sync_home):
    resources = {"engage": EngageResource(base_url=engage_server.url, api_key="wrong"),
                 "partition_store": PartitionStoreResource(base_dir=str(tmp_path))}
    result = dg.materialize([voyado_contacts], resources=resources, partition_key=DAY, raise_on_error=False)
    assert not result.success
    assert len(engage.requests()) == 1


def test_target_audiences_asset(engage_server, engage, tmp_path, sync_home):
    result = dg.materialize([voyado_target_audiences], resources=_resources(engage_server, tmp_path))
    assert result.success
    df = PartitionStore(tmp_path).read("voyado/target_audiences")
    assert sorted(df["name"]) == sorted(a["name"] for a in engage._automation.target_audiences)


def test_a_first_load_that_starts_mid_range_reads_every_contact(engage_server, engage, tmp_path, sync_home):
    ids = _seed(engage)
    result = dg.materialize([voyado_contacts], resources=_resources(engage_server, tmp_path), partition_key=DAY)
    meta = result.asset_materializations_for_node("voyado__contacts")[0].metadata
    assert meta["mode"].value == "full"
    # Everything Voyado holds now, the contact created the next day included.
    assert sorted(PartitionStore(tmp_path).read(CONTACTS_DATASET, [DAY])["id"]) == sorted(
        [ids["old"], ids["new"], ids["upd"], ids["tomorrow"]])
