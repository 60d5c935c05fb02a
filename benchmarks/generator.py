"""Benchmark: the data generator's streaming order throughput and a full dataset build.

    python benchmarks/generator.py [--orders 100000] [--persons 0] [--seed 7]

Streams N orders with ``iter_orders`` (persons default N/3, as benchmarks/extract.py uses it), serializing
each to compact JSON the way a sandbox would store it, then builds and writes the default dataset.
Prints figures and, last, one JSON line: orders, setup_seconds, orders_per_second (wall, generation
only), orders_per_cpu_second, json_orders_per_second, peak_rss_mb, default_generate_seconds,
default_write_seconds, meets_target (orders_per_second >= 20 000, the target on a quiet core). Exits 1
when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
TARGET = 20_000

from voyado_sync.sandbox.generator import GeneratorConfig, generate, iter_orders, write_dataset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=0, help="default: orders / 3")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    anchor = date(2026, 11, 26)
    cfg = GeneratorConfig(seed=args.seed, persons=args.persons or max(100, args.orders // 3), orders=args.orders,
                          days=1, anchor_date=anchor)

    t0 = time.perf_counter()
    stream = iter_orders(cfg, args.orders)
    first = next(stream)
    setup = time.perf_counter() - t0

    wall0, cpu0 = time.perf_counter(), time.process_time()
    n = 1 + sum(1 for _ in stream)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    j0 = time.perf_counter()
    size = len(encode(first))
    for order in iter_orders(cfg, min(args.orders, 20_000)):
        size += len(encode(order))
    json_rate = min(args.orders, 20_000) / (time.perf_counter() - j0)

    g0 = time.perf_counter()
    ds = generate(GeneratorConfig(seed=args.seed, anchor_date=anchor))
    gen_s = time.perf_counter() - g0
    with tempfile.TemporaryDirectory() as tmp:
        w0 = time.perf_counter()
        write_dataset(ds, tmp)
        write_s = time.perf_counter() - w0

    figures = {
        "benchmark": "generator", "orders": n, "persons": cfg.persons, "setup_seconds": round(setup, 2),
        "orders_per_second": round((n - 1) / wall), "orders_per_cpu_second": round((n - 1) / cpu),
        "json_orders_per_second": round(json_rate), "avg_order_json_bytes": round(size / (min(args.orders, 20_000) + 1)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "default_generate_seconds": round(gen_s, 2), "default_write_seconds": round(write_s, 2),
        "target_orders_per_second": TARGET, "meets_target": (n - 1) / wall >= TARGET,
    }
    print(f"streamed {n} orders for {cfg.persons} persons: {figures['orders_per_second']}/s wall, "
          f"{figures['orders_per_cpu_second']}/s CPU (setup {setup:.2f}s), with JSON encoding "
          f"{figures['json_orders_per_second']}/s, avg {figures['avg_order_json_bytes']} B/order")
    print(f"default dataset: generate {gen_s:.2f}s, write {write_s:.2f}s; peak RSS {figures['peak_rss_mb']} MB")
    print(json.dumps(figures))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
