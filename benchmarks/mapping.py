"""Benchmark: Commercetools orders -> validated Voyado receipts per second on one core.

Input: the sandbox generator's orders (``voyado_sync.sandbox.generator``: every outcome it produces -
paid, pending, cancelled, guests, returns, B2B, JPY, gift cards) when it is importable, else
a built-in factory of orders in the real Commercetools shape (1-4 lines, cart discounts, shipping,
split gift-card payments, JPY and tax-excluded B2B orders). Each order is mapped with `map_order`
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
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voyado_sync.mapping import MappingContext, dumps, map_order, map_returns  # noqa: E402
from voyado_sync.mapping.config import load_config, store_row  # noqa: E402

TARGET = 20_000


def generator_orders(n: int) -> list[dict] | None:
    """Orders from the sandbox generator with their payments expanded (as read with
    ``expand=paymentInfo.payments[*]``); None when the generator is not available.

    Uses the generator's public ``generate`` (plain-JSON documents, as the mapping reads them from
    the ``raw`` column), not its internal factory, whose signature changes while it is developed."""
    try:
        from voyado_sync.sandbox.generator import GeneratorConfig, generate

        cfg = GeneratorConfig(orders=n, persons=max(300, n // 3), pos_receipts=0, anchor_date="2026-11-25")
        data = generate(cfg)
        by_id = {p["id"]: p for p in data.payments}
        orders = data.orders
        for order in orders:
            for ref in (order.get("paymentInfo") or {}).get("payments") or ():
                if ref.get("id") in by_id:
                    ref["obj"] = by_id[ref["id"]]
    except Exception as exc:  # a generator still being written must not break the benchmark
        print(f"generator unusable ({type(exc).__name__}: {exc}); using the built-in factory")
        return None
    return orders or None


def factory_orders(n: int) -> list[dict]:
    from voyado_sync_tests.mapping import ct

    rnd = random.Random(7)
    out = []
    for i in range(n):
        kind = rnd.random()
        currency, store, included, rate = "SEK", "web-se", True, 0.25
        if kind < 0.05:
            currency, store, rate = "JPY", "web-jp", 0.10
        elif kind < 0.09:
            currency, store, included, rate = "EUR", "web-de", False, 0.19
        lines = []
        for _ in range(rnd.randint(1, 4)):
            unit = rnd.randint(50, 2_000) * (1 if currency == "JPY" else 100)
            disc = [("cd-10", unit // 10)] if rnd.random() < 0.3 else []
            lines.append(ct.line(f"SKU-{rnd.randint(1, 500)}-{rnd.choice('SML')}", rnd.randint(1, 3), unit, rate=rate,
                                 included=included, currency=currency, cart_discounts=disc,
                                 product_key=f"SKU-{i}"))
        ship = ct.shipping(49 * (1 if currency == "JPY" else 100), rate=rate, included=included, currency=currency)
        order = ct.order(lines, ship=ship, currency=currency, store=store, payments=[],
                         country={"SEK": "SE", "JPY": "JP", "EUR": "DE"}[currency])
        total = order["taxedPrice"]["totalGross"]["centAmount"]
        if rnd.random() < 0.15 and total > 100:
            pays = [ct.payment(100 if currency == "JPY" else 10_000, currency, method="giftcard", interface_id="GC-1"),
                    ct.payment(total - (100 if currency == "JPY" else 10_000), currency)]
        else:
            pays = [ct.payment(total, currency, method=rnd.choice(["card", "klarna", "swish"]))]
        order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": p["id"], "obj": p} for p in pays]}
        if rnd.random() < 0.10:
            order["returnInfo"] = [{"items": [ct.return_item(lines[0], 1)]}]
        out.append(order)
    return out


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
    ap.add_argument("--factory", action="store_true", help="use the built-in order factory, not the generator")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    orders = None if args.factory else generator_orders(args.orders)
    source = "generator" if orders else "factory"
    if not orders:
        orders = factory_orders(args.orders)
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
