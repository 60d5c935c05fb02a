"""The delta sensor ticked with build_sensor_context against the sandbox (messages and watermark modes)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import dagster as dg

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.defs.commercetools.sensor import commercetools_delta_sensor
from voyado_sync.extract.datasets import DATASETS

from voyado_sync.sandbox.http import FaultRule

from .support import FAST_RETRY, PROJECT, api_requests, make_customers, make_orders, past_day


def tick(resources, cursor):
    with dg.build_sensor_context(cursor=cursor, resources={"commercetools": resources["commercetools"]}) as ctx:
        return commercetools_delta_sensor(ctx)


def planned(result) -> dict[str, set[str]]:
    return {r.partition_key: {k.path[-1] for k in r.asset_selection} for r in result.run_requests or []}


def seed(app, day):
    orders = app.put("orders", make_orders(day, 20))
    customers = app.put("customers", make_customers(day, 5))
    app.clock = lambda: datetime.fromisoformat(f"{day}T10:00:00+00:00")
    return orders, customers


def test_messages_mode_requests_only_changed_partitions_and_idle_ticks_are_cheap(ct, resources):
    app, _ = ct
    day, other = past_day(3), past_day(5)
    orders, customers = seed(app, day)
    first = tick(resources, None)  # starts at the newest message: history is the schedule's job
    assert not first.run_requests and json.loads(first.cursor)["mode"] == "messages"

    app.update("orders", orders[0]["id"], {"orderState": "Confirmed"})
    app.update("customers", customers[0]["id"], {"firstName": "Ann"})
    app.clock = lambda: datetime.fromisoformat(f"{other}T08:00:00+00:00")
    app.update("orders", orders[1]["id"], {"shipmentState": "Shipped"})
    second = tick(resources, first.cursor)
    assert planned(second) == {day: {"orders", "customers"}, other: {"orders"}}
    assert all(r.tags["voyado_sync/trigger"] == "delta" for r in second.run_requests)

    before = len(api_requests(app))
    idle = tick(resources, second.cursor)
    assert not idle.run_requests
    assert {k: v for k, v in json.loads(idle.cursor).items() if k != "checked_at"} == \
        {k: v for k, v in json.loads(second.cursor).items() if k != "checked_at"}
    idle_requests = api_requests(app)[before:]
    # project switch + one messages page + one page per watermark dataset (categories, channels, carts)
    assert len(idle_requests) <= len(DATASETS)
    assert [r.query.get("limit") for r in idle_requests if "/messages" in r.path] == [["500"]]


def test_messages_disabled_falls_back_to_watermarks_without_losing_changes(ct, resources):
    app, _ = ct
    day = past_day(3)
    orders, _ = seed(app, day)
    first = tick(resources, None)
    app.set_messages_enabled(False)
    app.update("orders", orders[2]["id"], {"orderState": "Cancelled"})  # no message is recorded for this
    second = tick(resources, first.cursor)
    assert json.loads(second.cursor)["mode"] == "watermark"
    assert planned(second) == {day: {"orders"}}
    before = len(api_requests(app))
    idle = tick(resources, second.cursor)
    assert not idle.run_requests
    assert len(api_requests(app)) - before <= len(DATASETS)  # one small request per dataset at most
    # and back: messages on again -> the sensor returns to messages mode from the oldest watermark
    app.set_messages_enabled(True)
    cursor = json.loads(idle.cursor)
    cursor["checked_at"] = None  # force the hourly re-check now
    back = tick(resources, json.dumps(cursor))
    assert json.loads(back.cursor)["mode"] == "messages"


def test_own_write_backs_are_skipped(ct, resources):
    app, url = ct
    day = past_day(3)
    _, customers = seed(app, day)
    first = tick(resources, None)
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=FAST_RETRY) as ours:
        ours.update_customer(customers[1]["id"], customers[1]["version"],
                             [{"action": "setExternalId", "externalId": "VOYADO-1"}])
    second = tick(resources, first.cursor)
    assert not second.run_requests
    assert json.loads(second.cursor)["messages"] != json.loads(first.cursor)["messages"]  # but consumed
    # the same holds for watermark polling, judged by lastModifiedBy
    app.set_messages_enabled(False)
    with CommercetoolsClient(url, url, PROJECT, "sandbox-client", "sandbox-secret", retry=FAST_RETRY) as ours:
        current = ours.get_by_id("customers", customers[1]["id"])
        ours.update_customer(current["id"], current["version"], [{"action": "setExternalId", "externalId": "V-2"}])
    third = tick(resources, second.cursor)
    assert json.loads(third.cursor)["mode"] == "watermark" and not third.run_requests


def test_deletions_request_erasure_events(ct, resources):
    app, _ = ct
    day = past_day(3)
    _, customers = seed(app, day)
    first = tick(resources, None)
    app.delete("customers", customers[3]["id"])
    second = tick(resources, first.cursor)
    assert planned(second) == {day: {"erasure_events"}}


def test_api_outage_keeps_the_cursor(ct, resources):
    app, _ = ct
    seed(app, past_day(3))
    first = tick(resources, None)
    app.faults.configure(seed=1, rules=[FaultRule(pattern=f"GET /{PROJECT}", probabilities={"503": 1.0})])
    resources["commercetools"] = type(resources["commercetools"])(
        **{**resources["commercetools"].model_dump(), "max_attempts": 2, "max_retry_seconds": 0.5})
    result = tick(resources, first.cursor)
    assert not result.run_requests and result.cursor is None
    assert "Commercetools unavailable" in result.skip_reason.skip_message


def test_a_message_visible_late_within_the_safety_lag_is_still_found_once(ct, resources):
    app, _ = ct
    day = past_day(3)
    orders, _ = seed(app, day)
    first = tick(resources, None)
    app.update("orders", orders[0]["id"], {"orderState": "Confirmed"})
    second = tick(resources, first.cursor)
    assert planned(second) == {day: {"orders"}}
    mark = json.loads(second.cursor)["messages"][0]
    # Commercetools committed a change with an earlier timestamp that the Messages API shows only now
    # (the sandbox clock moves back 2 minutes: within the 5-minute safety lag).
    at = datetime.fromisoformat(mark.replace("Z", "+00:00")) - timedelta(minutes=2)
    app.clock = lambda: at
    app.update("orders", orders[1]["id"], {"orderState": "Confirmed"})
    third = tick(resources, second.cursor)
    assert planned(third) == {day: {"orders"}}
    assert json.loads(third.cursor)["messages"][0] == mark   # the cursor does not move back
    assert not tick(resources, third.cursor).run_requests     # handled once, not on every tick
    # Beyond the safety lag a late message is the weekly reconciliation's to catch.
    app.clock = lambda: at - timedelta(minutes=10)
    app.update("orders", orders[2]["id"], {"orderState": "Confirmed"})
    assert not tick(resources, third.cursor).run_requests


def test_watermarks_also_find_a_late_change_once(ct, resources):
    app, _ = ct
    day = past_day(3)
    orders, _ = seed(app, day)
    app.set_messages_enabled(False)
    first = tick(resources, None)
    app.update("orders", orders[0]["id"], {"orderState": "Confirmed"})
    second = tick(resources, first.cursor)
    assert json.loads(second.cursor)["mode"] == "watermark" and planned(second) == {day: {"orders"}}
    mark = json.loads(second.cursor)["watermarks"]["orders"][0]
    at = datetime.fromisoformat(mark.replace("Z", "+00:00")) - timedelta(minutes=2)
    app.clock = lambda: at   # committed earlier, visible only now
    app.update("orders", orders[1]["id"], {"orderState": "Confirmed"})
    third = tick(resources, second.cursor)
    assert planned(third) == {day: {"orders"}} and json.loads(third.cursor)["watermarks"]["orders"][0] == mark
    assert not tick(resources, third.cursor).run_requests
