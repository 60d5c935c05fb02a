"""The delta reader called directly (no Dagster) against the sandbox: a client, a cursor, the datasets,
the mode setting and the overlap in; the changes, the mode and an advanced cursor out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from voyado_sync.extract.datasets import DATASETS
from voyado_sync.extract.delta import DeltaCursor
from voyado_sync.extract.delta_reader import delta_mode, read_changes

from .support import PROJECT, api_requests, make_customers, make_orders, past_day

LAG = timedelta(minutes=5)
ALL = list(DATASETS.values())


def read(client, cursor, datasets=ALL, mode="auto", now=None):
    return read_changes(client, cursor, datasets, mode, LAG, "UTC", now or datetime.now(timezone.utc))


def seed(app, day):
    orders = app.put("orders", make_orders(day, 5))
    customers = app.put("customers", make_customers(day, 3))
    app.clock = lambda: datetime.fromisoformat(f"{day}T10:00:00+00:00")
    return orders, customers


def switch_reads(app) -> int:
    return len([r for r in api_requests(app) if r.path == f"/{PROJECT}"])


def test_the_first_read_starts_at_the_newest_change_then_reports_changes_but_not_our_own(ct, client):
    app, _ = ct
    day = past_day(3)
    orders, customers = seed(app, day)
    app.update("orders", orders[4]["id"], {"orderState": "Complete"})  # before the first read: history
    cursor = DeltaCursor()
    first = read(client, cursor)
    assert (first.mode, first.changes, first.own_skipped) == ("messages", {}, 0)  # history is the schedule's
    newest = client.messages(sort=["createdAt desc", "id desc"], limit=1)["results"][0]
    assert (cursor.mode, cursor.messages.at, cursor.messages.id) == ("messages", newest["createdAt"], newest["id"])
    assert set(cursor.watermarks) == set(DATASETS)  # carried, ready for a fall back to polling

    app.update("orders", orders[0]["id"], {"orderState": "Confirmed"})
    app.update("customers", customers[0]["id"], {"firstName": "Ann"}, client_id="sandbox-client")  # a write-back
    second = read(client, cursor)
    assert (second.changes, second.own_skipped) == ({day: {"orders"}}, 1)
    assert (read(client, cursor).changes, cursor.mode) == ({}, "messages")  # each change once


def test_a_forced_watermark_mode_polls_only_the_given_datasets_and_never_reads_the_switch(ct, client):
    app, _ = ct
    day = past_day(3)
    orders, customers = seed(app, day)
    orders_only = [DATASETS["orders"]]
    cursor = DeltaCursor()
    first = read(client, cursor, orders_only, mode="watermark")
    assert (first.mode, first.changes) == ("watermark", {})
    assert cursor.messages is None and set(cursor.watermarks) == {"orders"}

    app.update("orders", orders[1]["id"], {"orderState": "Confirmed"})
    app.update("customers", customers[1]["id"], {"firstName": "Bo"})
    assert read(client, cursor, orders_only, mode="watermark").changes == {day: {"orders"}}
    assert switch_reads(app) == 0 and not api_requests(app, "/customers")


def test_watermark_mode_reads_the_messages_switch_again_only_after_an_hour(ct, client):
    app, _ = ct
    now = datetime.now(timezone.utc)
    cursor = DeltaCursor(mode="watermark", checked_at=(now - timedelta(minutes=30)).isoformat())
    assert delta_mode(client, cursor, "auto", now) == "watermark" and switch_reads(app) == 0
    assert delta_mode(client, cursor, "auto", now + timedelta(hours=1)) == "messages" and switch_reads(app) == 1
    assert cursor.checked_at == (now + timedelta(hours=1)).isoformat()
    app.set_messages_enabled(False)
    assert delta_mode(client, DeltaCursor(mode="messages"), "auto", now) == "watermark"
    assert delta_mode(client, DeltaCursor(), "messages", now) == "messages" and switch_reads(app) == 2
