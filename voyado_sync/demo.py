"""`make demo`: the whole path once, on the sandboxes, with a project-local SQLite Dagster instance.

1. generate a seeded dataset whose last day is the latest closed partition;
2. start the three sandboxes on free loopback ports and seed them (POS files go to the drop folder);
3. point the code location at them through the same environment variables production uses;
4. run the hands-off daily job for that partition (and the unpartitioned assets), exactly what the
   schedule would launch;
5. print a human summary and, as the last line, one JSON object of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from voyado_sync.settings import REPO_ROOT

# The summary below is what a person reads; the per-step logs stay in the instance (and the UI).
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def prepare_homes(*, fresh: bool) -> tuple[Path, Path]:
    """The project-local state folder and DAGSTER_HOME (git-ignored), exported for this process and its
    children; the local-safe root dagster.yaml becomes the instance config."""
    home = Path(os.environ.get("VOYADO_SYNC_HOME", REPO_ROOT / ".voyado_sync"))
    dagster_home = Path(os.environ.get("DAGSTER_HOME", REPO_ROOT / ".dagster_home"))
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(dagster_home, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    os.environ.update({"VOYADO_SYNC_HOME": str(home), "DAGSTER_HOME": str(dagster_home)})
    return home, dagster_home


@dataclass
class RunFacts:
    """What the demo's runs did, read once from the instance's event log."""

    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)  # asset key -> materialization metadata
    checks: dict[str, bool] = field(default_factory=dict)  # check name -> passed
    failed_steps: list[str] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, int]:
        return {key: int(md.get("dagster/row_count", 0)) for key, md in self.metadata.items()}


def _run_facts(instance: Any, run_ids: list[str]) -> RunFacts:
    import dagster as dg

    facts = RunFacts()
    for run_id in run_ids:
        for event in instance.all_logs(run_id):
            kind = event.dagster_event_type
            if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                mat = event.asset_materialization
                facts.metadata[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v)
                                                                  for k, v in mat.metadata.items()}
            elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.dagster_event.event_specific_data
                facts.checks[evaluation.check_name] = evaluation.passed
            elif kind == dg.DagsterEventType.STEP_FAILURE:
                facts.failed_steps.append(event.step_key or "?")
    return facts


def run_partition(instance: Any, partition_key: str) -> tuple[RunFacts, dict[str, Any]]:
    """Run exactly what the schedule launches: the daily chain for the partition, then the reference job."""
    from voyado_sync.definitions import defs

    definitions = defs()
    run_ids = []
    chain = definitions.resolve_job_def("daily_sync").execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False, run_config=QUIET)
    run_ids.append(chain.run_id)
    reference = definitions.resolve_job_def("voyado_reference").execute_in_process(
        instance=instance, raise_on_error=False, run_config=QUIET)
    run_ids.append(reference.run_id)
    facts = _run_facts(instance, run_ids)
    return facts, _sync_summary(facts, partition_key)


def _sync_summary(facts: RunFacts, partition_key: str) -> dict[str, Any]:
    """Figures a user of the demo asks for: what reached Voyado, what is parked, and the reconciliation."""
    from voyado_sync.settings import get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.sync.dead_letters import count_open

    md, checks = facts.metadata, facts.checks
    receipts = md.get("voyado/receipts_sync", {})
    edges = md.get("identity/edges", {})
    identity = {"profiles": int(md.get("identity/profiles", {}).get("profiles_total", 0)),
                **{k.removeprefix("outcome/"): int(v) for k, v in edges.items() if k.startswith("outcome/")}}
    contacts = md.get("voyado/contacts_sync", {})
    catalog = md.get("voyado/catalog_sync", {})
    campaigns = md.get("voyado/campaign_sync", {})
    writeback = md.get("commercetools/customer_fields_writeback", {})
    points = md.get("voyado/point_transactions_sync", {})
    return {
        "receipts_sent": sum(int(receipts.get(f"outcome/{o}", 0)) for o in ("accepted", "sent", "retried")),
        "receipts_held": int(receipts.get("receipts_held", 0)),
        "returns_sent": int(receipts.get("returns_held", 0)),
        "contacts_created": int(contacts.get("contacts_created", 0)),
        "contacts_updated": int(contacts.get("contacts_updated", 0)),
        "identity": identity,
        "catalog_lines_sent": int(catalog.get("outcome/sent", 0)) + int(catalog.get("outcome/retried", 0)),
        "campaign_items_sent": int(campaigns.get("outcome/sent", 0)) + int(campaigns.get("outcome/retried", 0)),
        "point_transactions_sent": int(points.get("outcome/sent", 0)) + int(points.get("outcome/retried", 0)),
        "customers_written_back": int(writeback.get("outcome/sent", 0)) + int(writeback.get("outcome/retried", 0)),
        "dead_letters": count_open(get_engine(get_settings().state_db_url), partition=partition_key),
        "reconciled": bool(checks.get("reconciled_with_commercetools", False)),
        # What the read-back compared with what Voyado answers it holds (receipts_sync metadata).
        "readback": {"checked": int(receipts.get("readback_checked", 0)),
                     "mismatches": int(receipts.get("readback_mismatches", 0))},
        "checks_failed": sorted(name for name, passed in checks.items() if not passed),
    }


def run_demo(*, seed: int = 42, persons: int = 150, orders: int = 400, pos_receipts: int = 120,
             fresh: bool = True, out: Any = sys.stdout) -> dict[str, Any]:
    home, dagster_home = prepare_homes(fresh=fresh)

    from voyado_sync.partitions import last_closed_partition_key

    partition_key = last_closed_partition_key()
    started = time.perf_counter()

    from voyado_sync.sandbox.generator import GeneratorConfig
    from voyado_sync.sandbox.run import stage_dataset, start_sandboxes
    from voyado_sync.settings import get_settings

    dataset = stage_dataset(GeneratorConfig(seed=seed, persons=persons, orders=orders, pos_receipts=pos_receipts,
                                            days=3, anchor_date=date.fromisoformat(partition_key)),
                            home / "generated", get_settings().pos_drop_dir)

    with start_sandboxes(dataset=dataset, seed=seed) as boxes:
        os.environ.update(boxes.env())
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            facts, summary = run_partition(instance, partition_key)
        rows, failed = facts.rows, facts.failed_steps
        requests = {name: sum(1 for _ in server.app.requests())
                    for name, server in (("commercetools", boxes.commercetools), ("engage", boxes.engage),
                                         ("elevate", boxes.elevate))}
        statuses = Counter(r.status for s in (boxes.commercetools, boxes.engage, boxes.elevate)
                           for r in s.app.requests())
        # Receipts Engage parked because it holds no contact for them: read from the sandbox's own
        # integration log, not from our metadata.
        contact_missing = sum(1 for e in boxes.engage.app.integration_log
                              if e["type"] == "Receipts" and e["message"] == "Contact is missing")

    figures: dict[str, Any] = {
        "partition": partition_key,
        "rows": rows,
        "requests": requests,
        "http_errors": sum(v for k, v in statuses.items() if k >= 400),
        "failed_steps": len(failed),
        "receipts_contact_missing": contact_missing,
        **summary,
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(f"voyado_sync demo — partition {partition_key} (DAGSTER_HOME={dagster_home})", file=out)
    for key in sorted(rows):
        print(f"  {key:<40} {rows[key]:>8} rows", file=out)
    print(f"  requests: {requests}", file=out)
    for key, value in summary.items():
        print(f"  {key}: {value}", file=out)
    if failed:
        print(f"  FAILED steps: {', '.join(failed)}", file=out)
    print(json.dumps(figures, sort_keys=True), file=out, flush=True)
    return figures


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voyado-sync demo", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--persons", type=int, default=150)
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--pos-receipts", type=int, default=120)
    parser.add_argument("--keep", action="store_true", help="keep state from an earlier demo (default: start fresh)")
    args = parser.parse_args(argv)
    figures = run_demo(seed=args.seed, persons=args.persons, orders=args.orders, pos_receipts=args.pos_receipts,
                       fresh=not args.keep)
    return 0 if figures["failed_steps"] == 0 else 1
