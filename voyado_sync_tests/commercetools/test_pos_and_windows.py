"""POS drop parsing and the pos/receipts asset; window arithmetic; bad configuration."""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg
import pytest

from voyado_sync.extract import datasets
from voyado_sync.extract.pos_files import parse_pos_file, read_partition
from voyado_sync.extract.windows import Window, exact_count, partition_key_of, partition_window, quantile_cuts
from voyado_sync.settings import ConfigError, get_settings

from .support import past_day


def receipt(rid: str, created_at: str, **over) -> dict:
    doc = {"receipt_id": rid, "store_id": "STO-SE-01", "register_id": "R2", "receipt_number": rid[-3:],
           "created_at": created_at, "currency": "SEK",
           "customer": {"member_number": "M100234", "card_id": None, "phone": "070-123 45 67", "email": None,
                        "country": "SE"},
           "lines": [{"line_id": "1", "sku": "SKU-1", "name": "Shirt", "quantity": 1, "unit_price": "299.00",
                      "discount": "0.00", "line_total": "299.00", "tax_rate": "25"},
                     {"line_id": "2", "sku": "SKU-2", "name": "Socks", "quantity": -1, "unit_price": "99.00",
                      "discount": "0.00", "line_total": "-99.00", "tax_rate": "25"}],
           "payments": [{"method": "card", "amount": "200.00", "reference": None}], "total": "200.00"}
    doc.update(over)
    return doc


CSV_HEADER = ("receipt_id,store_id,register_id,receipt_number,created_at,currency,member_number,card_id,phone,email,"
              "country,line_id,sku,name,quantity,unit_price,discount,line_total,tax_rate,payments,total")


def csv_row(rid, created, line_id, qty, total_line, total, payments="card:200.00|giftcard:99.00:GC-1"):
    return (f"{rid},STO-SE-02,R1,{rid[-3:]},{created},SEK,M1,,,,SE,{line_id},SKU-{line_id},Item,{qty},"
            f"{total_line},0.00,{total_line},25,{payments},{total}")


def test_json_and_ndjson_with_a_malformed_receipt(tmp_path):
    day = past_day()
    good = receipt("POS-1-001", f"{day}T14:05:00+01:00")
    bad_qty = receipt("POS-1-002", f"{day}T15:00:00+01:00")
    bad_qty["lines"][0]["quantity"] = "one"
    naive = receipt("POS-1-003", f"{day}T15:00:00")
    (tmp_path / f"STO-SE-01_{day}_a.json").write_text(json.dumps([good, bad_qty, naive]))
    (tmp_path / f"STO-SE-01_{day}_b.ndjson").write_text(
        json.dumps(receipt("POS-1-004", f"{day}T16:00:00+01:00")) + "\n{not json\n")
    batch = read_partition(tmp_path, day, "Europe/Stockholm")
    assert [r["receipt_id"] for r in batch.receipts] == ["POS-1-001", "POS-1-004"]
    first = batch.receipts[0]
    assert first["total"] == Decimal("200.00") and first["has_returns"] and first["line_count"] == 2
    assert first["created_at"] == datetime.fromisoformat(f"{day}T13:05:00+00:00")
    reasons = {r["receipt_id"]: r["reason"] for r in batch.rejects}
    assert "lines[0].quantity 'one' is not a non-zero integer" in reasons["POS-1-002"]
    assert "has no UTC offset" in reasons["POS-1-003"]
    assert any("line 2: line is not valid JSON" in f"{r['location']}: {r['reason']}" for r in batch.rejects)


def test_csv_groups_lines_and_a_bad_row_rejects_only_its_receipt(tmp_path):
    day = past_day()
    t = f"{day}T10:00:00+01:00"
    lines = [CSV_HEADER,
             csv_row("POS-2-001", t, "1", 1, "200.00", "299.00"),
             csv_row("POS-2-001", t, "2", 1, "99.00", "299.00"),
             csv_row("POS-2-002", t, "1", "x", "50.00", "50.00", payments="card:50.00"),
             csv_row("POS-2-003", t, "1", 1, "50.00", "50.00", payments="card:50.00").rsplit(",", 2)[0],  # short
             csv_row("POS-2-004", t, "1", 1, "50.00", "60.00", payments="card:60.00")]  # totals disagree
    path = tmp_path / f"STO-SE-02_{day}_x.csv"
    path.write_text("\n".join(lines) + "\n")
    batch = parse_pos_file(path, "UTC")
    assert [r["receipt_id"] for r in batch.receipts] == ["POS-2-001"]
    ok = batch.receipts[0]
    assert [li["line_id"] for li in ok["lines"]] == ["1", "2"]
    assert ok["payments"][1] == {"method": "giftcard", "amount": Decimal("99.00"), "reference": "GC-1"}
    raw = json.loads(ok["raw"])  # the JSON shape of the schema, whatever the file format
    assert raw["lines"][0]["quantity"] == 1 and raw["payments"][1]["reference"] == "GC-1"
    assert raw["customer"]["member_number"] == "M1" and raw["customer"]["phone"] is None
    reasons = {r["receipt_id"]: r["reason"] for r in batch.rejects}
    assert "quantity 'x'" in reasons["POS-2-002"]
    assert "fields, expected 21" in reasons["POS-2-003"]
    assert "line totals add up to 50.00, not the receipt total 60.00" in reasons["POS-2-004"]


def test_pos_asset_loads_good_receipts_and_rejects_the_rest(tmp_path, monkeypatch, resources):
    from voyado_sync.defs.commercetools import assets as ct_assets

    day = past_day()
    drop = tmp_path / "drop"
    drop.mkdir()
    monkeypatch.setenv("VOYADO_SYNC_POS_DROP", str(drop))
    bad = receipt("POS-3-002", f"{day}T12:00:00+00:00", currency="ZZZ")
    (drop / f"STO-SE-01_{day}_1.json").write_text(json.dumps([receipt("POS-3-001", f"{day}T12:00:00+00:00"), bad]))
    (drop / f"STO-SE-01_{day}_copy.json").write_text(json.dumps([receipt("POS-3-001", f"{day}T12:00:00+00:00")]))
    result = dg.materialize([ct_assets.pos_receipts], partition_key=day, resources=resources,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    m = {k: v.value for k, v in result.asset_materializations_for_node("pos__receipts")[0].metadata.items()}
    assert m["rows"] == 1 and m["rejects"] == 1 and m["duplicates"] == 1
    assert "070" not in m["preview"]  # no phone numbers in metadata
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"no_rejects": False, "unique_ids": True}
    store = resources["partition_store"].store()
    assert list(store.read("pos/receipts", [day])["receipt_id"]) == ["POS-3-001"]
    assert "currency 'ZZZ'" in store.read("pos/receipts_rejects", [day]).iloc[0]["reason"]


def test_partition_is_the_local_date_not_the_file_name(tmp_path):
    day = past_day()
    late = receipt("POS-4-001", f"{day}T23:30:00-02:00")  # next day in UTC
    (tmp_path / f"STO-SE-01_{day}_z.json").write_text(json.dumps([late]))
    nxt = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    assert not read_partition(tmp_path, day, "UTC").receipts
    assert [r["receipt_id"] for r in read_partition(tmp_path, nxt, "UTC").receipts] == ["POS-4-001"]


def test_exact_count_splits_until_under_the_cap():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    stamps = [start + timedelta(seconds=i * 3.1) for i in range(25_000)]
    calls = []

    def count(w: Window) -> int:
        calls.append(w)
        return min(10_000, sum(1 for s in stamps if w.contains(s)))

    subs = exact_count(Window(start, start + timedelta(days=1)), count)
    assert sum(s.count for s in subs) == 25_000
    assert all(s.count < 10_000 for s in subs)
    assert subs[0].window.start == start and subs[-1].window.end == start + timedelta(days=1)
    assert all(a.window.end == b.window.start for a, b in zip(subs, subs[1:]))  # no gap, no overlap
    assert len(calls) < 12
    calls.clear()
    guided = exact_count(Window(start, start + timedelta(days=1)), count, cuts=quantile_cuts(stamps, 9_000))
    assert sum(s.count for s in guided) == 25_000 and len(calls) == 3  # one count per sub-window, no halving


def test_partition_window_cuts_the_open_day_and_keeps_closed_days():
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    closed = partition_window(day, day + timedelta(days=1), day + timedelta(days=3), timedelta(minutes=5))
    assert closed.predicate() == 'lastModifiedAt >= "2026-03-01T00:00:00.000Z" and lastModifiedAt < ' \
                                 '"2026-03-02T00:00:00.000Z"'
    now = day + timedelta(hours=10, microseconds=1234)
    open_ = partition_window(day, day + timedelta(days=1), now, timedelta(minutes=5))
    assert open_.end == day + timedelta(hours=9, minutes=55, microseconds=1000)
    assert partition_window(day, day + timedelta(days=1), day + timedelta(minutes=1), timedelta(minutes=5)).empty
    assert partition_key_of(datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc), "Europe/Stockholm") == "2026-03-02"


def test_bad_configuration_fails_fast_with_one_message(monkeypatch):
    with pytest.raises(ConfigError, match="unknown Commercetools dataset 'ordres'; known: customers, orders"):
        datasets.select_datasets("customers,ordres")
    monkeypatch.setenv("VOYADO_SYNC_START_DATE", (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat())
    with pytest.raises(ConfigError, match="is after today"):
        get_settings()
    monkeypatch.delenv("VOYADO_SYNC_START_DATE")
    monkeypatch.setenv("VOYADO_SYNC_CT_DATASETS", "orders,bogus")
    import voyado_sync.defs.commercetools.assets as assets
    import voyado_sync.defs.commercetools.schedules as schedules

    with pytest.raises(ConfigError, match="unknown Commercetools dataset 'bogus'"):
        importlib.reload(assets)
    monkeypatch.setenv("VOYADO_SYNC_CT_DATASETS", "orders")
    monkeypatch.setenv("VOYADO_SYNC_RECONCILE_DAYS", "0")
    for module in (assets, schedules):
        with pytest.raises(ConfigError, match="RECONCILE_DAYS=0"):
            importlib.reload(module)
    monkeypatch.delenv("VOYADO_SYNC_CT_DATASETS")
    monkeypatch.delenv("VOYADO_SYNC_RECONCILE_DAYS")
    importlib.reload(assets)
    importlib.reload(schedules)
    assert len(assets.ENABLED) == len(datasets.DATASETS)


def test_schedules_target_the_closed_day_and_the_last_n_days():
    from voyado_sync.defs.commercetools import schedules

    now = datetime.now(timezone.utc)
    keys = schedules.reconciliation_keys(now, 7)
    assert len(keys) == 7 and keys[-1] == (now.date() - timedelta(days=1)).isoformat()
    with dg.build_schedule_context(scheduled_execution_time=now) as ctx:
        requests = schedules.commercetools_reconciliation(ctx)
    assert [r.partition_key for r in requests] == schedules.reconciliation_keys(now, get_settings().reconcile_days)
    assert all(r.tags["voyado_sync/trigger"] == "reconciliation" for r in requests)
    assert schedules.commercetools_daily_schedule.cron_schedule == "15 0 * * *"  # closed day + 5 min lag + slack
    at = datetime(2026, 3, 2, 0, 15, tzinfo=timezone.utc)
    with dg.build_schedule_context(scheduled_execution_time=at) as ctx:
        daily = schedules.commercetools_daily_schedule(ctx)
    assert daily.partition_key == "2026-03-01" and daily.run_key == "daily:2026-03-01"
    assert schedules.closed_day_key(at, "America/New_York") == "2026-02-28"  # still the 1st there
