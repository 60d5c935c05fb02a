"""Push N receipts through the sync engine to the Voyado Engage sandbox and measure throughput.

    python benchmarks/push.py                      # 10 000 receipts, 20 ms latency, 200 req/s limit
    python benchmarks/push.py --faults 0.2         # + 20 % transient faults (429/503/reset/truncate)
    python benchmarks/push.py --ledger sqlite      # SQLite ledger instead of PostgreSQL

Everything is counted from the sandbox's request log, which names the ``uniqueReceiptId`` of every
receipt POST (its ``subject``), whatever the answer:

* ``duplicated``: POSTs of an id after one that was answered 2xx (Voyado holds it from then on): every
  second POST counts, whether the sandbox absorbed it silently or refused it;
* ``lost``: pushed ids never answered 2xx (cross-checked with the receipts Voyado holds);
* ``achieved_rps``: receipts accepted (first 2xx per id) per second of the whole push (``engine.push``
  from call to return), so retries, refusals and idle tails all cost;
* ``bound_rps``: ``min(rate limit, concurrency / latency) x (1 - refused share)``, the most receipts any
  client could get accepted per second: the engine's budget pays for every attempt, and the sandbox
  refuses the configured 429 + 503 share of them before doing anything (``reset`` and ``truncate``
  happen after the receipt was accepted). ``ratio`` = achieved / bound.

``meets_target``: no loss, no duplicate, ratio >= 0.9. The sandbox runs in a child process so it does not
share the benchmark's GIL. The last line is one JSON object.
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
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

API_KEY = "bench-key"
TARGET_RATIO = 0.9
REFUSALS = ("429", "503")  # faults the sandbox answers before doing anything (share of --faults below)
PG_ADMIN_URL = os.environ.get("VOYADO_SYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def serve(rate_limit: float) -> None:
    """Child process: the Engage sandbox plus an admin route listing receipt effects (a cross-check)."""
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
        "totalGrossPrice": Decimal("450.00"),  # exact amounts, as the mapping builds them
        "paymentMethods": [{"type": "card", "description": "card", "value": Decimal("450.00")}],
        "items": [{"type": "PURCHASE", "sku": f"SKU-{i % 50}", "quantity": 1, "grossPaidPrice": Decimal("450.00"),
                   "taxAmount": Decimal("90.00"), "taxPercent": Decimal("25.00"), "articleNumber": f"ART-{i % 50}",
                   "articleName": "Shirt"}],
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
        shares = {"429": 0.3, "503": 0.3, "reset": 0.2, "truncate": 0.2}
        if args.faults > 0:
            rules = [{"pattern": "POST /api/v3/receipts", "retry_after": 0.05,
                      "probabilities": {k: args.faults * v for k, v in shares.items()}}]
        httpx.post(f"{url}/__admin/faults", json={"seed": 7, "latency_ms": args.latency_ms, "rules": rules}).raise_for_status()

        items = [SyncItem(f"bench-{i:07d}", "receipts", receipt(i), "2025-03-01", "voyado/receipts_payload")
                 for i in range(args.n)]
        budget = RateBudget(state, API_KEY, args.budget or args.rate_limit, args.concurrency)
        resource = EngageResource(base_url=url, api_key=API_KEY, max_concurrency=args.concurrency)
        client = resource.push_client()  # the client the push assets use
        engine = SyncEngine(state, budget, f"bench-{uuid.uuid4().hex[:8]}", "2025-03-01",
                            retry=RetryPolicy(max_attempts=12, max_total_seconds=120, initial_backoff=0.05, max_backoff=1.0))
        t0, started = time.perf_counter(), time.time()
        report = engine.push(items, ReceiptsEndpoint(client))
        wall, ended = time.perf_counter() - t0, time.time()
        resource.close()

        log = httpx.get(f"{url}/__admin/requests", timeout=60).json()["results"]
        log = sorted((r for r in log if r["path"].startswith("/api/")), key=lambda r: r["seq"])
        posts = [r for r in log if r["method"] == "POST" and r["path"].endswith("/receipts")]
        held: set[str] = set()
        duplicated = 0
        for r in posts:  # in the order the sandbox answered them
            if r["subject"] in held:
                duplicated += 1
            elif 200 <= r["status"] < 300:
                held.add(r["subject"])
        expected = {it.key for it in items}
        lost = len(expected - held)
        effects = Counter(httpx.get(f"{url}/__admin/bench/effects", params={"kind": "receipt"}, timeout=60).json())
        effects_agree = set(effects) == held and max(effects.values(), default=1) == 1
        ok_2xx = sum(1 for r in posts if 200 <= r["status"] < 300)
        refused_share = sum(args.faults * shares[k] for k in REFUSALS) if args.faults > 0 else 0.0
        plain_bound = min(args.rate_limit, args.concurrency / (args.latency_ms / 1000)) if args.latency_ms \
            else args.rate_limit
        bound = plain_bound * (1 - refused_share)
        achieved = len(held & expected) / wall
        ratio = achieved / bound
        faults = Counter(r["fault"] for r in log if r["fault"])
        # Where the wall time went: before the first request (validation, ledger look-ups), the requests,
        # and after the last answer (the last ledger writes).
        ramp = (log[0]["ts"] - started) if log else wall
        tail = (ended - max(r["ts"] for r in log)) if log else 0.0
        status_429 = sum(1 for r in log if r["status"] == 429)
        meets = lost == 0 and duplicated == 0 and ratio >= TARGET_RATIO

        print(f"receipts pushed        {args.n}")
        print(f"ledger                 {args.ledger}")
        print(f"latency / limit / conc {args.latency_ms} ms / {args.rate_limit} req/s / {args.concurrency}")
        print(f"requests               {len(log)} (faults injected: {dict(faults)}, 429 total: {status_429}, "
              f"2xx: {ok_2xx})")
        print(f"achieved               {achieved:.1f} receipts accepted/s over the whole push ({wall:.2f} s: "
              f"{ramp:.2f} s before the first request, {tail:.2f} s after the last answer)")
        print(f"bound                  {plain_bound:.1f} req/s x (1 - {refused_share:.2f} refused) = {bound:.1f}/s "
              f"-> ratio {ratio:.3f}")
        print(f"outcomes               {report.counts} retries={report.retries} dead_letters={report.dead_letters}")
        print(f"budget claims          {budget.claims} transactions, {budget.penalties} drained on 429")
        print(f"request log            held={len(held)} lost={lost} duplicated={duplicated} "
              f"(effects agree: {effects_agree})")
        print(json.dumps({
            "benchmark": "push", "n": args.n, "ledger": args.ledger, "latency_ms": args.latency_ms,
            "rate_limit": args.rate_limit, "budget": args.budget or args.rate_limit,
            "concurrency": args.concurrency, "faults": args.faults, "requests": len(log), "status_2xx": ok_2xx,
            "achieved_rps": round(achieved, 1), "plain_bound_rps": round(plain_bound, 1),
            "refused_share": round(refused_share, 3), "bound_rps": round(bound, 1), "ratio": round(ratio, 3),
            "wall_s": round(wall, 2), "before_first_request_s": round(ramp, 2),
            "after_last_answer_s": round(tail, 2), "retries": report.retries, "status_429": status_429,
            "outcomes": report.counts, "lost": lost, "duplicated": duplicated, "effects_agree": effects_agree,
            "p50_ms": report.summary()["latency_p50_ms"], "p95_ms": report.summary()["latency_p95_ms"],
            "target_ratio": TARGET_RATIO, "meets_target": meets,
        }))
        return 0 if meets else 1
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
