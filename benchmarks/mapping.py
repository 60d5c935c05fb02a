"""Benchmark: Commercetools orders -> validated Voyado receipts per second on one core.

Input: the sandbox generator's orders (``voyado_sync.sandbox.generator``: every outcome it produces -
paid, pending, cancelled, guests, returns, B2B, JPY, gift cards). Each order is mapped with `map_order`
(which runs the pure pre-send validation) and its returns with `map_returns`. The baseline is plain
``json.loads`` of the same orders, so the ratio says how the mapping compares with merely parsing them.

    .venv/bin/python benchmarks/mapping.py [--orders N] [--repeat R]

Prints figures, then ONE JSON line (the last line).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voyado_sync.mapping import MappingContext, dumps, map_order, map_returns  # noqa: E402
from voyado_sync.mapping.config import load_config, store_row  # noqa: E402

TARGET = 20_000


def generator_orders(n: int) -> list[dict]:
    """Orders from the sandbox generator with their payments expanded (as read with
    ``expand=paymentInfo.payments[*]``): plain-JSON documents, as the mapping reads them from the ``raw``
    column."""
    from voyado_sync.sandbox.generator import GeneratorConfig, generate

    data = generate(GeneratorConfig(orders=n, persons=max(300, n // 3), pos_receipts=0, anchor_date="2026-11-25"))
    by_id = {p["id"]: p for p in data.payments}
    for order in data.orders:
        for ref in (order.get("paymentInfo") or {}).get("payments") or ():
            if ref.get("id") in by_id:
                ref["obj"] = by_id[ref["id"]]
    return data.orders


def best_rate(fn, n: int, repeat: int, setup=None) -> float:
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()  # e.g. free the previous repetition's results: not work of the run being timed
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    orders = generator_orders(args.orders)
    source = "generator"
    n = len(orders)
    texts = [json.dumps(o) for o in orders]
    config = load_config()
    if config.store("store", "web-jp") is None:
        config = config.with_stores(store_row("store", "web-jp", "ECOM-JP", timezone="Asia/Tokyo", country="JP"))
    ctx = MappingContext(config)

    loads_rate = best_rate(lambda: [json.loads(t) for t in texts], n, args.repeat)
    results: list = []

    def run() -> None:
        results.extend(map_order(o, ctx) for o in orders)

    map_rate = best_rate(run, n, args.repeat, setup=results.clear)
    returns_rate = best_rate(lambda: [map_returns(o, ctx) for o in orders], n, args.repeat)
    payloads = [r.payload for r in results if r.payload]
    dumps_rate = best_rate(lambda: [dumps(p) for p in payloads], len(payloads), args.repeat) if payloads else 0.0
    statuses = {s: sum(r.status == s for r in results) for s in ("receipt", "skipped", "rejected")}
    reasons: dict[str, int] = {}
    for r in results:
        if r.status == "rejected":
            key = r.reason.split(":")[0][:60]
            reasons[key] = reasons.get(key, 0) + 1
    mean_bytes = sum(map(len, texts)) / n
    print(f"input: {n} orders from the {source}, mean {mean_bytes:.0f} bytes of JSON")
    print(f"json.loads: {loads_rate:,.0f} orders/s")
    print(f"map_order + validation: {map_rate:,.0f} orders/s ({map_rate / loads_rate:.2f}x json.loads)")
    print(f"map_returns: {returns_rate:,.0f} orders/s; dumps: {dumps_rate:,.0f} receipts/s")
    print(f"outcomes: {statuses}; top rejections: {sorted(reasons.items(), key=lambda kv: -kv[1])[:5]}")
    print(json.dumps({
        "benchmark": "mapping", "source": source, "orders": n, "mean_order_bytes": round(mean_bytes),
        "orders_per_s": round(map_rate), "json_loads_per_s": round(loads_rate),
        "ratio_to_json_loads": round(map_rate / loads_rate, 3), "returns_orders_per_s": round(returns_rate),
        "dumps_receipts_per_s": round(dumps_rate), "receipts": statuses["receipt"], "skipped": statuses["skipped"],
        "rejected": statuses["rejected"], "target_orders_per_s": TARGET, "meets_target": map_rate >= TARGET,
    }))


if __name__ == "__main__":
    main()
