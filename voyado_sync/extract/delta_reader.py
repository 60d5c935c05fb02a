"""Reads the delta cursor forward: which (partition, dataset) pairs changed since the last tick.

Plain functions over a Commercetools client and a `DeltaCursor` (no Dagster): the delta sensor loads its
cursor, calls `read_changes`, and turns the changes into run requests. How the cursor and the changes
are shaped is `voyado_sync.extract.delta`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from voyado_sync.clients.commercetools import CommercetoolsClient
from voyado_sync.clients.http import AuthError
from voyado_sync.extract import delta
from voyado_sync.extract.datasets import Dataset
from voyado_sync.timestamps import iso_ms, parse_ts

MAX_PAGES_PER_TICK = 20  # bounds one tick; the cursor keeps the rest for the next
# Watermark mode re-reads the project's messages switch this rarely; staying in watermark mode a little
# longer than needed costs requests, never changes (the watermarks are complete on their own).
RECHECK_WATERMARK_MODE = timedelta(hours=1)


@dataclass
class DeltaRead:
    mode: str  # how this tick read: "messages" or "watermark"
    changes: delta.Changes
    own_skipped: int  # changes made by our own API client (the write-backs), not reported


def read_changes(client: CommercetoolsClient, cursor: delta.DeltaCursor, datasets: list[Dataset],
                 mode_setting: str, overlap: timedelta, tz: str, now: datetime) -> DeltaRead:
    """Advance ``cursor`` (in place) past the changes visible now. ``mode_setting`` is auto, messages or
    watermark; ``overlap`` is the safety lag re-read before each mark; partitions are days in ``tz``.

    An `ApiError` leaves the cursor half advanced: the caller keeps the one it had, so the next tick
    reads the same range again and nothing is skipped."""
    own = client.client_id
    mode = delta_mode(client, cursor, mode_setting, now)
    changes: delta.Changes = {}
    skipped = 0
    if mode == "messages":
        skipped += _read_messages(client, cursor, datasets, own, tz, changes, overlap)
        _carry_watermarks(client, cursor, datasets, overlap)
    for ds in datasets:
        if mode == "watermark" or ds.delta == "watermark":
            skipped += _read_watermark(client, ds, cursor, own, tz, changes, overlap)
    if mode == "watermark":
        cursor.messages = None
    cursor.mode = mode
    return DeltaRead(mode, changes, skipped)


def messages_enabled(client: CommercetoolsClient) -> bool | None:
    """The project's messages switch; None when this client may not read project settings."""
    try:
        project = client.project()
    except AuthError as exc:
        if exc.status == 403:
            return None
        raise
    settings = project.get("messages") if isinstance(project, dict) else None
    return bool(settings.get("enabled")) if isinstance(settings, dict) else None


def delta_mode(client: CommercetoolsClient, cursor: delta.DeltaCursor, setting: str, now: datetime) -> str:
    if setting != "auto":
        return setting
    if cursor.mode == "watermark" and cursor.checked_at and \
            now - datetime.fromisoformat(cursor.checked_at) < RECHECK_WATERMARK_MODE:
        return "watermark"
    cursor.checked_at = now.isoformat()
    # Without proof that messages are on, poll watermarks: a project with messages off answers an empty list.
    return "messages" if messages_enabled(client) else "watermark"


def _read_messages(client: CommercetoolsClient, cursor: delta.DeltaCursor, datasets: list[Dataset], own: str,
                   tz: str, changes: delta.Changes, overlap: timedelta) -> int:
    """Advance the messages cursor; returns our own skipped write-backs (see `_read_overlapping`)."""
    if cursor.messages is None:
        marks = [cursor.watermarks[ds.name] for ds in datasets if ds.delta == "messages" and ds.name in cursor.watermarks]
        if marks:  # back from watermark mode: those watermarks already cover everything before them
            cursor.messages = delta.Mark(min(m.at for m in marks), "")
        else:  # first tick: start at the newest message; history is the daily schedule's job
            latest = client.messages(sort=["createdAt desc", "id desc"], limit=1)["results"]
            # no message yet: every future one is news
            cursor.messages = delta.mark_of(latest[0] if latest else None, "createdAt")
            if latest:  # the window before it is history too: remember it as handled
                where, variables = delta.after_predicate("createdAt", _before(cursor.messages, overlap))
                cursor.recent = [delta.mark_of(m, "createdAt")
                                 for m in client.messages(where=[where], vars=variables)["results"]]
            return 0

    def page(after: delta.Mark) -> list[dict[str, Any]]:
        where, variables = delta.after_predicate("createdAt", after)
        return client.messages(where=[where], vars=variables)["results"]

    def handle(docs: list[dict[str, Any]]) -> int:
        found, own_skipped = delta.changes_from_messages(docs, own, tz)
        delta.merge(changes, found)
        return own_skipped

    cursor.messages, cursor.recent, skipped = _read_overlapping(page, handle, "createdAt", cursor.messages,
                                                                cursor.recent, overlap)
    return skipped


def _read_overlapping(page: Callable[[delta.Mark], list[dict[str, Any]]], handle: Callable[[list[dict[str, Any]]], int],
                      field_name: str, mark: delta.Mark, recent: list[delta.Mark],
                      overlap: timedelta) -> tuple[delta.Mark, list[delta.Mark], int]:
    """Read everything after ``mark`` minus ``overlap`` (pages sorted by ``field_name``, id) and hand on
    what ``recent`` does not hold yet; returns the new mark, the new ``recent`` and what ``handle`` counted.

    The Messages API and lastModifiedAt are eventually consistent (the delay is not documented): a change
    can become visible after newer ones were read. Re-reading the extraction's safety lag before the
    cursor finds it; remembering the (timestamp, id) pairs handled in that window keeps it to once."""
    seen = {(m.at, m.id) for m in recent}
    handled = list(recent)
    page_mark = _before(mark, overlap)
    counted = pages_past_mark = 0
    while pages_past_mark < MAX_PAGES_PER_TICK:
        docs = page(page_mark)
        fresh = [d for d in docs if (d.get(field_name), d.get("id")) not in seen]
        counted += handle(fresh)
        for d in fresh:
            if isinstance(d.get(field_name), str) and isinstance(d.get("id"), str):
                seen.add((d[field_name], d["id"]))
                handled.append(delta.Mark(d[field_name], d["id"]))
        if docs:
            page_mark = delta.mark_of(docs[-1], field_name)
            if page_mark.as_list() > mark.as_list():
                pages_past_mark += 1
        if len(docs) < 500:
            break
    new_mark = max(mark, page_mark, key=lambda m: m.as_list())
    floor = _before(new_mark, overlap).at
    return new_mark, sorted((m for m in handled if m.at >= floor), key=lambda m: m.as_list()), counted


def _before(mark: delta.Mark, overlap: timedelta) -> delta.Mark:
    return delta.Mark(iso_ms(parse_ts(mark.at) - overlap), "") if mark.at != delta.EPOCH else mark


def _latest_mark(client: CommercetoolsClient, ds: Dataset) -> delta.Mark:
    latest = client.query(ds.resource, sort=["lastModifiedAt desc", "id desc"], limit=1, with_total=False)["results"]
    return delta.mark_of(latest[0] if latest else None, "lastModifiedAt")


def _start_watermark(client: CommercetoolsClient, ds: Dataset, cursor: delta.DeltaCursor, overlap: timedelta) -> None:
    """First sight of a dataset: start at its newest document, the window before it counting as handled
    (history is the daily schedule's job)."""
    mark = cursor.watermarks[ds.name] = _latest_mark(client, ds)
    cursor.recent_docs.pop(ds.name, None)
    if mark.at != delta.EPOCH:
        where, variables = delta.after_predicate("lastModifiedAt", _before(mark, overlap))
        docs = client.query(ds.resource, where=[where], vars=variables, sort=["lastModifiedAt asc", "id asc"],
                            limit=500, with_total=False)["results"]
        cursor.recent_docs[ds.name] = [delta.mark_of(d, "lastModifiedAt") for d in docs]


def _read_watermark(client: CommercetoolsClient, ds: Dataset, cursor: delta.DeltaCursor, own: str, tz: str,
                    changes: delta.Changes, overlap: timedelta) -> int:
    mark = cursor.watermarks.get(ds.name)
    if mark is None:
        _start_watermark(client, ds, cursor, overlap)
        return 0

    def page(after: delta.Mark) -> list[dict[str, Any]]:
        where, variables = delta.after_predicate("lastModifiedAt", after)
        return client.query(ds.resource, where=[where], vars=variables, sort=["lastModifiedAt asc", "id asc"],
                            limit=500, with_total=False)["results"]

    def handle(docs: list[dict[str, Any]]) -> int:
        found, own_skipped = delta.changes_from_documents(ds.name, docs, own, tz)
        delta.merge(changes, found)
        return own_skipped

    cursor.watermarks[ds.name], recent, skipped = _read_overlapping(
        page, handle, "lastModifiedAt", mark, cursor.recent_docs.get(ds.name, []), overlap)
    if recent:
        cursor.recent_docs[ds.name] = recent
    else:
        cursor.recent_docs.pop(ds.name, None)
    return skipped


def _carry_watermarks(client: CommercetoolsClient, cursor: delta.DeltaCursor, datasets: list[Dataset],
                      overlap: timedelta) -> None:
    """In messages mode, keep a watermark per message-driven dataset at the messages cursor, so a fall back to
    polling (messages switched off) resumes exactly there instead of re-reading history."""
    for ds in datasets:
        if ds.delta != "messages":
            continue
        mark = cursor.watermarks.get(ds.name)
        if mark is None:
            _start_watermark(client, ds, cursor, overlap)
        elif cursor.messages is not None and cursor.messages.at != delta.EPOCH and mark.at < cursor.messages.at:
            # On a fall back the window before this mark is read again: changes the messages already
            # reported may be requested once more (runs are idempotent); none is lost.
            cursor.watermarks[ds.name] = delta.Mark(cursor.messages.at, "")
            cursor.recent_docs.pop(ds.name, None)
