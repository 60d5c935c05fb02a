"""Benchmark: extract one daily partition of N orders from the Commercetools sandbox into Parquet.

    python benchmarks/extract.py [--orders 100000] [--seed 7]

Generates N orders (the data generator's ``iter_orders``) straight into a sandbox (no HTTP seeding), all
modified within one day, then materializes that partition of ``commercetools/orders`` with Dagster. The
sandbox runs in a child process because it holds every order's JSON; peak_rss_mb is the extracting process.

Speed: ``orders_per_s`` is the extraction's own time (``extract_seconds`` in the asset's metadata: paging,
flattening and writing the partition; the checks' count requests apart), ``sandbox_serving_orders_per_s``
the rate at which the sandbox serves the very same pages to the same client when they are fetched and
discarded (the same id-cursor requests, measured in the same run, before and after the extraction; the
better of the two). ``ratio_to_sandbox_serving`` = orders_per_s / that: 1.0 means the extraction costs
nothing beyond waiting for its pages, which the one-page read-ahead makes possible (fetching the next
page while the last one is flattened and written).

Prints figures and, last, one JSON line: records, requests (API page requests, token requests and the
completeness check's count requests not counted; those are reported apart), ideal = ceil(N/500)+1,
requests_with_offset (must be 0), seconds, peak_rss_mb, the speed figures and ``meets_target``. Targets
at N=100 000: requests <= ideal, no offset, peak RSS <= 1 GB, ratio_to_sandbox_serving >= 0.8; exits 1
when one is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

PROJECT = "voyado-sandbox"
TARGET_RATIO = 0.8
PEAK_RSS_MB = 1024


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _orders(n: int, seed: int, day: date) -> tuple[Iterator[dict[str, Any]], str]:
    """Orders from the generator, re-stamped into ``day`` (the generator spreads them over its own range)."""
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    step = 86_000 / max(n, 1)

    def stamp(orders: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for i, order in enumerate(orders):
            t = start + timedelta(seconds=i * step)
            order["lastModifiedAt"] = f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"
            order.setdefault("createdAt", order["lastModifiedAt"])
            yield order

    from voyado_sync.sandbox.generator import GeneratorConfig, iter_orders

    cfg = GeneratorConfig(seed=seed, persons=max(100, n // 3), orders=n, days=1, anchor_date=day)
    return stamp(iter_orders(cfg, n)), "voyado_sync.sandbox.generator.iter_orders"


def _serve_sandbox(n: int, seed: int, day: date, conn: Any) -> None:
    """Child process: seed the sandbox in-process with N generated orders, serve it until told to stop.

    The sandbox keeps every order's JSON (about 1 GB at N=100 000), so it runs apart from the extraction
    whose memory the target is about."""
    from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
    from voyado_sync.sandbox.http import SandboxServer

    app = CommercetoolsSandbox(project_key=PROJECT)
    t0 = time.perf_counter()
    orders, source = _orders(n, seed, day)
    batch: list[dict[str, Any]] = []
    loaded = 0
    for order in orders:
        batch.append(order)
        if len(batch) == 5000:
            app.put("orders", batch)
            loaded += len(batch)
            batch = []
    if batch:
        app.put("orders", batch)
        loaded += len(batch)
    server = SandboxServer(app).start()
    conn.send({"url": server.url, "loaded": loaded, "source": source, "seed_seconds": time.perf_counter() - t0})
    conn.recv()  # block until the parent is done
    conn.send({"peak_rss_mb": _peak_rss_mb()})
    server.stop()


def serving_seconds(resource: Any, day: date) -> tuple[float, int, int]:
    """The same pages as the extraction (the closed day's window, the dataset's expand, 500 a page), from
    the same client, fetched and thrown away: (seconds, documents, page requests)."""
    from voyado_sync.extract.datasets import DATASETS
    from voyado_sync.extract.windows import Window

    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    ds, window = DATASETS["orders"], Window(start, start + timedelta(days=1))
    client = resource.client()
    before = client.stats.snapshot()
    t0 = time.perf_counter()
    docs = sum(len(page) for page in client.iter_pages(ds.resource, where=[window.predicate()],
                                                        expand=list(ds.expand), page_size=500))
    seconds = time.perf_counter() - t0
    return seconds, docs, client.stats.since(before).requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-completeness", action="store_true", help="skip the window_complete count requests")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="voyado_sync_bench_"))
    os.environ["VOYADO_SYNC_HOME"] = str(home)
    day = datetime.now(timezone.utc).date() - timedelta(days=2)
    key = day.isoformat()

    ctx = multiprocessing.get_context("spawn")  # a clean child: no Dagster state, its own memory
    parent_conn, child_conn = ctx.Pipe()
    child = ctx.Process(target=_serve_sandbox, args=(args.orders, args.seed, day, child_conn), daemon=True)
    child.start()
    try:
        info = parent_conn.recv()
        url = info["url"]
        import dagster as dg
        import httpx

        from voyado_sync.defs.commercetools import assets as ct_assets
        from voyado_sync.resources.commercetools import CommercetoolsResource
        from voyado_sync.resources.state import PartitionStoreResource

        httpx.delete(f"{url}/__admin/requests")
        rss_before = _rss_mb()
        resources = {
            "commercetools": CommercetoolsResource(api_url=url, auth_url=url, project_key=PROJECT,
                                                   client_id="sandbox-client", client_secret="sandbox-secret"),
            "partition_store": PartitionStoreResource(base_dir=str(home / "data")),
        }
        orders_asset = next(a for a in ct_assets.commercetools_assets if a.key.path[-1] == "orders")
        config = dg.RunConfig(ops={"commercetools__orders":
                                   ct_assets.ExtractConfig(verify_completeness=not args.no_completeness)})
        serve_before = serving_seconds(resources["commercetools"], day)
        httpx.delete(f"{url}/__admin/requests")
        t1 = time.perf_counter()
        result = dg.materialize([orders_asset], partition_key=key, resources=resources, run_config=config,
                                instance=dg.DagsterInstance.ephemeral())
        seconds = time.perf_counter() - t1
        if not result.success:
            print("materialization failed", file=sys.stderr)
            return 1
        meta = {k: v.value for k, v in result.asset_materializations_for_node("commercetools__orders")[0]
                .metadata.items()}
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        logged = httpx.get(f"{url}/__admin/requests").json()["results"]
        serve_after = serving_seconds(resources["commercetools"], day)
        api = [r for r in logged if r["path"] != "/oauth/token" and not r["path"].startswith("/__admin")]
        count_requests = [r for r in api if r["query"].get("limit") == ["0"]]
        page_requests = [r for r in api if r["query"].get("limit") != ["0"]]
        with_offset = [r for r in api if "offset" in r["query"]]
        token_requests = len([r for r in logged if r["path"] == "/oauth/token"])
        parent_conn.send("done")
        sandbox_peak = parent_conn.recv()["peak_rss_mb"]
        parquet = Path(meta["path"])
        ideal = math.ceil(args.orders / 500) + 1
        extract_rate = meta["rows"] / meta["extract_seconds"]
        serve_s, served, serve_requests = min(serve_before, serve_after)
        serve_rate = served / serve_s
        ratio = extract_rate / serve_rate
        peak = _peak_rss_mb()
        print(f"source of orders     : {info['source']}")
        print(f"seeded               : {info['loaded']} orders in {info['seed_seconds']:.1f}s "
              f"(sandbox process peak RSS {sandbox_peak:.0f} MB)")
        print(f"partition            : {key}  window {meta['window_start']} .. {meta['window_end']}")
        print(f"rows / rejects       : {meta['rows']} / {meta['rejects']}")
        print(f"page requests        : {len(page_requests)} (ideal {ideal}); asset metadata says {meta['requests']}")
        print(f"check count requests : {len(count_requests)} (window_complete via sub-windows under 10 000)")
        print(f"token requests       : {token_requests}")
        print(f"bytes from API       : {meta['bytes'] / 1e6:.1f} MB; Parquet {parquet.stat().st_size / 1e6:.1f} MB")
        print(f"checks               : {checks}")
        print(f"extraction           : {meta['extract_seconds']:.1f}s = {extract_rate:,.0f} orders/s "
              f"(materialize with checks and Dagster {seconds:.1f}s)")
        print(f"sandbox serving      : {served} orders in {serve_requests} requests, fetched and discarded: "
              f"{serve_before[0]:.1f}s before, {serve_after[0]:.1f}s after = {serve_rate:,.0f} orders/s "
              f"-> ratio {ratio:.3f}")
        print(f"extraction RSS       : peak {peak:.0f} MB (before materializing {rss_before:.0f} MB)")
        meets = (len(page_requests) <= ideal and not with_offset and peak <= PEAK_RSS_MB and ratio >= TARGET_RATIO
                 and meta["rows"] == args.orders)
        print(json.dumps({"benchmark": "extract", "records": meta["rows"], "requests": len(page_requests),
                          "ideal": ideal, "requests_with_offset": len(with_offset),
                          "check_requests": len(count_requests), "token_requests": token_requests,
                          "seconds": round(seconds, 2), "extract_seconds": meta["extract_seconds"],
                          "orders_per_s": round(extract_rate), "sandbox_serving_orders_per_s": round(serve_rate),
                          "sandbox_serving_seconds": [round(serve_before[0], 2), round(serve_after[0], 2)],
                          "ratio_to_sandbox_serving": round(ratio, 3), "target_ratio": TARGET_RATIO,
                          "peak_rss_mb": round(peak, 1), "sandbox_peak_rss_mb": round(sandbox_peak, 1),
                          "window_complete": checks.get("window_complete"), "meets_target": meets}))
        return 0 if meets else 1
    finally:
        child.kill()
        child.join(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
