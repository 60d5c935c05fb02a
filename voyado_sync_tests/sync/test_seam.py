"""The push seam: every endpoint name reaches its adapter on its own API's client and budget, a disabled
API is said so instead of guessed, replay goes through the same resolution, and the pushes of one step
add up to one report."""

from __future__ import annotations

import pytest

from voyado_sync.resources.commercetools import CommercetoolsResource
from voyado_sync.resources.voyado import ElevateResource, EngageResource
from voyado_sync.seam import endpoint_on, push_target
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import ENDPOINT_NAMES, NOT_REPLAYABLE, Api, CustomerFieldsEndpoint, api_of
from voyado_sync.sync.models import Outcome, SyncItem, SyncReport
from voyado_sync.sync.replay import replay_dead_letters
from voyado_sync_tests.sync.support import make_engine
from voyado_sync_tests.sync.factories import API_KEY, PARTITION


def _resources() -> dict[Api, object]:
    return {Api.ENGAGE: EngageResource(base_url="http://127.0.0.1:9", api_key=API_KEY, rate_limit_per_second=7,
                                       max_concurrency=3),
            Api.ELEVATE: ElevateResource(base_url="http://127.0.0.1:9", api_key="elevate-key"),
            Api.COMMERCETOOLS: CommercetoolsResource(api_url="http://127.0.0.1:9", auth_url="http://127.0.0.1:9",
                                                     project_key="p", client_id="cid", client_secret="secret")}


def test_every_endpoint_is_built_on_its_apis_client_with_that_keys_budget(state):
    resources = _resources()
    target = push_target(resources, state)
    for name in ENDPOINT_NAMES:
        options = {"rule": None} if name == "ct_customer_fields" else {}
        adapter = endpoint_on(name, resources[api_of(name)], **options)
        assert adapter.name == name and adapter.api is api_of(name)
        # One connection pool per API per run: the adapter's client shares the resource client's pool.
        assert adapter.client._http is resources[api_of(name)].client()._http
    assert {api_of(n) for n in ENDPOINT_NAMES} == set(Api)
    adapter, budget = target("receipts")
    assert adapter.client.retry.max_attempts == 1  # the engine retries, each attempt within the budget
    assert (budget.rate, budget.max_concurrency) == (7, 3)
    for r in resources.values():
        r.close()


def test_a_disabled_api_is_named_not_guessed(state):
    target = push_target({Api.ENGAGE: _resources()[Api.ENGAGE], Api.ELEVATE: ElevateResource(enabled=False)}, state)
    with pytest.raises(ValueError, match="elevate_catalog_updates writes to elevate, which is not configured"):
        target("elevate_catalog_updates")
    with pytest.raises(ValueError, match="unknown sync endpoint 'nope'"):
        target("nope")


def test_replay_leaves_dead_letters_only_their_push_asset_can_settle(state):
    bad = SyncItem("cust-1", "ct_customer_fields", {"fields": {}}, PARTITION, "commercetools/customer_fields_writeback")
    report = make_engine(state).push([bad], CustomerFieldsEndpoint(None, rule=None))
    assert report.count(Outcome.DEAD_LETTERED) == 1

    def target(name):
        raise AssertionError(f"{name} must not be re-sent from its stored payload")

    with pytest.raises(ValueError, match="customer_fields_writeback"):
        replay_dead_letters(state, target, endpoint="ct_customer_fields")
    everything = replay_dead_letters(state, target)
    assert everything.selected == 0 and "customer_fields_writeback" in everything.skipped["ct_customer_fields"]
    assert [d.key for d in dlq.list_dead_letters(state)] == ["cust-1"]
    assert set(NOT_REPLAYABLE) <= set(ENDPOINT_NAMES)


def test_the_pushes_of_one_step_add_up_to_one_report():
    a = SyncReport("contacts_create", "r", PARTITION, total=4, counts={"sent": 3, "rejected": 1}, dead_letters=1,
                   requests=4, latencies_ms=[10.0, 30.0])
    b = SyncReport("contacts_update", "r", PARTITION, total=6, counts={"sent": 2, "unchanged_skipped": 4},
                   requests=2, latencies_ms=[20.0])
    both = SyncReport.combine([a, b], endpoint="contacts_create,contacts_update", run_id="r", partition=PARTITION,
                              dry_run=False)
    assert (both.total, both.count(Outcome.SENT), both.dead_letters, both.requests) == (10, 5, 1, 6)
    assert both.failure_rate == round(1 / 6, 6)  # failed over the items that needed a decision
    assert both.p50() == 20.0
    assert both.count_in(("contacts_create",), Outcome.SENT) == 3
