"""POS receipts follow team/POS_SCHEMA.md exactly, in JSON, NDJSON and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from voyado_sync.money import minor_units
from voyado_sync.sandbox.generator import dumps_csv, dumps_json, loads_csv, loads_json, read_receipt_file, write_dataset
from voyado_sync.sandbox.generator.pos import CSV_COLUMNS, receipt_files

RECEIPT_KEYS = {"receipt_id", "store_id", "register_id", "receipt_number", "created_at", "currency", "customer",
                "lines", "payments", "total"}
CUSTOMER_KEYS = {"member_number", "card_id", "phone", "email", "country"}
LINE_KEYS = {"line_id", "sku", "name", "quantity", "unit_price", "discount", "line_total", "tax_rate"}
PAYMENT_KEYS = {"method", "amount", "reference"}
SCHEMA_CSV_HEADER = ("receipt_id,store_id,register_id,receipt_number,created_at,currency,member_number,card_id,phone,"
                     "email,country,line_id,sku,name,quantity,unit_price,discount,line_total,tax_rate,payments,total")
TZ = {"SE": "Europe/Stockholm", "NO": "Europe/Oslo", "DK": "Europe/Copenhagen", "FI": "Europe/Helsinki",
      "DE": "Europe/Berlin"}


def _amount(s: str, currency: str) -> Decimal:
    assert isinstance(s, str), s
    d = Decimal(s)
    assert -d.as_tuple().exponent == minor_units(currency), (s, currency)  # "199.00", JPY "1200"
    return d


def test_receipts_have_exactly_the_schema_fields_and_types(ds):
    assert ds.pos_receipts
    for r in ds.pos_receipts:
        assert set(r) == RECEIPT_KEYS and set(r["customer"]) == CUSTOMER_KEYS
        assert re.fullmatch(r"POS-STO-[A-Z]{2}-\d{2}-\d{8}-\d{6}", r["receipt_id"])
        assert r["receipt_id"].endswith(r["receipt_number"]) and r["receipt_id"].startswith(f"POS-{r['store_id']}-")
        created = datetime.fromisoformat(r["created_at"])
        country = r["customer"]["country"]
        assert created.utcoffset() == created.astimezone(ZoneInfo(TZ[country])).utcoffset()  # local time + offset
        assert r["store_id"][4:6] == country
        assert r["receipt_id"][-15:-7] == created.strftime("%Y%m%d")
        for v in r["customer"].values():
            assert v is None or (isinstance(v, str) and v != "")
        cur = r["currency"]
        lines_sum = Decimal(0)
        for ln in r["lines"]:
            assert set(ln) == LINE_KEYS and isinstance(ln["quantity"], int) and ln["quantity"] != 0
            assert isinstance(ln["line_id"], str) and isinstance(ln["tax_rate"], str)
            unit, disc, total = (_amount(ln[k], cur) for k in ("unit_price", "discount", "line_total"))
            assert total == unit * ln["quantity"] - disc
            Decimal(ln["tax_rate"])
            lines_sum += total
        for p in r["payments"]:
            assert set(p) == PAYMENT_KEYS and p["method"] in ("card", "cash", "giftcard", "voucher", "swish")
        pays = sum(_amount(p["amount"], cur) for p in r["payments"])
        assert _amount(r["total"], cur) == lines_sum == pays
    assert any(ln["quantity"] < 0 for r in ds.pos_receipts for ln in r["lines"])  # returns
    assert any(len(r["payments"]) > 1 and r["payments"][1]["reference"] for r in ds.pos_receipts)
    assert {ln["tax_rate"] for r in ds.pos_receipts for ln in r["lines"]} >= {"25", "12", "19"}
    ids = [r["receipt_id"] for r in ds.pos_receipts]
    assert len(ids) == len(set(ids))


def test_csv_matches_the_schema_header_and_round_trips(ds):
    text = dumps_csv(ds.pos_receipts)
    assert text.splitlines()[0] == SCHEMA_CSV_HEADER == ",".join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(r["lines"]) for r in ds.pos_receipts)
    multi = next(r for r in ds.pos_receipts if len(r["payments"]) > 1 and r["payments"][1]["reference"])
    row = next(x for x in rows if x["receipt_id"] == multi["receipt_id"])
    p0, p1 = multi["payments"]
    assert row["payments"] == f"{p0['method']}:{p0['amount']}|{p1['method']}:{p1['amount']}:{p1['reference']}"
    assert loads_csv(text) == ds.pos_receipts


@pytest.mark.parametrize("ndjson", [False, True])
def test_json_round_trips(ds, ndjson):
    text = dumps_json(ds.pos_receipts, ndjson=ndjson)
    assert text.lstrip().startswith("[") != ndjson
    assert loads_json(text) == ds.pos_receipts


def test_written_files_mix_formats_and_name_store_and_local_day(ds, tmp_path):
    write_dataset(ds, tmp_path)
    files = sorted((tmp_path / "pos").iterdir())
    kinds = set()
    back = []
    for f in files:
        m = re.fullmatch(r"(STO-[A-Z]{2}-\d{2})_(\d{4}-\d{2}-\d{2})_(\d{3})\.(json|csv)", f.name)
        assert m, f.name
        text = f.read_text(encoding="utf-8")
        kinds.add("csv" if f.suffix == ".csv" else ("array" if text.startswith("[") else "ndjson"))
        receipts = read_receipt_file(f)
        assert 0 < len(receipts) <= ds.config.pos_receipts_per_file
        assert {r["store_id"] for r in receipts} == {m.group(1)}
        assert {r["created_at"][:10] for r in receipts} == {m.group(2)}
        back += receipts
    assert kinds == {"csv", "array", "ndjson"}
    assert sorted(back, key=lambda r: r["receipt_id"]) == sorted(ds.pos_receipts, key=lambda r: r["receipt_id"])
    assert len(receipt_files(ds.config, ds.pos_receipts)) == len(files)


def test_the_extraction_reads_every_generated_file_without_rejects(ds, tmp_path):
    """Cross-check of the shared contract against the consumer's parser."""
    pos_files = pytest.importorskip("voyado_sync.extract.pos_files")
    write_dataset(ds, tmp_path)
    parsed, rejects = [], []
    for f in sorted((tmp_path / "pos").iterdir()):
        batch = pos_files.parse_pos_file(f, "Europe/Stockholm")
        parsed += batch.receipts
        rejects += batch.rejects
    assert rejects == []
    assert sorted(r["receipt_id"] for r in parsed) == sorted(r["receipt_id"] for r in ds.pos_receipts)
