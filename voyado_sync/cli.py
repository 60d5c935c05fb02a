"""`voyado-sync` command line: sandbox | generate | demo | dev | replay-dlq.

Each subcommand imports its module lazily so `voyado-sync --help` stays instant."""

from __future__ import annotations

import argparse
import sys


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


def _replay(argv: list[str]) -> int:
    from voyado_sync.sync.replay import cli_replay

    return cli_replay(argv)


COMMANDS = {
    "sandbox": (_sandbox, "run the Commercetools, Voyado Engage and Elevate sandboxes on loopback"),
    "generate": (_generate, "generate a seeded, realistic shop dataset (Commercetools + POS + Voyado)"),
    "demo": (_demo, "run the whole path once on the sandboxes with a project-local Dagster instance"),
    "dev": (_dev, "sandboxes + `dg dev` (the Dagster UI) against them"),
    "replay-dlq": (_replay, "re-send dead letters after a fix; a row leaves the DLQ only on success"),
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
