"""Dagster wiring: a push asset built on the seam's `run_push` (metadata, dry run), the sync log asset with its
failure-rate check via dg.materialize, and a scan proving no raw email, phone or API key lands in the
ledger, dead letters, logs or metadata."""


import logging

import dagster as dg
import pytest
import sqlalchemy as sa

from voyado_sync.defs.sync import FAILURE_RATE_CHECK, sync_log
from voyado_sync.partitions import daily_partitions
from voyado_sync.resources.state import StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.seam import PushConfig, report_metadata, run_push
from voyado_sync.sync.models import SyncItem
from voyado_sync_tests.sync.factories import API_KEY, PARTITION, contact_docs

NEW_CONTACTS = [{"externalId": f"ct-new-{i}", "email": f"new.person{i}@example.org", "mobilePhone": f"+4670999{i:04d}",
                 "firstName": f"Newbie{i}", "contactType": "Member"} for i in range(4)]


def _contact_items(email_suffix: str = "") -> list[SyncItem]:
    items = [SyncItem(c["externalId"], "contacts_create",
                      {**c, "email": c["email"].replace("@", f"{email_suffix}@")}, PARTITION) for c in NEW_CONTACTS]
    # Clashes with a seeded contact's email: Voyado refuses it (409) and the body names the conflict.
    items.append(SyncItem("ct-clash", "contacts_create",
                          {"externalId": "ct-clash", "email": "person1@example.com", "mobilePhone": "+46701230001",
                           "firstName": "Clash"}, PARTITION))
    items.append(SyncItem("ct-badmail", "contacts_create",
                          {"externalId": "ct-badmail", "email": "not-an-email@", "mobilePhone": "+4670555000"}, PARTITION))
    return items


@dg.asset(key=["voyado", "contacts_sync"], partitions_def=daily_partitions, group_name="voyado")
def contacts_sync(context: dg.AssetExecutionContext, config: PushConfig, engage: EngageResource,
                  state_db: StateDatabase) -> dg.MaterializeResult:
    suffix = context.run.tags.get("email_suffix", "")
    report = run_push(context, _contact_items(suffix), "contacts_create", resource=engage, state_db=state_db,
                      dry_run=config.dry_run, options={"source": "e-com"})
    return dg.MaterializeResult(metadata=report_metadata(report))


def _materialize(assets, resources, instance, *, config=None, tags=None):
    return dg.materialize(assets, partition_key=PARTITION, resources=resources, instance=instance,
                          run_config={"ops": config or {}}, tags=tags or {}, raise_on_error=False)


@pytest.mark.slow
def test_push_asset_sync_log_check_and_no_pii_anywhere(engage, state, pg_url, caplog):
    caplog.set_level(logging.DEBUG)
    resources = {"engage": EngageResource(base_url=engage.url, api_key=API_KEY),
                 "state_db": StateDatabase(url=pg_url)}
    with dg.instance_for_test() as instance:
        dry = _materialize([contacts_sync], resources, instance,
                           config={"voyado__contacts_sync": {"config": {"dry_run": True}}})
        assert dry.success and engage.api_requests() == []
        md = dry.asset_materializations_for_node("voyado__contacts_sync")[0].metadata
        assert md["dry_run/new"].value == 6 and md["dry_run"].value is True

        real = _materialize([contacts_sync], resources, instance)
        assert real.success
        md = real.asset_materializations_for_node("voyado__contacts_sync")[0].metadata
        assert md["outcome/sent"].value == 4 and md["outcome/rejected"].value == 2 and md["dead_letters"].value == 2
        assert md["failure_rate"].value == round(2 / 6, 6) and md["latency_p95_ms"].value > 0
        assert len(engage.app.contacts.find("externalId", "ct-new-1")) == 1

        # A dry run with changed emails shows a redacted diff.
        changed = _materialize([contacts_sync], resources, instance, tags={"email_suffix": ".x"},
                               config={"voyado__contacts_sync": {"config": {"dry_run": True}}})
        diff = changed.asset_materializations_for_node("voyado__contacts_sync")[0].metadata["dry_run/sample_diff"].value
        assert any(f["path"] == "email" and str(f["new"]).startswith("h:") for d in diff for f in d.get("fields", []))

        # Sync log of the partition: 4 delivered, 2 failed → 33 % failure rate.
        ok = _materialize([sync_log], {"state_db": StateDatabase(url=pg_url)}, instance,
                          config={"sync__log": {"config": {"max_failure_rate": 0.5}}})
        (check,) = ok.get_asset_check_evaluations()
        assert ok.success and check.check_name == FAILURE_RATE_CHECK and check.passed
        log_md = ok.asset_materializations_for_node("sync__log")[0].metadata
        assert log_md["outcome/sent"].value == 4 and log_md["open_dead_letters"].value == 2
        assert abs(log_md["failure_rate"].value - 2 / 6) < 1e-6
        strict = _materialize([sync_log], {"state_db": StateDatabase(url=pg_url)}, instance,
                              config={"sync__log": {"config": {"max_failure_rate": 0.1}}})
        (check,) = strict.get_asset_check_evaluations()
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR

        # Wrong credentials: one clear failure of the step, one request.
        before = len(engage.api_requests())
        bad = _materialize([contacts_sync], {**resources, "engage": EngageResource(base_url=engage.url,
                                                                                 api_key="wrong-secret-key")},
                           instance, tags={"email_suffix": ".y"})
        assert not bad.success and len(engage.api_requests()) == before + 1
        failure = bad.get_step_failure_events()[0].step_failure_data.error
        assert "API key" in failure.message and "wrong-secret-key" not in failure.message

        texts = [caplog.text]
        for run in instance.get_runs():
            texts += [str(e.user_message) + str(e.dagster_event) for e in instance.all_logs(run.run_id)]
    with state.connect() as conn:
        for table in ("sync_ledger", "sync_dead_letters", "sync_rate_budget"):
            texts += [str(tuple(r)) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
    haystack = "\n".join(texts)
    raw = [c["email"] for c in NEW_CONTACTS] + [c["mobilePhone"] for c in NEW_CONTACTS] + [
        "person1@example.com", "+46701230001", "+4670555000", API_KEY, "wrong-secret-key"]
    raw += [c["attributes"]["email"] for c in contact_docs()]
    leaked = [v for v in raw if v in haystack]
    assert leaked == []
    assert "ct-new-1" in haystack  # the scan does see the stores (keys are not PII)

