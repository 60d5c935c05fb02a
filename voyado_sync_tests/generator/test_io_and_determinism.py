"""Determinism, write/read round trip, streaming, CLI and config validation."""

from __future__ import annotations

import hashlib
import itertools
import json
import types
from pathlib import Path

import pandas as pd
import pytest

from voyado_sync.sandbox.generator import (
    Dataset, GeneratorConfig, check_order_money, cli, generate, iter_orders, read_dataset, write_dataset)
from voyado_sync.sandbox.generator.dataset import CT_FILES

from .support import ANCHOR

SMALL = dict(persons=60, orders=120, pos_receipts=40, products=8, anchor_date=ANCHOR)
LISTS = [*CT_FILES, "pos_receipts", "voyado_contacts", "persons"]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_different_seed_different_data(tmp_path):
    a = write_dataset(generate(GeneratorConfig(seed=3, **SMALL)), tmp_path / "a")
    b = write_dataset(generate(GeneratorConfig(seed=3, **SMALL)), tmp_path / "b")
    c = write_dataset(generate(GeneratorConfig(seed=4, **SMALL)), tmp_path / "c")
    assert _digest(a) == _digest(b)
    da, dc = _digest(a), _digest(c)
    for name in ("customers.ndjson", "orders.ndjson", "voyado_contacts.ndjson", "ground_truth.csv"):
        assert da[name] != dc[name]


def test_streams_are_independent_of_other_counts():
    """More orders must not reshuffle the people or the catalog (named random streams)."""
    small = generate(GeneratorConfig(seed=5, **SMALL))
    more = generate(GeneratorConfig(seed=5, **{**SMALL, "orders": 200, "pos_receipts": 10}))
    assert small.customers == more.customers and small.products == more.products
    assert small.voyado_contacts == more.voyado_contacts
    assert more.orders[:len(small.orders)] == small.orders


def test_write_read_round_trip(tmp_path):
    ds = generate(GeneratorConfig(seed=9, **SMALL))
    out = write_dataset(ds, tmp_path / "ds")
    for name in CT_FILES.values():
        assert (out / f"{name}.ndjson").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["seed"] == 9 and manifest["config"]["anchor_date"] == "2026-11-26"
    assert manifest["counts"]["orders"] == len(ds.orders) and manifest["counts"]["pos_receipts"] == len(ds.pos_receipts)
    back = read_dataset(out)
    assert isinstance(back, Dataset) and back.config == ds.config
    for attr in LISTS:
        assert getattr(back, attr) == getattr(ds, attr), attr
    pd.testing.assert_frame_equal(back.ground_truth.reset_index(drop=True), ds.ground_truth.reset_index(drop=True),
                                  check_dtype=False)
    # Writing again into the same folder replaces (no stale POS files from a bigger run).
    write_dataset(generate(GeneratorConfig(seed=9, **{**SMALL, "pos_receipts": 5})), out)
    assert len(read_dataset(out).pos_receipts) == 5


def test_read_dataset_rejects_a_folder_that_is_not_a_dataset(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        read_dataset(tmp_path)
    write_dataset(generate(GeneratorConfig(seed=9, **SMALL)), tmp_path)
    with (tmp_path / "orders.ndjson").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(ValueError, match="orders.ndjson"):
        read_dataset(tmp_path)


def test_iter_orders_streams_the_same_orders_as_generate():
    cfg = GeneratorConfig(seed=11, **SMALL)
    it = iter_orders(cfg, 5000)
    assert isinstance(it, types.GeneratorType)
    first = list(itertools.islice(it, cfg.orders))
    assert first == generate(cfg).orders
    rest = list(itertools.islice(it, 2000))  # keeps going past cfg.orders, lazily
    assert len(rest) == 2000 and all(check_order_money(o) == [] for o in rest[::50])
    assert len({o["id"] for o in first + rest}) == len(first) + len(rest)
    order, person_id = next(iter_orders(cfg, 1, with_truth=True))
    assert order == first[0] and person_id.startswith("P")


def test_cli_writes_a_dataset(tmp_path, capsys):
    rc = cli(["--out", str(tmp_path / "cli"), "--seed", "2", "--persons", "40", "--orders", "30", "--days", "2",
              "--anchor-date", "2026-11-26", "--pos-receipts", "12"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["orders"] == 30 and summary["pos_receipts"] == 12
    ds = read_dataset(tmp_path / "cli")
    assert ds.config.days == 2 and len(ds.orders) == 30
    assert min(o["createdAt"] for o in ds.orders) >= "2026-11-25T00:00:00.000Z"


@pytest.mark.parametrize("argv", [["--out", "x", "--persons", "-5"], ["--out", "x", "--anchor-date", "26/11/2026"],
                                  ["--out", "x", "--days", "0"], ["--seed", "1"]])
def test_cli_rejects_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [({"persons": 3}, "persons"), ({"guest_share": 1.5}, "guest_share"),
                                             ({"days": 0}, "days"), ({"orders": -1}, "orders")])
def test_bad_config_is_a_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**kwargs)


def test_default_anchor_is_yesterday_and_window_ends_on_it():
    from datetime import datetime, timedelta, timezone

    before = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    cfg = GeneratorConfig()
    after = (datetime.now(timezone.utc) - timedelta(days=1)).date()
    assert cfg.anchor_date in (before, after)  # robust across midnight
    assert cfg.window_end.date() == cfg.anchor_date
    assert (cfg.window_end - cfg.window_start) < timedelta(days=cfg.days)


def test_generated_documents_are_independent():
    """Mutating one order of a dataset (as a bad-input test would) must not leak into another document."""
    ds = generate(GeneratorConfig(seed=12, **SMALL))
    sku = ds.orders[0]["lineItems"][0]["variant"]["sku"]
    twins = [o for o in ds.orders[1:] if any(li["variant"]["sku"] == sku for li in o["lineItems"])]
    ds.orders[0]["lineItems"][0]["variant"]["sku"] = None
    ds.orders[0]["lineItems"][0]["price"]["value"]["centAmount"] = -1
    ds.orders[0]["lineItems"][0]["state"][0]["state"]["id"] = "changed"
    assert all(li["variant"]["sku"] is not None for o in ds.orders[1:] for li in o["lineItems"])
    assert all(li["price"]["value"]["centAmount"] >= 0 for o in ds.orders[1:] for li in o["lineItems"])
    assert all(li["state"][0]["state"]["id"] != "changed" for o in ds.orders[1:] for li in o["lineItems"])
    assert all(p["value"]["centAmount"] >= 0 for pr in ds.products for v in [pr["masterVariant"], *pr["variants"]]
               for p in v["prices"])
    assert twins or len(ds.orders) < 5
