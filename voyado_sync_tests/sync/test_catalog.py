"""Elevate catalog through the engine: one full import, skipped when nothing changed, every line re-sent
when one changed (a full import deletes what it does not carry), a bad line rejects the import."""

from __future__ import annotations

from voyado_sync.clients.elevate import ElevateClient
from voyado_sync.sandbox.elevate import ElevateSandbox
from voyado_sync.sandbox.http import SandboxServer
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import ElevateCatalogEndpoint
from voyado_sync.sync.models import Outcome, SyncItem
from voyado_sync_tests.sync.support import make_engine
from voyado_sync_tests.sync.factories import PARTITION


def line(key: str, title: str = "Shirt", stock: int = 3) -> dict:
    return {"replace": {"key": key, "productGroup": {"products": {f"{key}-p": {
        "markets": ["se"], "defaults": {"url": f"/p/{key}", "title": title},
        "variants": {f"{key}-v": {"defaults": {"stock": stock, "sellingPrice": 299.0, "listPrice": 399.0}}}}}}}}


def test_catalog_full_import_skip_and_resend(state):
    app = ElevateSandbox(api_keys=["elevate-key"], import_blocking_seconds=5.0)
    server = SandboxServer(app).start()
    try:
        ep = ElevateCatalogEndpoint(ElevateClient(server.url, "elevate-key"))
        items = [SyncItem(f"pg{i}", "elevate_catalog", line(f"pg{i}"), PARTITION) for i in range(5)]
        first = make_engine(state, api_key="elevate-key").push(items, ep)
        assert first.count(Outcome.SENT) == 5 and first.requests == 1 and set(app.catalog) == {f"pg{i}" for i in range(5)}

        assert make_engine(state, api_key="elevate-key").push(items, ep).count(Outcome.UNCHANGED_SKIPPED) == 5
        imports = len(app.imports)

        items[2] = SyncItem("pg2", "elevate_catalog", line("pg2", title="Better shirt"), PARTITION)
        changed = make_engine(state, api_key="elevate-key").push(items, ep)
        assert changed.count(Outcome.SENT) == 5 and len(app.imports) == imports + 1
        assert set(app.catalog) == {f"pg{i}" for i in range(5)}  # nothing deleted by the full replace

        items[4] = SyncItem("pg4", "elevate_catalog", line("pg4", stock=-1), PARTITION)
        bad = make_engine(state, api_key="elevate-key").push(items, ep)
        assert bad.count(Outcome.REJECTED) == 5
        rows = {d.key: d for d in dlq.list_dead_letters(state)}
        assert rows["pg4"].reason == "catalog_line_invalid" and "stock" in rows["pg4"].error
        assert rows["pg0"].reason == "catalog_import_failed" and "pg4" in rows["pg0"].error
        assert app.catalog["pg4"]["products"]["pg4-p"]["variants"]["pg4-v"]["defaults"]["stock"] == 3
    finally:
        server.stop()


def test_catalog_updates_send_changed_lines_in_batches_and_never_delete(state):
    app = ElevateSandbox(api_keys=["elevate-key"], import_blocking_seconds=5.0)
    server = SandboxServer(app).start()
    try:
        ep = ElevateCatalogEndpoint(ElevateClient(server.url, "elevate-key"), full=False, batch_size=2)
        assert ep.name == "elevate_catalog_updates" and not ep.full_replace
        items = [SyncItem(f"pg{i}", ep.name, line(f"pg{i}"), PARTITION) for i in range(4)]
        first = make_engine(state, api_key="elevate-key").push(items, ep)
        assert first.count(Outcome.SENT) == 4 and first.requests == 2 and set(app.catalog) == {f"pg{i}" for i in range(4)}

        # Only pg1 changed and pg3 is removed; the lines not pushed stay in the catalog.
        changed = [SyncItem("pg1", ep.name, line("pg1", title="New"), PARTITION),
                   SyncItem("pg3", ep.name, {"remove": {"key": "pg3"}}, PARTITION),
                   SyncItem("pg9", ep.name, line("pg9", stock=-1), PARTITION)]
        second = make_engine(state, api_key="elevate-key").push(changed + items[:1], ep)
        assert second.count(Outcome.UNCHANGED_SKIPPED) == 1
        # pg1 and pg3 travel together; pg9's batch is refused alone, with its line's reason.
        assert second.count(Outcome.SENT) == 2 and second.count(Outcome.REJECTED) == 1
        assert set(app.catalog) == {"pg0", "pg1", "pg2"}
        assert app.catalog["pg1"]["products"]["pg1-p"]["defaults"]["title"] == "New"
        (dead,) = dlq.list_dead_letters(state)
        assert dead.key == "pg9" and dead.reason == "catalog_line_invalid" and "stock" in dead.error
        assert all(i["type"] == "incremental" for i in app.imports.values())
    finally:
        server.stop()
