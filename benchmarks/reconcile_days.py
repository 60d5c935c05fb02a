"""Benchmark: a merchant's days, one after the other, reconciled against what Voyado reads back.

    .venv/bin/python benchmarks/reconcile_days.py [--days 10] [--orders-per-day 2000] [--seed 11]

Generates ``days`` days of a shop (about ``orders-per-day`` web orders a day, POS receipts, returns,
guests, garbage identifiers) into the sandboxes, then runs the ``daily_sync`` job for each day, oldest
first, exactly as the daily schedule would, on a temporary Dagster instance and state database. For each
day it records whether ``reconciled_with_commercetools`` passed (Commercetools and the POS files against
the receipts Voyado answers it holds), how many receipts Engage parked for a missing contact (its
integration log) and how many sales were excluded by policy. Then it removes one receipt from Voyado
(the sandbox's admin surface) on one day and runs that day's push again: the check must fail.

Engage's rate limit is lifted in the sandbox and the sync's budget raised, to measure this project's own
cost. Prints a line per day and, last, one JSON object with ``days``, ``orders``, ``receipts_in_voyado``,
``reconciled_days``, ``failed_days``, ``receipts_contact_missing``, ``excluded``,
``fails_after_one_receipt_removed``, ``seconds_per_day`` and ``meets_target`` (every day reconciled, none
parked, and the removal seen).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--orders-per-day", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="voyado-days-") as tmp:
        home = Path(tmp)
        os.environ.update({"VOYADO_SYNC_HOME": str(home / "home"), "DAGSTER_HOME": str(home / "dagster"),
                           "VOYADO_RATE_LIMIT_PER_SECOND": "1000", "VOYADO_MAX_CONCURRENCY": "8"})
        (home / "dagster").mkdir()
        import dagster as dg
        import httpx

        from voyado_sync.partitions import last_closed_partition_key
        from voyado_sync.sandbox.generator import GeneratorConfig
        from voyado_sync.sandbox.run import stage_dataset, start_sandboxes
        from voyado_sync.settings import get_settings

        last = date.fromisoformat(last_closed_partition_key())
        days = [(last - timedelta(days=i)).isoformat() for i in reversed(range(args.days))]
        orders = args.orders_per_day * args.days
        config = GeneratorConfig(seed=args.seed, orders=orders, persons=max(300, orders // 3), days=args.days,
                                 pos_receipts=orders // 8, anchor_date=last)
        t0 = time.perf_counter()
        dataset = stage_dataset(config, home / "generated", get_settings().pos_drop_dir)
        print(f"generated {orders} orders over {args.days} days in {time.perf_counter() - t0:.1f}s", flush=True)
        quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        results, seconds = {}, {}
        with start_sandboxes(dataset=dataset, seed=args.seed, engage_rate_limit=None) as boxes:
            os.environ.update(boxes.env())
            from voyado_sync.definitions import defs

            job = defs().resolve_job_def("daily_sync")
            with dg.instance_for_test() as instance:
                for day in days:
                    d0 = time.perf_counter()
                    run = job.execute_in_process(partition_key=day, instance=instance, run_config=quiet,
                                                 raise_on_error=False)
                    seconds[day] = round(time.perf_counter() - d0, 1)
                    checks = {e.check_name: e for e in run.get_asset_check_evaluations()}
                    reconciled = checks.get("reconciled_with_commercetools")
                    results[day] = bool(reconciled and reconciled.passed)
                    excluded = reconciled.metadata["excluded_by_reason"].value if reconciled else {}
                    print(f"{day}: reconciled={results[day]} run_success={run.success} {seconds[day]}s "
                          f"excluded={excluded}", flush=True)
                    if reconciled and not reconciled.passed:
                        for key in ("differences", "unexplained"):
                            print(f"  {key}: {json.dumps(reconciled.metadata[key].value)[:1500]}", flush=True)
                        for m in run.get_asset_materialization_events():
                            meta = m.materialization.metadata
                            for key in ("rejection_reasons", "outcomes", "readback", "dead_letters"):
                                if key in meta:
                                    print(f"  {m.asset_key.to_user_string()} {key}: {meta[key].value}", flush=True)
                # One receipt Voyado loses: the day it belongs to must fail its check.
                victim_day = days[len(days) // 2]
                frame = __import__("pandas").read_parquet(
                    get_settings().data_dir / "voyado" / "receipts_payload" / f"{victim_day}.parquet")
                victim = sorted(frame.loc[frame["status"] == "receipt", "unique_receipt_id"])[0]
                httpx.delete(f"{boxes.engage.url}/__admin/engage/receipts/{victim}").raise_for_status()
                again = job.execute_in_process(partition_key=victim_day, instance=instance, run_config=quiet,
                                               raise_on_error=False,
                                               asset_selection=[dg.AssetKey(["voyado", "receipts_sync"])])
                seen = {e.check_name: e.passed for e in again.get_asset_check_evaluations()}
                removal_seen = seen.get("reconciled_with_commercetools") is False and not again.success
                print(f"{victim_day}: one receipt removed from Voyado -> reconciled="
                      f"{seen.get('reconciled_with_commercetools')} run_success={again.success}", flush=True)
            missing = sum(1 for e in boxes.engage_app.integration_log
                          if e["type"] == "Receipts" and e["message"] == "Contact is missing")
            held = len(boxes.engage_app.receipts)
    figures = {
        "benchmark": "reconcile_days", "days": args.days, "orders": orders, "receipts_in_voyado": held,
        "reconciled_days": sum(results.values()), "failed_days": sorted(d for d, ok in results.items() if not ok),
        "receipts_contact_missing": missing, "fails_after_one_receipt_removed": removal_seen,
        "seconds_per_day": round(sum(seconds.values()) / len(seconds), 1),
    }
    figures["meets_target"] = (figures["reconciled_days"] == args.days and missing == 0 and removal_seen)
    print(json.dumps(figures))
    return 0 if figures["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
