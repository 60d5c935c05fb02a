"""Bulk and batch endpoints through the engine: contacts bulk create/update with per-row outcomes from the
bulk status, carts and stock levels in batches."""

from __future__ import annotations

import sqlalchemy as sa

from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import CartsEndpoint, ContactsBulkEndpoint, StockLevelsEndpoint
from voyado_sync.sync.models import Outcome, SyncItem
from voyado_sync_tests.sync.support import make_engine
from voyado_sync_tests.sync.factories import PARTITION, contact_id


def _contacts(emails: dict[int, str]) -> list[SyncItem]:
    return [SyncItem(f"ct-bulk-{i}", "contacts_bulk_create",
                     {"externalId": f"ct-bulk-{i}", "email": email, "firstName": f"Bulk{i}"}, PARTITION)
            for i, email in emails.items()]


def test_contacts_bulk_per_row_outcomes(engage, state):
    emails = {i: f"bulk{i}@example.net" for i in range(6)}
    emails[4] = "broken@"  # this row fails inside the batch; the others are created
    client = engage.client()
    report = make_engine(state).push(_contacts(emails), ContactsBulkEndpoint(client, contact_type="Member"))
    assert report.count(Outcome.SENT) == 5 and report.count(Outcome.REJECTED) == 1 and report.requests == 1
    (row,) = dlq.list_dead_letters(state)
    assert row.key == "ct-bulk-4" and row.reason == "bulk_InvalidEmailAddress"
    assert len(engage.app.contacts.find("externalId", "ct-bulk-0")) == 1

    # The ledger lost (e.g. a crash before finalizing): re-sending the batch creates nothing twice.
    with state.begin() as conn:
        conn.execute(sa.text("DELETE FROM sync_ledger"))
    emails[4] = "bulk4@example.net"
    again = make_engine(state, run_id="run-2").push(_contacts(emails), ContactsBulkEndpoint(client))
    assert again.count(Outcome.DUPLICATE) == 5 and again.count(Outcome.SENT) == 1
    assert len(engage.app.contacts.find("externalId", "ct-bulk-0")) == 1
    assert dlq.list_dead_letters(state) == []  # the fixed row left the dead letters on success

    updates = [SyncItem(f"ct-bulk-{i}", "contacts_bulk_update", {"externalId": f"ct-bulk-{i}", "firstName": "Renamed"},
                        PARTITION) for i in range(3)]
    upd = make_engine(state, run_id="run-3").push(updates, ContactsBulkEndpoint(client, update=True))
    assert upd.count(Outcome.SENT) == 3
    cid = engage.app.contacts.find("externalId", "ct-bulk-1")[0]
    assert engage.app.contacts.get(cid).attributes["firstName"] == "Renamed"


def test_carts_and_stock_levels_in_batches(engage, state):
    client = engage.client()
    carts = [SyncItem(f"cart-{i}", "carts", {"cartReference": f"cart-{i}", "time": "2025-03-01T10:00:00+01:00",
                                              "contactId": contact_id(i), "language": "sv-SE",
                                              "items": [{"sku": "SKU-1", "quantity": i + 1}]}, PARTITION)
             for i in range(7)]
    report = make_engine(state).push(carts, CartsEndpoint(client, batch_size=3))
    assert report.count(Outcome.SENT) == 7 and report.requests == 3
    assert set(engage.app.carts) == {f"cart-{i}" for i in range(7)}

    levels = [SyncItem(f"SKU-{i}|sv-se", "stock_levels", {"sku": f"SKU-{i}", "quantity": i, "locale": "sv-se"}, PARTITION)
              for i in range(5)]
    levels.append(SyncItem("SKU-x|sv-se", "stock_levels", {"sku": "SKU-x", "quantity": "many"}, PARTITION))
    report = make_engine(state).push(levels, StockLevelsEndpoint(client))
    assert report.count(Outcome.SENT) == 5 and report.count(Outcome.DEAD_LETTERED) == 1 and report.requests == 1
    assert engage.app.stock_levels[("SKU-3", "sv-se", None)]["quantity"] == 3
