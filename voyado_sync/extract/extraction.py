"""Extract one window of one dataset into a Parquet partition, and verify it against the API.

Pages stream from the id-cursor iterator straight into a Parquet writer (one row group per page), so memory
stays at two pages whatever the window size: while one page is flattened and written, the next one is
fetched (`read_ahead`: one page ahead, never more, by the same iterator, so the requests are exactly those
of reading page after page). The client is anything with ``iter_pages``/``count`` (the
`CommercetoolsClient`); nothing here knows about Dagster."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from voyado_sync.extract.datasets import Dataset
from voyado_sync.extract.flatten import REJECT_SCHEMA, flatten_page
from voyado_sync.extract.windows import TOTAL_CAP, Window, exact_count, quantile_cuts
from voyado_sync.money import is_known_currency
from voyado_sync.storage import PartitionStore

# Columns that may hold personal data never go into the preview shown in the Dagster UI.
PII_COLUMNS = frozenset({"email", "first_name", "last_name", "phone", "mobile", "address_phones", "customer_email",
                         "date_of_birth", "company_name", "member_number", "card_id", "raw", "custom_fields",
                         "line_items", "payments", "lines", "prices", "availability", "images", "transactions",
                         "return_items", "anonymous_id"})
PREVIEW_ROWS = 5
T = TypeVar("T")


class PagingClient(Protocol):
    def iter_pages(self, resource: str, where: Any = ..., expand: Any = ..., page_size: int = ...) -> Any: ...

    def count(self, resource: str, where: Any = ...) -> int: ...


@dataclass
class Extracted:
    rows: int = 0
    rejects: int = 0
    pages: int = 0
    min_last_modified: datetime | None = None
    max_last_modified: datetime | None = None
    preview: list[dict[str, Any]] = field(default_factory=list)
    reject_reasons: Counter = field(default_factory=Counter)


def extract_window(client: PagingClient, store: PartitionStore, ds: Dataset, partition_key: str, window: Window,
                   page_size: int = 500) -> Extracted:
    """Write ``ds`` documents of ``window`` to ``<ds>/<key>.parquet`` and rejects to ``<ds>_rejects``.

    Both files are replaced atomically; an empty window still writes (empty) files so a rerun of a day
    whose documents all moved away does not leave yesterday's rows behind."""
    out = Extracted()
    with store.writer(ds.storage_name, partition_key, ds.schema) as rows_w, \
            store.writer(ds.rejects_name, partition_key, REJECT_SCHEMA) as rej_w:
        pages = () if window.empty else read_ahead(client.iter_pages(
            ds.resource, where=[window.predicate()], expand=list(ds.expand), page_size=page_size))
        for docs in pages:
            out.pages += 1
            flat = flatten_page(ds, docs)
            if flat.rows.num_rows:
                rows_w.write_table(flat.rows)
                out.rows += flat.rows.num_rows
                _track_range(out, flat.rows)
                if len(out.preview) < PREVIEW_ROWS:
                    out.preview += _preview(flat.rows, PREVIEW_ROWS - len(out.preview))
            if flat.rejects.num_rows:
                rej_w.write_table(flat.rejects)
                out.rejects += flat.rejects.num_rows
                out.reject_reasons.update(r.split(":")[0] for r in flat.rejects.column("reason").to_pylist())
    return out


class _Done:
    """The producer's last word: the iterator ended, or raised ``error``."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(pages: Iterable[T]) -> Iterator[T]:
    """``pages`` in order, the next one fetched on a thread while the caller works on the current one.

    At most one page ahead: the thread asks for page k+1 only once the caller has taken page k, so the
    requests (and the rate they are sent at) are those of the plain loop, merely overlapped with the
    caller's CPU work. An error of the iterator is raised here, after the pages before it; a caller that
    stops early (an exception, ``close``) stops the thread before it asks for another page."""
    handoff: list[Any] = []
    ready = threading.Semaphore(0)  # a page (or the end) is in ``handoff``
    wanted = threading.Semaphore(1)  # the caller took the last one: fetch the next
    stop = threading.Event()

    def produce() -> None:
        it = iter(pages)
        try:
            while True:
                wanted.acquire()
                if stop.is_set():
                    return
                try:
                    item: Any = next(it)
                except StopIteration:
                    item = _Done()
                except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
                    item = _Done(exc)
                handoff.append(item)
                ready.release()
                if isinstance(item, _Done):
                    return
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ready.acquire()
            item = handoff.pop()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            wanted.release()  # fetch the next page while the caller works on this one
            yield item
    finally:
        stop.set()
        wanted.release()
        thread.join()


def _track_range(out: Extracted, table: pa.Table) -> None:
    col = table.column("last_modified_at")
    lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
    if lo is not None:
        out.min_last_modified = lo if out.min_last_modified is None else min(out.min_last_modified, lo)
        out.max_last_modified = hi if out.max_last_modified is None else max(out.max_last_modified, hi)


def _preview(table: pa.Table, n: int) -> list[dict[str, Any]]:
    cols = [c for c in table.column_names if c not in PII_COLUMNS][:8]
    return table.select(cols).slice(0, n).to_pylist()


# --- quality facts read back from the written partition ------------------------------------------------
@dataclass
class Quality:
    rows: int
    duplicate_ids: list[str]
    line_items_missing_sku: int
    orders_missing_sku: list[str]
    unknown_currencies: list[str]
    rejects: int


def partition_quality(store: PartitionStore, ds: Dataset, partition_key: str) -> Quality:
    cols = ["id"] + (["missing_sku_count"] if ds.has_line_items else []) + (["currencies"] if ds.has_money else [])
    table = pq.read_table(store.path(ds.storage_name, partition_key), columns=cols)
    ids = table.column("id").to_pylist()
    dupes = sorted(k for k, v in Counter(ids).items() if v > 1)
    missing, missing_ids = 0, []
    if ds.has_line_items:
        counts = table.column("missing_sku_count").to_pylist()
        missing = sum(c or 0 for c in counts)
        missing_ids = [i for i, c in zip(ids, counts) if c][:20]
    unknown: set[str] = set()
    if ds.has_money:
        for cur_list in table.column("currencies").to_pylist():
            unknown.update(c for c in cur_list or [] if not is_known_currency(c))
    rejects = pq.read_metadata(store.path(ds.rejects_name, partition_key)).num_rows
    return Quality(len(ids), dupes[:20], missing, missing_ids, sorted(unknown), rejects)


@dataclass
class Completeness:
    passed: bool
    api_count: int
    stored: int
    subwindows: int
    missing_ids: list[str] = field(default_factory=list)
    moved_out: int = 0
    id_scan: bool = False


def verify_completeness(client: PagingClient, store: PartitionStore, ds: Dataset, partition_key: str,
                        window: Window) -> Completeness:
    """Parquet (rows + rejects) against what the API reports for the window, counted exactly through
    sub-windows under the 10 000 cap. On a mismatch, compare ids: documents the API still has in the window
    but we lack are a failure; documents we have that left the window (modified while we read, so they
    belong to a later window now) are expected and reported as ``moved_out``."""
    stored = pq.read_table(store.path(ds.storage_name, partition_key), columns=["id", "last_modified_at"])
    stored_ids = set(stored.column("id").to_pylist())
    stored_ids.update(i for i in pq.read_table(store.path(ds.rejects_name, partition_key), columns=["id"])
                      .column("id").to_pylist() if i)
    # Cut where our own rows say ~9 000 documents sit, so most sub-windows are counted once, under the cap.
    cuts = quantile_cuts([t for t in stored.column("last_modified_at").to_pylist() if t is not None],
                         int(TOTAL_CAP * 0.9))
    subs = exact_count(window, lambda w: client.count(ds.resource, where=[w.predicate()]), cuts=cuts)
    api_count = sum(s.count for s in subs)
    if api_count == len(stored_ids):
        return Completeness(True, api_count, len(stored_ids), len(subs))
    api_ids = {d.get("id") for page in client.iter_pages(ds.resource, where=[window.predicate()]) for d in page}
    missing = sorted(i for i in api_ids - stored_ids if i)
    return Completeness(not missing, api_count, len(stored_ids), len(subs), missing[:20],
                        len(stored_ids - api_ids), id_scan=True)
