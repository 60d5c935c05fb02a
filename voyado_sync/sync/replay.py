"""Replay dead letters after a fix: re-send them through the same engine (ledger, budget, retries).

Which payload is sent: the *current* one from the payload dataset the item came from (so a mapping fix
re-materialized upstream is what goes out), else the payload stored with the dead letter (kept only when
it holds nothing sensitive, see `voyado_sync.sync.dead_letters`). A row with neither stays open with
reason ``payload_unavailable``. A row leaves the dead letters only when the re-send succeeds.

Payload datasets follow one convention so replay can find an item: a Parquet partition in the
`PartitionStore` with a ``key`` column and a ``payload`` column holding the JSON text.

Triggers whose outcome is unknown are left alone unless ``include_unknown`` is set (an operator checked
Engage and found they did not fire); ones that did fire are closed with `dismiss`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from voyado_sync.clients.http import DEFAULT_RETRY, RetryPolicy
from voyado_sync import jsonutil
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync.endpoints import NOT_REPLAYABLE
from voyado_sync.sync.engine import Endpoint, SyncAborted, SyncEngine
from voyado_sync.sync.models import SyncItem
from voyado_sync.sync.rate_budget import RateBudget

PayloadSource = Callable[[dlq.DeadLetter], Any]
Target = Callable[[str], "tuple[Endpoint, RateBudget]"]
log = logging.getLogger("voyado_sync.sync.replay")
UNKNOWN_REASON = "outcome_unknown"


def partition_store_source(store: Any) -> PayloadSource:
    """Look a dead letter's current payload up in its payload dataset (``key`` + JSON ``payload`` columns)."""
    cache: dict[tuple[str, str], dict[str, Any]] = {}

    def load(dl: dlq.DeadLetter) -> Any:
        if not dl.source or not dl.partition:
            return None
        ck = (dl.source, dl.partition)
        if ck not in cache:
            cache[ck] = {}
            if store.exists(dl.source, dl.partition):
                try:
                    frame = store.read(dl.source, [dl.partition], columns=["key", "payload"])
                except Exception as exc:  # a dataset without the convention's columns: payload unavailable
                    log.warning(f"replay: {dl.source}/{dl.partition} has no key/payload columns ({type(exc).__name__})")
                else:
                    cache[ck] = dict(zip(frame["key"].astype(str), frame["payload"]))
        raw = cache[ck].get(dl.key)
        return jsonutil.loads(raw) if isinstance(raw, (str, bytes)) else raw

    return load


@dataclass
class ReplayReport:
    selected: int = 0
    replayed: int = 0
    still_open: int = 0
    payload_unavailable: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # endpoint -> why its rows were not re-sent
    pushes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> dict[str, Any]:
        out = {"selected": self.selected, "replayed": self.replayed, "still_open": self.still_open,
               "payload_unavailable": self.payload_unavailable, "pushes": self.pushes}
        if self.skipped:
            out["skipped"] = dict(sorted(self.skipped.items()))
        if self.error:
            out["error"] = self.error
        return out


def replay_dead_letters(state_engine: sa.Engine, target: Target, *, endpoint: str | None = None,
                        partition: str | None = None, keys: list[str] | None = None, include_unknown: bool = False,
                        payload_source: PayloadSource | None = None, run_id: str | None = None,
                        limit: int | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                        logger: Any = None) -> ReplayReport:
    """Re-send open dead letters (filtered by endpoint / partition / keys) through ``target``: endpoint name
    -> (adapter, the rate budget of its API key). Raises `ValueError` for an endpoint whose dead letters
    are not replayable (`NOT_REPLAYABLE`; without a filter their rows are left open, said in ``skipped``) and
    `SyncAborted` on wrong credentials (after recording what was done)."""
    if endpoint in NOT_REPLAYABLE:
        raise ValueError(NOT_REPLAYABLE[endpoint])
    run_id = run_id or f"replay-{uuid.uuid4().hex[:12]}"
    rows = dlq.list_dead_letters(state_engine, endpoint=endpoint, partition=partition, keys=keys, limit=limit)
    if not include_unknown:
        rows = [r for r in rows if r.reason != UNKNOWN_REASON]
    report = ReplayReport()
    for name, why in NOT_REPLAYABLE.items():
        n = sum(1 for r in rows if r.endpoint == name)
        if n:
            report.skipped[name] = f"{n} left open: {why}"
    rows = [r for r in rows if r.endpoint not in NOT_REPLAYABLE]
    report.selected = len(rows)
    groups: dict[tuple[str, str | None], list[SyncItem]] = {}
    for r in rows:
        payload = payload_source(r) if payload_source else None
        if payload is None:
            payload = r.payload
        if payload is None:
            report.payload_unavailable += 1
            continue
        groups.setdefault((r.endpoint, r.partition), []).append(
            SyncItem(r.key, r.endpoint, payload, r.partition, r.source))
    try:
        for (name, part), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            try:
                adapter, budget = target(name)
            except ValueError as exc:  # e.g. the endpoint's API is not configured where this runs
                report.skipped[name] = f"{len(items)} left open: {exc}"
                continue
            engine = SyncEngine(state_engine, budget, run_id, part, retry=retry, logger=logger)
            pushed = engine.push(items, adapter, resend_unknown=include_unknown)
            report.pushes.append(pushed.summary())
    except SyncAborted as exc:
        report.error = str(exc)
        report.pushes.append(exc.report.summary())
        raise
    finally:
        after = {(r.endpoint, r.key): r.status for r in dlq.list_dead_letters(
            state_engine, endpoint=endpoint, partition=partition, keys=[r.key for r in rows] if rows else [], status=None)}
        for r in rows:
            if after.get((r.endpoint, r.key)) == dlq.OPEN:
                report.still_open += 1
            else:
                report.replayed += 1
    return report


# ---- CLI: `voyado-sync replay-dlq` ---------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="voyado-sync replay-dlq", description=(
        "Re-send open dead letters; a row leaves the dead letters only on success. The API key is read "
        "from VOYADO_API_KEY (Elevate: VOYADO_ELEVATE_API_KEY), never from the command line."))
    p.add_argument("--endpoint", help="only this endpoint (receipts, point_transactions, triggers, ...)")
    p.add_argument("--partition", help="only this partition (YYYY-MM-DD)")
    p.add_argument("--key", action="append", dest="keys", help="only this key (repeatable)")
    p.add_argument("--limit", type=int)
    p.add_argument("--include-unknown", action="store_true",
                   help="also re-send triggers whose outcome is unknown (verified in Engage as not fired)")
    p.add_argument("--list", action="store_true", help="list the matching open dead letters (redacted); send nothing")
    p.add_argument("--dismiss", metavar="RESOLUTION",
                   help="close the matching rows without sending (needs --endpoint and --key)")
    p.add_argument("--state-db", help="SQLAlchemy URL of the state database (default: VOYADO_SYNC_STATE_DB)")
    p.add_argument("--data-dir", help="payload datasets folder (default: VOYADO_SYNC_DATA_DIR)")
    p.add_argument("--engage-url", default=os.environ.get("VOYADO_ENGAGE_URL"))
    p.add_argument("--elevate-url", default=os.environ.get("VOYADO_ELEVATE_URL"))
    p.add_argument("--rate", type=float, default=float(os.environ.get("VOYADO_RATE_LIMIT_PER_SECOND", "40")))
    p.add_argument("--concurrency", type=int, default=int(os.environ.get("VOYADO_MAX_CONCURRENCY", "8")))
    return p


def _print(obj: Any) -> None:
    print(json.dumps(obj, default=str, sort_keys=True))


def cli_replay(argv: list[str]) -> int:
    """Exit codes: 0 nothing left open, 1 some rows still open, 2 bad usage/config or wrong credentials."""
    from voyado_sync.settings import ConfigError, get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.storage import PartitionStore

    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = get_engine(args.state_db or settings.state_db_url)
    if args.list:
        rows = dlq.list_dead_letters(state, endpoint=args.endpoint, partition=args.partition, keys=args.keys,
                                     limit=args.limit)
        for r in rows:
            _print({"endpoint": r.endpoint, "key": r.key, "partition": r.partition, "reason": r.reason,
                    "status_code": r.status_code, "error": r.error, "failures": r.failures,
                    "last_failed_at": r.last_failed_at, "payload": r.redacted_payload})
        _print({"open": len(rows)})
        return 0
    if args.dismiss is not None:
        if not args.endpoint or not args.keys:
            print("error: --dismiss needs --endpoint and at least one --key", file=sys.stderr)
            return 2
        _print({"dismissed": dlq.dismiss(state, args.endpoint, args.keys, args.dismiss)})
        return 0
    if args.endpoint in NOT_REPLAYABLE:
        print(f"error: {NOT_REPLAYABLE[args.endpoint]}", file=sys.stderr)
        return 2
    resources = _resources(args)
    if isinstance(resources, str):
        print(f"error: {resources}", file=sys.stderr)
        return 2
    from voyado_sync.seam import push_target

    try:
        report = replay_dead_letters(
            state, push_target(resources, state), endpoint=args.endpoint, partition=args.partition, keys=args.keys,
            include_unknown=args.include_unknown,
            payload_source=partition_store_source(PartitionStore(args.data_dir or settings.data_dir)),
            limit=args.limit)
    except SyncAborted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for resource in resources.values():
            resource.close()
    _print(report.summary())
    return 0 if report.still_open == 0 and report.payload_unavailable == 0 else 1


def _resources(args: argparse.Namespace):
    """The Voyado resources the CLI can push with, or why it cannot."""
    from voyado_sync.resources.voyado import ElevateResource, EngageResource
    from voyado_sync.sync.endpoints import Api, api_of

    resources = {}
    api_key = os.environ.get("VOYADO_API_KEY", "")
    if args.engage_url and api_key:
        resources[Api.ENGAGE] = EngageResource(base_url=args.engage_url, api_key=api_key,
                                               rate_limit_per_second=args.rate, max_concurrency=args.concurrency)
    elevate_key = os.environ.get("VOYADO_ELEVATE_API_KEY", "")
    if args.elevate_url and elevate_key:
        resources[Api.ELEVATE] = ElevateResource(base_url=args.elevate_url, api_key=elevate_key)
    wanted = api_of(args.endpoint) if args.endpoint else Api.ENGAGE
    if wanted not in resources:
        return ("set VOYADO_ELEVATE_URL (or --elevate-url) and VOYADO_ELEVATE_API_KEY" if wanted is Api.ELEVATE
                else "set VOYADO_ENGAGE_URL (or --engage-url) and VOYADO_API_KEY")
    return resources
