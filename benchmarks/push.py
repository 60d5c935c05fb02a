"""Push N receipts through the sync engine to the Voyado Engage sandbox and measure throughput.

    python benchmarks/push.py                      # 10 000 receipts, 20 ms latency, 200 req/s limit
    python benchmarks/push.py --faults 0.2         # + 20 % transient faults (429/503/reset/truncate)
    python benchmarks/push.py --ledger sqlite      # SQLite ledger instead of PostgreSQL

Reports achieved requests/s (measured from the sandbox's request timestamps), the bound
``min(rate limit, concurrency / latency)``, their ratio, and lost / duplicated effects (receipts Voyado
holds vs. receipts pushed). The sandbox runs in a child process so it does not share the benchmark's GIL.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

API_KEY = "bench-key"
PG_ADMIN_URL = os.environ.get("VOYADO_SYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def serve(rate_limit: float) -> None:
    """Child process: the Engage sandbox plus an admin route listing receipt effects."""
    from voyado_sync.sandbox.engage import EngageSandbox
    from voyado_sync.sandbox.http import Response, SandboxServer

    app = EngageSandbox(api_keys={API_KEY: rate_limit}, seed=0)
    app.route("GET", "/__admin/bench/effects", lambda req: Response.json(
        [e["key"] for e in app.effects(req.arg("kind"))]))
    server = SandboxServer(app).start()
    print(server.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def receipt(i: int) -> dict:
    return {
        "contact": {"matchKey": f"ct-customer-{i % 997}", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": f"bench-{i:07d}", "receiptNumber": str(100000 + i),
        "createdDate": "2025-03-01T14:05:00+01:00", "storeExternalId": "ECOM-SE", "currency": "SEK",
        "totalGrossPrice": 450.0,
        "paymentMethods": [{"type": "card", "description": "card", "value": 450.0}],
        "items": [{"type": "PURCHASE", "sku": f"SKU-{i % 50}", "quantity": 1, "grossPaidPrice": 450.0,
                   "taxAmount": 90.0, "taxPercent": 25.0, "articleNumber": f"ART-{i % 50}", "articleName": "Shirt"}],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--rate-limit", type=float, default=200.0, help="the sandbox's limit for the key (req/s)")
    p.add_argument("--budget", type=float, help="the engine's shared budget (req/s); default: the rate limit")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--faults", type=float, default=0.0, help="share of requests answered with a transient fault")
    p.add_argument("--ledger", choices=("postgres", "sqlite"), default="postgres")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.rate_limit)
        return 0

    import httpx
    import sqlalchemy as sa

    from voyado_sync.clients.http import RetryPolicy
    from voyado_sync.state.db import get_engine
    from voyado_sync.resources.voyado import EngageResource
    from voyado_sync.sync.endpoints import ReceiptsEndpoint
    from voyado_sync.sync.engine import SyncEngine
    from voyado_sync.sync.models import SyncItem
    from voyado_sync.sync.rate_budget import RateBudget

    child = subprocess.Popen([sys.executable, __file__, "--serve", "--rate-limit", str(args.rate_limit)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = child.stdout.readline().strip()
    schema = None
    tmp_db = None
    try:
        if args.ledger == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with sa.create_engine(PG_ADMIN_URL).begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            state = get_engine(f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}")
        else:
            tmp_db = Path(f"/tmp/voyado_bench_{uuid.uuid4().hex[:8]}.db")
            state = get_engine(f"sqlite:///{tmp_db}")

        rules = []
        if args.faults > 0:
            f = args.faults
            rules = [{"pattern": "POST /api/v3/receipts", "retry_after": 0.05,
                      "probabilities": {"429": f * 0.3, "503": f * 0.3, "reset": f * 0.2, "truncate": f * 0.2}}]
        httpx.post(f"{url}/__admin/faults", json={"seed": 7, "latency_ms": args.latency_ms, "rules": rules}).raise_for_status()

        items = [SyncItem(f"bench-{i:07d}", "receipts", receipt(i), "2025-03-01", "voyado/receipts_payload")
                 for i in range(args.n)]
        budget = RateBudget(state, API_KEY, args.budget or args.rate_limit, args.concurrency)
        resource = EngageResource(base_url=url, api_key=API_KEY, max_concurrency=args.concurrency)
        client = resource.push_client()  # the client the push assets use
        engine = SyncEngine(state, budget, f"bench-{uuid.uuid4().hex[:8]}", "2025-03-01",
                            retry=RetryPolicy(max_attempts=12, max_total_seconds=120, initial_backoff=0.05, max_backoff=1.0))
        t0 = time.perf_counter()
        report = engine.push(items, ReceiptsEndpoint(client))
        wall = time.perf_counter() - t0
        resource.close()

        log = httpx.get(f"{url}/__admin/requests", timeout=60).json()["results"]
        log = [r for r in log if r["path"].startswith("/api/")]
        stamps = sorted(r["ts"] for r in log)
        span = (stamps[-1] - stamps[0]) if len(stamps) > 1 else wall
        achieved = len(log) / span if span > 0 else 0.0
        bound = min(args.rate_limit, args.concurrency / (args.latency_ms / 1000)) if args.latency_ms else args.rate_limit
        faults = Counter(r["fault"] for r in log if r["fault"])
        status_429 = sum(1 for r in log if r["status"] == 429)
        effects = httpx.get(f"{url}/__admin/bench/effects", params={"kind": "receipt"}, timeout=60).json()
        expected = {it.key for it in items}
        held = Counter(effects)
        lost = len(expected - set(held))
        duplicated = sum(n - 1 for n in held.values() if n > 1) + len(set(held) - expected)

        print(f"receipts pushed        {args.n}")
        print(f"ledger                 {args.ledger}")
        print(f"latency / limit / conc {args.latency_ms} ms / {args.rate_limit} req/s / {args.concurrency}")
        print(f"requests               {len(log)} (faults injected: {dict(faults)}, 429 total: {status_429})")
        print(f"achieved               {achieved:.1f} req/s over {span:.2f} s (wall {wall:.2f} s, "
              f"{args.n / wall:.1f} items/s)")
        print(f"bound                  {bound:.1f} req/s -> ratio {achieved / bound:.3f}")
        print(f"outcomes               {report.counts} retries={report.retries} dead_letters={report.dead_letters}")
        print(f"budget claims          {budget.claims} transactions, {budget.penalties} drained on 429")
        print(f"effects                held={len(held)} lost={lost} duplicated={duplicated}")
        print(json.dumps({
            "benchmark": "push", "n": args.n, "ledger": args.ledger, "latency_ms": args.latency_ms,
            "rate_limit": args.rate_limit, "budget": args.budget or args.rate_limit,
            "concurrency": args.concurrency, "faults": args.faults, "requests": len(log),
            "achieved_rps": round(achieved, 1), "bound_rps": round(bound, 1), "ratio": round(achieved / bound, 3),
            "items_per_s": round(args.n / wall, 1), "wall_s": round(wall, 2), "retries": report.retries,
            "status_429": status_429, "outcomes": report.counts, "lost": lost, "duplicated": duplicated,
            "p50_ms": report.summary()["latency_p50_ms"], "p95_ms": report.summary()["latency_p95_ms"],
        }))
        return 0 if lost == 0 and duplicated == 0 else 1
    finally:
        child.stdin.close()
        child.wait(timeout=10)
        if schema:
            from voyado_sync.state import db

            for u in [u for u in db._engines if schema in u]:
                db._engines.pop(u).dispose()
            with sa.create_engine(PG_ADMIN_URL).begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        if tmp_db:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{tmp_db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
