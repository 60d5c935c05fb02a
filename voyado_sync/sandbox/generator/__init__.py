"""Seeded, realistic data for the sandboxes: a Nordic/European shop in Commercetools shapes, POS
receipt files, Voyado contacts, and the ground truth (the real person behind every record).

    from voyado_sync.sandbox.generator import GeneratorConfig, generate, write_dataset, read_dataset
    ds = generate(GeneratorConfig(seed=42, persons=300, orders=800, days=3))
"""

from voyado_sync.sandbox.generator.checks import check_dataset_orders, check_order_money, check_order_payments
from voyado_sync.sandbox.generator.cli import cli
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.dataset import GROUND_TRUTH_COLUMNS, Dataset, generate, iter_orders
from voyado_sync.sandbox.generator.io import read_dataset, write_dataset
from voyado_sync.sandbox.generator.pos import dumps_csv, dumps_json, loads_csv, loads_json, read_receipt_file

__all__ = ["GeneratorConfig", "Dataset", "generate", "iter_orders", "write_dataset", "read_dataset", "cli",
           "GROUND_TRUTH_COLUMNS", "check_order_money", "check_order_payments", "check_dataset_orders",
           "dumps_csv", "dumps_json", "loads_csv", "loads_json", "read_receipt_file"]
