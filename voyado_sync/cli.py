"""`voyado-sync` command line: sandbox | generate | demo | dev | replay-dlq.

Each subcommand imports what it needs lazily so `voyado-sync --help` stays instant. The replay-dlq
command line is here; what it runs is `voyado_sync.sync.replay`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _sandbox(argv: list[str]) -> int:
    from voyado_sync.sandbox.run import cli

    return cli(argv)


def _generate(argv: list[str]) -> int:
    from voyado_sync.sandbox.generator import cli

    return cli(argv)


def _demo(argv: list[str]) -> int:
    from voyado_sync.demo import cli

    return cli(argv)


def _dev(argv: list[str]) -> int:
    from voyado_sync.dev import cli

    return cli(argv)


def _replay_parser() -> argparse.ArgumentParser:
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
    p.add_argument("--engage-url", help="default: VOYADO_ENGAGE_URL")
    p.add_argument("--elevate-url", help="default: VOYADO_ELEVATE_URL")
    p.add_argument("--rate", type=float, help="default: VOYADO_RATE_LIMIT_PER_SECOND")
    p.add_argument("--concurrency", type=int, help="default: VOYADO_MAX_CONCURRENCY")
    return p


def _print(obj: Any) -> None:
    print(json.dumps(obj, default=str, sort_keys=True))


def replay_dlq(argv: list[str]) -> int:
    """Exit codes: 0 nothing left open, 1 some rows still open, 2 bad usage/config or wrong credentials."""
    from voyado_sync.settings import ConfigError, get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.storage import PartitionStore
    from voyado_sync.seam import push_target
    from voyado_sync.sync import dead_letters as dlq
    from voyado_sync.sync.endpoints import NOT_REPLAYABLE
    from voyado_sync.sync.engine import SyncAborted
    from voyado_sync.sync.replay import partition_store_source, replay_dead_letters

    args = _replay_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.engage_url = args.engage_url or settings.engage_url
    args.elevate_url = args.elevate_url or settings.elevate_url
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
    resources = _replay_resources(args, settings)
    if isinstance(resources, str):
        print(f"error: {resources}", file=sys.stderr)
        return 2
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


def _replay_resources(args: argparse.Namespace, settings: Any):
    """The Voyado resources the replay can push with (the same the assets use), or why it cannot."""
    from voyado_sync.resources.voyado import ElevateResource, EngageResource
    from voyado_sync.settings import secret
    from voyado_sync.sync.endpoints import Api, api_of

    resources = {}
    api_key = secret("VOYADO_API_KEY")
    if args.engage_url and api_key:
        resources[Api.ENGAGE] = EngageResource(
            base_url=args.engage_url, api_key=api_key,
            rate_limit_per_second=settings.rate_limit_per_second if args.rate is None else args.rate,
            max_concurrency=settings.max_concurrency if args.concurrency is None else args.concurrency)
    elevate_key = secret("VOYADO_ELEVATE_API_KEY")
    if args.elevate_url and elevate_key:
        resources[Api.ELEVATE] = ElevateResource(base_url=args.elevate_url, api_key=elevate_key)
    wanted = api_of(args.endpoint) if args.endpoint else Api.ENGAGE
    if wanted not in resources:
        return ("set VOYADO_ELEVATE_URL (or --elevate-url) and VOYADO_ELEVATE_API_KEY" if wanted is Api.ELEVATE
                else "set VOYADO_ENGAGE_URL (or --engage-url) and VOYADO_API_KEY")
    return resources


COMMANDS = {
    "sandbox": (_sandbox, "run the Commercetools, Voyado Engage and Elevate sandboxes on loopback"),
    "generate": (_generate, "generate a seeded, realistic shop dataset (Commercetools + POS + Voyado)"),
    "demo": (_demo, "run the whole path once on the sandboxes with a project-local Dagster instance"),
    "dev": (_dev, "sandboxes + `dg dev` (the Dagster UI) against them"),
    "replay-dlq": (replay_dlq, "re-send dead letters after a fix; a row leaves the DLQ only on success"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="voyado-sync", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()))
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    args, rest = parser.parse_known_args(argv[:1])
    from voyado_sync.settings import ConfigError

    try:
        return COMMANDS[args.command][0](argv[1:])
    except ConfigError as exc:  # a bad setting is one clear line, not a traceback
        print(f"voyado-sync {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
