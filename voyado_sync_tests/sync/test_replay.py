"""Dead letters then replay after a fix: through the function, the CLI and the Dagster job. A row leaves
the dead letters only when the re-send succeeds."""

from __future__ import annotations

from collections import Counter

import pandas as pd

from voyado_sync import jsonutil
from voyado_sync.cli import replay_dlq
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import ElevateResource, EngageResource
from voyado_sync.storage import PartitionStore
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import PointTransactionsEndpoint, ReceiptsEndpoint
from voyado_sync.sync.models import Outcome, SyncItem
from voyado_sync.sync.rate_budget import RateBudget
from voyado_sync.sync.replay import partition_store_source, replay_dead_letters
from voyado_sync_tests.sync.support import FAST_RETRY, make_engine
from voyado_sync_tests.sync.factories import API_KEY, PARTITION, point_row, points, receipt, receipts


def _write_payloads(store: PartitionStore, dataset: str, items: dict[str, dict]) -> None:
    store.write_frame(dataset, PARTITION, pd.DataFrame(
        {"key": list(items), "payload": [jsonutil.dumps(p) for p in items.values()]}))


def test_dead_letters_replayed_after_a_fix_and_only_successes_leave(engage, state, tmp_path):
    client = engage.client()
    pts = points(5)
    pts[1] = SyncItem(pts[1].key, pts[1].endpoint, point_row(1, definition_id=999), PARTITION, pts[1].source)
    pts[3] = SyncItem(pts[3].key, pts[3].endpoint, point_row(3, definition_id=998), PARTITION, pts[3].source)
    report = make_engine(state).push(pts, PointTransactionsEndpoint(client))
    assert report.count(Outcome.SENT) == 3 and report.count(Outcome.REJECTED) == 2
    rcs = receipts(3)
    rcs[0] = SyncItem(rcs[0].key, "receipts", {**receipt(0), "createdDate": "2025-03-01T14:05:00"}, PARTITION, rcs[0].source)
    make_engine(state).push(rcs, ReceiptsEndpoint(client))
    open_rows = {(d.endpoint, d.key): d for d in dlq.list_dead_letters(state)}
    assert set(open_rows) == {("point_transactions", "pt-00001"), ("point_transactions", "pt-00003"),
                              ("receipts", "r-00000")}
    pt1 = open_rows[("point_transactions", "pt-00001")]
    assert pt1.reason == "not_accepted" and "999" in pt1.error and pt1.payload == point_row(1, 999)

    endpoints = {"point_transactions": PointTransactionsEndpoint(client), "receipts": ReceiptsEndpoint(client)}
    budget = RateBudget(state, API_KEY, 200)

    # Nothing fixed yet: the re-send fails again, every row stays, failures are counted.
    again = replay_dead_letters(state, lambda name: (endpoints[name], budget), retry=FAST_RETRY)
    assert (again.selected, again.replayed, again.still_open, again.payload_unavailable) == (3, 0, 3, 0)
    assert {d.failures for d in dlq.list_dead_letters(state)} == {2}

    # The mapping is fixed for pt-00001 and the receipt: the payload datasets are re-materialized.
    store = PartitionStore(tmp_path / "data")
    _write_payloads(store, "voyado/points_payload", {"pt-00001": point_row(1), "pt-00003": point_row(3, 998)})
    _write_payloads(store, "voyado/receipts_payload", {"r-00000": receipt(0)})
    fixed = replay_dead_letters(state, lambda name: (endpoints[name], budget),
                                payload_source=partition_store_source(store),
                                retry=FAST_RETRY)
    assert (fixed.replayed, fixed.still_open) == (2, 1)
    assert [d.key for d in dlq.list_dead_letters(state)] == ["pt-00003"]
    closed = dlq.list_dead_letters(state, status=dlq.REPLAYED)
    assert {d.key for d in closed} == {"pt-00001", "r-00000"} and all(d.replayed_at for d in closed)
    assert "r-00000" in engage.app.receipts
    assert Counter(t["description"] for t in engage.app.point_transactions)["pt-00001"] == 1

    # The CLI replays the last one once its fix lands (exit 0 = nothing left open).
    _write_payloads(store, "voyado/points_payload", {"pt-00003": point_row(3)})
    with_env = {"VOYADO_API_KEY": API_KEY}
    import os

    old = {k: os.environ.get(k) for k in with_env}
    os.environ.update(with_env)
    try:
        code = replay_dlq(["--endpoint", "point_transactions", "--state-db", str(state.url.render_as_string(False)),
                           "--data-dir", str(tmp_path / "data"), "--engage-url", engage.url])
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert code == 0
    assert dlq.list_dead_letters(state) == []
    assert len(engage.app.point_transactions) == 5


def test_replay_job_in_dagster(engage, state, pg_url, tmp_path):
    client = engage.client()
    bad = SyncItem("r-00001", "receipts", {**receipt(1), "currency": "sek"}, PARTITION, "voyado/receipts_payload")
    make_engine(state).push([bad], ReceiptsEndpoint(client))
    assert [d.key for d in dlq.list_dead_letters(state)] == ["r-00001"]
    store = PartitionStore(tmp_path / "data")
    _write_payloads(store, "voyado/receipts_payload", {"r-00001": receipt(1)})

    from voyado_sync.defs.sync import voyado_replay_dlq

    result = voyado_replay_dlq.execute_in_process(
        run_config={"ops": {"replay_dlq_op": {"config": {"endpoint": "receipts"}}}},
        resources={"engage": EngageResource(base_url=engage.url, api_key=API_KEY),
                   "elevate": ElevateResource(enabled=False),
                   "state_db": StateDatabase(url=pg_url),
                   "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "data"))})
    assert result.success
    assert result.output_for_node("replay_dlq_op")["replayed"] == 1
    assert dlq.list_dead_letters(state) == [] and "r-00001" in engage.app.receipts


def test_cli_refuses_to_replay_a_full_catalog_or_a_commercetools_write_piecemeal(state, capsys):
    for endpoint, hint in (("elevate_catalog", "voyado/catalog_sync"),
                           ("ct_customer_fields", "commercetools/customer_fields_writeback")):
        code = replay_dlq(["--endpoint", endpoint, "--state-db", str(state.url.render_as_string(False))])
        assert code == 2 and hint in capsys.readouterr().err
