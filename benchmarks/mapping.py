"""Benchmark: the receipts payload asset's own work, from stored partitions to the written payload partition.

    .venv/bin/python benchmarks/mapping.py [--orders 20000] [--pos 6000] [--examples 20000] [--repeat 3]

Timed is `voyado_sync.seam.build_and_store` with the receipts spec, i.e. exactly what the
``voyado/receipts_payload`` asset runs: `defs.receipts.build_payload` reads the ``commercetools/orders``
and ``pos/receipts`` partitions, decodes the ``raw`` documents, maps, validates and serializes every
receipt, and the seam writes the payload partition and reads it back for the blocking check. Inputs are
written first as the extraction and the POS asset write them (`extract.flatten.flatten_page`,
`extract.pos_files`), with the shipped mapping configuration plus two store rows (the generator's JPY
web shop and the official example's business unit), so those orders map instead of being rejected.

Two sources, each its own partition:

* ``generator``: the sandbox generator's orders with payments expanded (every outcome: paid, pending,
  cancelled, guests, returns, B2B, JPY, gift cards), in its usual mix of states, and its POS receipts
  of the day;
* ``examples``: the official Commercetools order examples (voyado_sync_tests/sandbox_commercetools/
  reference_examples) with the fill-ins documented in voyado_sync_tests/mapping/test_examples.py (paid,
  the order taxedPrice, the payment example as a successful charge), repeated under distinct ids.

The baseline is the standard library's ``json.loads`` of the same stored documents (orders and POS
receipts, as read from the partitions), measured in the same run on the same core:
``production_ratio_to_json_loads`` = production documents/s / json.loads documents/s, so >= 1.0 means the
whole asset costs less than merely parsing its input with the standard library. Every time is the best
of ``--repeat`` runs. The target is judged on the generator's production-shaped orders (about 10 KB of
JSON each as stored); the example documents (3 KB API samples with one line) are reported beside it.

Prints figures, then ONE JSON line (the last line); exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLES = ROOT / "voyado_sync_tests" / "sandbox_commercetools" / "reference_examples"
DAY = "2026-11-25"
EXAMPLES_DAY = "2026-11-26"
TARGET_RATIO = 1.0
EXTRA_STORES = [
    "store,web-jp,ECOM-JP,Webshop Japan,Asia/Tokyo,web,JP,ja-JP,JPY",
    "business-unit,ba-france-123,B2B-FR,B2B France,Europe/Paris,web,FR,fr-FR,EUR",
]


def config_dir(tmp: Path) -> Path:
    """The shipped mapping configuration plus the benchmark's two store rows."""
    out = tmp / "config"
    shutil.copytree(ROOT / "data", out, ignore=shutil.ignore_patterns("sample"))
    with (out / "stores.csv").open("a", encoding="utf-8") as f:
        f.write("\n".join(EXTRA_STORES) + "\n")
    return out


def generator_documents(orders: int, pos: int) -> tuple[list[dict], list[dict]]:
    """Generator orders with payments expanded (as read with ``expand=paymentInfo.payments[*]``), and
    its POS receipts. Over the generator's default three days, so the orders are in their usual mix of
    states (about two thirds sales); they all go into one partition, the POS receipts of its day too."""
    from voyado_sync.sandbox.generator import GeneratorConfig, generate

    data = generate(GeneratorConfig(orders=orders, persons=max(300, orders // 3), pos_receipts=pos,
                                    anchor_date=DAY))
    by_id = {p["id"]: p for p in data.payments}
    for order in data.orders:
        for ref in (order.get("paymentInfo") or {}).get("payments") or ():
            if ref.get("id") in by_id:
                ref["obj"] = by_id[ref["id"]]
    return data.orders, data.pos_receipts


def _money(cent: int) -> dict[str, Any]:
    return {"type": "centPrecision", "currencyCode": "EUR", "centAmount": cent, "fractionDigits": 2}


def example_orders(n: int) -> list[dict]:
    """The official order examples with the test's fill-ins, repeated under distinct ids."""
    load = lambda name: json.loads((EXAMPLES / name).read_text())  # noqa: E731
    single, listed, payment = load("order.example.json"), load("orders.example.json"), load("payment.example.json")
    base = []
    for original in [single, *listed["results"]]:
        order = copy.deepcopy(original)
        order["paymentState"] = "Paid"
        order["taxedPrice"] = {"totalNet": _money(1000), "totalGross": _money(1100),
                               "taxPortions": [{"rate": 0.1, "amount": _money(100), "name": "Bla"}]}
        p = copy.deepcopy(payment)
        p["amountPlanned"] = _money(1100)
        p["transactions"][0].update(amount=_money(1100), state="Success")
        order["paymentInfo"] = {"payments": [{"typeId": "payment", "id": p["id"], "obj": p}]}
        base.append(order)
    out = []
    for i in range(n):
        order = copy.deepcopy(base[i % len(base)])
        order["id"] = f"{order['id']}-{i:06d}"
        out.append(order)
    return out


def write_orders(store: Any, key: str, orders: list[dict]) -> None:
    """The orders partition as the extraction writes it: flattened pages of 500, rejects apart."""
    from voyado_sync.extract.datasets import DATASETS
    from voyado_sync.extract.flatten import REJECT_SCHEMA, flatten_page

    ds = DATASETS["orders"]
    with store.writer(ds.storage_name, key, ds.schema) as rows, store.writer(ds.rejects_name, key, REJECT_SCHEMA) as rej:
        for i in range(0, len(orders), 500):
            page = flatten_page(ds, orders[i:i + 500])
            rows.write_table(page.rows)
            rej.write_table(page.rejects)


def write_pos(store: Any, key: str, receipts: list[dict], tmp: Path) -> None:
    """The POS partition as the POS asset writes it, from generator files in a drop folder."""
    from voyado_sync.extract import pos_files
    from voyado_sync.sandbox.generator import GeneratorConfig
    from voyado_sync.sandbox.generator.pos import write_receipt_files

    drop = tmp / "pos_drop"
    write_receipt_files(GeneratorConfig(anchor_date=DAY), receipts, drop)
    batch = pos_files.read_partition(drop, key, "UTC")
    with store.writer("pos/receipts", key, pos_files.RECEIPT_SCHEMA) as w:
        w.write_table(pos_files.receipts_table(batch.receipts))
    with store.writer("pos/receipts_rejects", key, pos_files.REJECT_SCHEMA) as w:
        w.write_table(pos_files.rejects_table(batch.rejects))


def best_seconds(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(store: Any, key: str, repeat: int) -> dict[str, Any]:
    import dagster as dg

    from voyado_sync.defs.receipts import SPEC
    from voyado_sync.lookups.documents import raw_documents
    from voyado_sync.seam import Step, build_and_store

    orders = raw_documents(store, "commercetools/orders", key)
    pos = raw_documents(store, "pos/receipts", key)
    texts = orders + pos
    step = Step(dg.build_asset_context(partition_key=key), store, state_db=None)
    loads_s = best_seconds(lambda: [json.loads(t) for t in texts], repeat)
    result: dict[str, Any] = {}

    def run() -> None:
        result["built"], result["checks"] = build_and_store(SPEC, step)

    prod_s = best_seconds(run, repeat)
    frame = result["built"].frame
    statuses = frame.groupby(["kind", "status"]).size()
    n = len(texts)
    return {
        "orders": len(orders), "pos_receipts": len(pos), "documents": n,
        "mean_document_bytes": round(sum(map(len, texts)) / max(n, 1)),
        "production_seconds": round(prod_s, 3), "production_documents_per_s": round(n / prod_s),
        "production_orders_per_s": round(len(orders) / prod_s),
        "json_loads_documents_per_s": round(n / loads_s),
        "production_ratio_to_json_loads": round(loads_s / prod_s, 3),
        "results": {f"{k}/{s}": int(v) for (k, s), v in statuses.items()},
        "checks_passed": {c.check_name: bool(c.passed) for c in result["checks"]},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--pos", type=int, default=6_000, help="generated over three days; about a third are the day's")
    ap.add_argument("--examples", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, for both sides

    with tempfile.TemporaryDirectory(prefix="voyado_bench_mapping_") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["VOYADO_SYNC_CONFIG_DIR"] = str(config_dir(tmp))
        from voyado_sync.storage import PartitionStore

        store = PartitionStore(tmp / "data")
        orders, pos = generator_documents(args.orders, args.pos)
        write_orders(store, DAY, orders)
        write_pos(store, DAY, pos, tmp)
        write_orders(store, EXAMPLES_DAY, example_orders(args.examples))
        del orders, pos
        gc.collect()

        figures = {"generator": measure(store, DAY, args.repeat), "examples": measure(store, EXAMPLES_DAY, args.repeat)}
    for source, f in figures.items():
        print(f"{source}: {f['orders']} orders + {f['pos_receipts']} POS receipts, mean {f['mean_document_bytes']} "
              f"bytes of JSON per document")
        print(f"  production path: {f['production_documents_per_s']:,} documents/s "
              f"({f['production_orders_per_s']:,} orders/s, {f['production_seconds']} s)")
        print(f"  json.loads:      {f['json_loads_documents_per_s']:,} documents/s -> ratio "
              f"{f['production_ratio_to_json_loads']}")
        print(f"  results: {f['results']}; checks: {f['checks_passed']}")
    gen = figures["generator"]
    ratio = gen["production_ratio_to_json_loads"]
    print(json.dumps({
        "benchmark": "mapping", "path": "voyado_sync.seam.build_and_store(defs.receipts.SPEC)",
        "orders": gen["orders"], "pos_receipts": gen["pos_receipts"],
        "mean_document_bytes": gen["mean_document_bytes"],
        "orders_per_s": gen["production_orders_per_s"], "documents_per_s": gen["production_documents_per_s"],
        "json_loads_documents_per_s": gen["json_loads_documents_per_s"],
        "production_ratio_to_json_loads": ratio,
        "examples_orders_per_s": figures["examples"]["production_orders_per_s"],
        "examples_json_loads_per_s": figures["examples"]["json_loads_documents_per_s"],
        "examples_ratio_to_json_loads": figures["examples"]["production_ratio_to_json_loads"],
        "examples_mean_document_bytes": figures["examples"]["mean_document_bytes"],
        "generator_results": gen["results"], "examples_results": figures["examples"]["results"],
        "target_ratio": TARGET_RATIO, "meets_target": ratio >= TARGET_RATIO,
    }))
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
