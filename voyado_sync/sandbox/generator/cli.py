"""`voyado-sync generate`: write a seeded dataset folder (see `voyado_sync.sandbox.generator.io`)."""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from voyado_sync.sandbox.generator.config import GeneratorConfig


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voyado-sync generate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (created; files are replaced)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--persons", type=int, default=300)
    parser.add_argument("--orders", type=int, default=800)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--anchor-date", type=date.fromisoformat, default=None,
                        help="last day of data, YYYY-MM-DD (default: yesterday UTC)")
    parser.add_argument("--pos-receipts", type=int, default=200)
    parser.add_argument("--products", type=int, default=48)
    parser.add_argument("--carts", type=int, default=None, help="default: orders / 8")
    args = parser.parse_args(argv)
    try:
        cfg = GeneratorConfig(seed=args.seed, persons=args.persons, orders=args.orders, days=args.days,
                              anchor_date=args.anchor_date, pos_receipts=args.pos_receipts, products=args.products,
                              carts=args.carts)
    except ValueError as exc:
        parser.error(str(exc))
    from voyado_sync.sandbox.generator.dataset import generate
    from voyado_sync.sandbox.generator.io import write_dataset

    started = time.perf_counter()
    ds = generate(cfg)
    out = write_dataset(ds, args.out)
    print(json.dumps({"out": str(out), "seconds": round(time.perf_counter() - started, 2), **ds.counts()}))
    return 0
