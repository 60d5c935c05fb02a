"""Extraction fetches the next page while it flattens and writes the last (`extraction.read_ahead`): one
page ahead at most, the same requests as page after page, nothing lost or read twice, faults included."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from voyado_sync.extract.datasets import DATASETS
from voyado_sync.extract.extraction import extract_window, read_ahead
from voyado_sync.extract.windows import Window
from voyado_sync.sandbox.http import FaultRule
from voyado_sync.storage import PartitionStore

from .support import PROJECT, api_requests, make_orders, past_day


class Pages:
    """An iterator that records how far it was asked, and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.n, self.fail_at, self.delay = n, fail_at, delay
        self.fetched = 0
        self.closed = False

    def __iter__(self):
        try:
            for i in range(self.n):
                time.sleep(self.delay)
                if i == self.fail_at:
                    raise RuntimeError(f"page {i} failed")
                self.fetched += 1
                yield [i]
        finally:
            self.closed = True


def test_pages_come_in_order_with_at_most_one_ahead():
    pages = Pages(30, delay=0.001)
    seen = []
    for page in read_ahead(pages):
        time.sleep(0.002)  # the caller's work: the next page is fetched meanwhile
        assert pages.fetched <= len(seen) + 2  # this page, and at most the next one
        seen.append(page)
    assert seen == [[i] for i in range(30)] and pages.closed


def test_an_error_is_raised_after_the_pages_before_it():
    pages = Pages(10, fail_at=4)
    seen = []
    with pytest.raises(RuntimeError, match="page 4 failed"):
        for page in read_ahead(pages):
            seen.append(page)
    assert seen == [[0], [1], [2], [3]] and pages.closed


def test_a_caller_that_stops_stops_the_fetching():
    pages = Pages(100, delay=0.001)
    it = read_ahead(pages)
    assert [next(it) for _ in range(3)] == [[0], [1], [2]]
    it.close()
    assert pages.closed and pages.fetched <= 4
    assert not any(t.name == "read-ahead" for t in threading.enumerate())


def test_extraction_under_faults_reads_every_page_once_and_loses_nothing(ct, client, tmp_path):
    app, _ = ct
    day = past_day()
    docs = app.put("orders", make_orders(day, 2100))
    app.faults.configure(seed=5, rules=[FaultRule(
        pattern=f"GET /{PROJECT}/orders", retry_after=0.01,
        probabilities={"429": 0.1, "502": 0.05, "503": 0.1, "504": 0.05, "reset": 0.05, "truncate": 0.05})])
    start = datetime.fromisoformat(f"{day}T00:00:00+00:00")
    store = PartitionStore(tmp_path)
    ds = DATASETS["orders"]
    out = extract_window(client, store, ds, day, Window(start, start + timedelta(days=1)), page_size=100)
    ids = pq.read_table(store.path(ds.storage_name, day), columns=["id"]).column("id").to_pylist()
    assert out.rows == 2100 and out.pages == 21 and sorted(ids) == sorted(d["id"] for d in docs)
    assert len(set(ids)) == len(ids)
    answered = [r for r in api_requests(app, "/orders") if r.status == 200 and not r.fault]
    cursors = [r.query.get("var.lastId", [""])[0] for r in answered]
    # 21 full pages and the empty end, each answered once, the cursor strictly increasing: no page twice.
    assert len(answered) == 22 and cursors == sorted(set(cursors))
    assert sum(app.faults.injected.values()) > 0
