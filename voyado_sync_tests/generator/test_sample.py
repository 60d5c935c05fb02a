"""The committed sample is small, loads, is consistent, and is exactly what the code generates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from voyado_sync.sandbox.generator import check_dataset_orders, generate, read_dataset, write_dataset

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "manifest.json").exists():
        pytest.fail(f"{SAMPLE} is missing; regenerate it (see data/sample/README.md)")
    return read_dataset(SAMPLE)


def test_sample_is_small_and_documented():
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size <= 2 * 1024 * 1024, f"data/sample is {size} bytes (limit 2 MB)"
    assert (SAMPLE / "README.md").read_text().count("--anchor-date 2026-11-26") == 1


def test_sample_loads_and_is_consistent(sample):
    assert sample.config.anchor_date.isoformat() == "2026-11-26"
    assert sample.orders and sample.pos_receipts and sample.voyado_contacts and sample.customers
    assert check_dataset_orders(sample.orders, sample.payments) == []
    assert len(sample.ground_truth) == (len(sample.customers) + len(sample.orders) + len(sample.pos_receipts)
                                        + len(sample.voyado_contacts))


def test_sample_is_in_sync_with_the_generator(sample, tmp_path):
    fresh = write_dataset(generate(sample.config), tmp_path / "fresh")

    def digest(folder: Path) -> dict[str, str]:
        return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "README.md"}

    assert digest(SAMPLE) == digest(fresh), \
        "data/sample differs from what the generator now produces: regenerate it (data/sample/README.md)"
