"""POS receipt file drops (CSV or JSON/NDJSON, schema in team/POS_SCHEMA.md) → typed receipt rows or rejects.

A receipt is all-or-nothing: one malformed line (or CSV row) rejects its whole receipt with the reason,
because a receipt missing a line would send Voyado a wrong total. Other receipts of the file still load.
A receipt's partition is the local date of its ``created_at`` in the configured time zone, not the file
name; file names (``<store>_<YYYY-MM-DD>_<anything>``) are only used to skip files that cannot hold it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from voyado_sync.extract.flatten import MONEY, TS, raw_json
from voyado_sync.extract.windows import partition_key_of
from voyado_sync.money import MoneyError, decimal_text, is_known_currency

PAYMENT_METHODS = frozenset({"card", "cash", "giftcard", "voucher", "swish"})
CSV_COLUMNS = ("receipt_id", "store_id", "register_id", "receipt_number", "created_at", "currency", "member_number",
               "card_id", "phone", "email", "country", "line_id", "sku", "name", "quantity", "unit_price", "discount",
               "line_total", "tax_rate", "payments", "total")
_RECEIPT_COLUMNS = CSV_COLUMNS[:11] + ("payments", "total")
_FILE_RE = re.compile(r"^(?P<store>.+?)_(?P<day>\d{4}-\d{2}-\d{2})_.*\.(?P<ext>json|ndjson|csv)$", re.IGNORECASE)

LINE = pa.struct([
    pa.field("line_id", pa.string()), pa.field("sku", pa.string()), pa.field("name", pa.string()),
    pa.field("quantity", pa.int64()), pa.field("unit_price", MONEY), pa.field("discount", MONEY),
    pa.field("line_total", MONEY), pa.field("tax_rate", MONEY),
])
PAYMENT = pa.struct([pa.field("method", pa.string()), pa.field("amount", MONEY), pa.field("reference", pa.string())])
RECEIPT_SCHEMA = pa.schema([
    pa.field("receipt_id", pa.string(), nullable=False), pa.field("store_id", pa.string()),
    pa.field("register_id", pa.string()), pa.field("receipt_number", pa.string()), pa.field("created_at", TS),
    pa.field("created_at_local", pa.string()), pa.field("currency", pa.string()),
    pa.field("member_number", pa.string()), pa.field("card_id", pa.string()), pa.field("phone", pa.string()),
    pa.field("email", pa.string()), pa.field("country", pa.string()), pa.field("lines", pa.list_(LINE)),
    pa.field("payments", pa.list_(PAYMENT)), pa.field("total", MONEY), pa.field("line_count", pa.int64()),
    pa.field("has_returns", pa.bool_()), pa.field("source_file", pa.string()),
    pa.field("raw", pa.string(), nullable=False),
])
REJECT_SCHEMA = pa.schema([
    pa.field("source_file", pa.string()), pa.field("location", pa.string()), pa.field("receipt_id", pa.string()),
    pa.field("partition_key", pa.string()), pa.field("reason", pa.string(), nullable=False),
    pa.field("raw", pa.string(), nullable=False),
])


class PosError(ValueError):
    pass


@dataclass
class PosBatch:
    receipts: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    files: int = 0


# --- field parsing -----------------------------------------------------------------------------------
def _text(value: Any, name: str, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise PosError(f"{name} is missing")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise PosError(f"{name} must be a string, got {value!r}")
    return str(value).strip()


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise PosError(f"{name} must be a decimal string, got {value!r}")
    try:
        return decimal_text(value)
    except MoneyError as exc:
        raise PosError(f"{name} {value!r} {exc}") from None


def _quantity(value: Any, name: str) -> int:
    try:
        q = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        q = None
    if q is None or q == 0:
        raise PosError(f"{name} {value!r} is not a non-zero integer")
    return q


def _created_at(value: Any) -> datetime:
    text = _text(value, "created_at", required=True)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))  # type: ignore[union-attr]
    except ValueError:
        raise PosError(f"created_at {text!r} is not an ISO-8601 timestamp") from None
    if ts.tzinfo is None:
        raise PosError(f"created_at {text!r} has no UTC offset")
    return ts


def _payments_csv(value: Any) -> list[dict[str, Any]]:
    text = _text(value, "payments", required=True)
    out = []
    for part in text.split("|"):  # type: ignore[union-attr]
        bits = part.split(":", 2)
        if len(bits) < 2:
            raise PosError(f"payment {part!r} is not method:amount[:reference]")
        out.append({"method": bits[0], "amount": bits[1], "reference": bits[2] if len(bits) > 2 else None})
    return out


def normalize_receipt(doc: Any, tz: str, source_file: str) -> dict[str, Any]:
    """Validate one receipt (the JSON shape) and return its typed row; raises PosError with the reason."""
    if not isinstance(doc, dict):
        raise PosError(f"receipt is a {type(doc).__name__}, not an object")
    created = _created_at(doc.get("created_at"))
    currency = _text(doc.get("currency"), "currency", required=True)
    if not is_known_currency(currency):
        raise PosError(f"currency {currency!r} is not a known ISO 4217 code")
    customer = doc.get("customer") or {}
    if not isinstance(customer, dict):
        raise PosError("customer must be an object")
    raw_lines = doc.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise PosError("lines must be a non-empty array")
    lines = []
    for i, line in enumerate(raw_lines):
        if not isinstance(line, dict):
            raise PosError(f"lines[{i}] is not an object")
        where = f"lines[{i}]"
        lines.append({
            "line_id": _text(line.get("line_id"), f"{where}.line_id", required=True),
            "sku": _text(line.get("sku"), f"{where}.sku", required=True),
            "name": _text(line.get("name"), f"{where}.name"),
            "quantity": _quantity(line.get("quantity"), f"{where}.quantity"),
            "unit_price": _decimal(line.get("unit_price"), f"{where}.unit_price"),
            "discount": _decimal(line.get("discount", "0"), f"{where}.discount"),
            "line_total": _decimal(line.get("line_total"), f"{where}.line_total"),
            "tax_rate": _decimal(line.get("tax_rate", "0"), f"{where}.tax_rate"),
        })
    raw_payments = doc.get("payments") or []
    if not isinstance(raw_payments, list):
        raise PosError("payments must be an array")
    payments = []
    for i, p in enumerate(raw_payments):
        if not isinstance(p, dict):
            raise PosError(f"payments[{i}] is not an object")
        method = _text(p.get("method"), f"payments[{i}].method", required=True)
        if method not in PAYMENT_METHODS:
            raise PosError(f"payments[{i}].method {method!r} is not one of {sorted(PAYMENT_METHODS)}")
        payments.append({"method": method, "amount": _decimal(p.get("amount"), f"payments[{i}].amount"),
                         "reference": _text(p.get("reference"), f"payments[{i}].reference")})
    total = _decimal(doc.get("total"), "total")
    lines_sum = sum((li["line_total"] for li in lines), Decimal(0))
    if lines_sum != total:
        raise PosError(f"line totals add up to {lines_sum}, not the receipt total {total}")
    return {
        "receipt_id": _text(doc.get("receipt_id"), "receipt_id", required=True),
        "store_id": _text(doc.get("store_id"), "store_id", required=True),
        "register_id": _text(doc.get("register_id"), "register_id"),
        "receipt_number": _text(doc.get("receipt_number"), "receipt_number"),
        "created_at": created.astimezone(timezone.utc), "created_at_local": created.isoformat(),
        "currency": currency,
        "member_number": _text(customer.get("member_number"), "customer.member_number"),
        "card_id": _text(customer.get("card_id"), "customer.card_id"),
        "phone": _text(customer.get("phone"), "customer.phone"),
        "email": _text(customer.get("email"), "customer.email"),
        "country": _text(customer.get("country"), "customer.country"),
        "lines": lines, "payments": payments, "total": total, "line_count": len(lines),
        "has_returns": any(li["quantity"] < 0 for li in lines), "source_file": source_file,
        # raw is the JSON shape of POS_SCHEMA.md whatever the file format (CSV quantities become integers).
        "raw": raw_json({**doc, "lines": [{**line, "quantity": parsed["quantity"]}
                                          for line, parsed in zip(raw_lines, lines)]}),
        "partition_key": partition_key_of(created, tz),
    }


# --- file formats ------------------------------------------------------------------------------------
def _json_records(text: str) -> Iterator[tuple[str, Any, str | None]]:
    """(location, record, error) per receipt of a JSON array or NDJSON file."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            yield "file", text[:2000], f"file is not valid JSON: {exc}"
            return
        for i, rec in enumerate(records):
            yield f"record {i}", rec, None
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line), None
        except json.JSONDecodeError as exc:
            yield f"line {n}", line, f"line is not valid JSON: {exc}"


def _csv_records(text: str) -> Iterator[tuple[str, Any, str | None]]:
    """Group CSV rows into receipts in the JSON shape; any bad row poisons its receipt."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        yield "header", ",".join(header), f"CSV header lacks column(s): {', '.join(missing)}"
        return
    receipts: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for n, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            rid = values[0].strip() if values else ""
            reason = f"row {n}: {len(values)} fields, expected {len(header)}"
            if rid and rid not in errors:
                errors[rid] = reason
                first_row.setdefault(rid, n)
                receipts.setdefault(rid, {"receipt_id": rid})
            elif not rid:
                yield f"row {n}", ",".join(values), reason
            continue
        row = dict(zip(header, values))
        rid = row["receipt_id"].strip()
        if not rid:
            yield f"row {n}", row, "receipt_id is missing"
            continue
        line = {k: row[k] for k in ("line_id", "sku", "name", "quantity", "unit_price", "discount", "line_total",
                                    "tax_rate")}
        if rid not in receipts:
            first_row[rid] = n
            rec = {k: row[k] for k in _RECEIPT_COLUMNS if k not in ("member_number", "card_id", "phone", "email",
                                                                    "country", "payments")}
            rec["customer"] = {k: (row[k] or None) for k in ("member_number", "card_id", "phone", "email", "country")}
            rec["lines"] = []
            rec["_payments"] = row["payments"]
            receipts[rid] = rec
        rec = receipts[rid]
        if "lines" not in rec:  # receipt already poisoned by a short row
            continue
        same = all(rec.get(k) == row[k] for k in ("store_id", "created_at", "currency", "total"))
        if not same and rid not in errors:
            errors[rid] = f"row {n}: receipt-level columns differ from row {first_row[rid]}"
        rec["lines"].append(line)
    for rid, rec in receipts.items():
        where = f"rows from {first_row[rid]}"
        if rid in errors:
            yield where, rec, errors[rid]
            continue
        try:
            rec["payments"] = _payments_csv(rec.pop("_payments"))
        except PosError as exc:
            yield where, rec, str(exc)
            continue
        yield where, rec, None


def parse_pos_file(path: Path, tz: str) -> PosBatch:
    batch = PosBatch(files=1)
    name = path.name
    file_day = _file_day(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        batch.rejects.append(_reject(name, "file", None, file_day, f"cannot read file: {exc}", ""))
        return batch
    records = _csv_records(text) if path.suffix.lower() == ".csv" else _json_records(text)
    for location, record, error in records:
        rid = record.get("receipt_id") if isinstance(record, dict) else None
        rid = rid if isinstance(rid, str) else None
        if error is None:
            try:
                batch.receipts.append(normalize_receipt(record, tz, name))
                continue
            except PosError as exc:
                error = str(exc)
        batch.rejects.append(_reject(name, location, rid, _partition_hint(record, tz) or file_day, error, record))
    return batch


def _reject(source: str, location: str, rid: str | None, key: str | None, reason: str, record: Any) -> dict:
    return {"source_file": source, "location": location, "receipt_id": rid, "partition_key": key, "reason": reason,
            "raw": record if isinstance(record, str) else raw_json(record)}


def _partition_hint(record: Any, tz: str) -> str | None:
    try:
        return partition_key_of(_created_at(record.get("created_at")), tz) if isinstance(record, dict) else None
    except PosError:
        return None


def _file_day(path: Path) -> str | None:
    m = _FILE_RE.match(path.name)
    return m.group("day") if m else None


def drop_files(drop_dir: Path) -> list[Path]:
    if not drop_dir.exists():
        return []
    return sorted(p for p in drop_dir.rglob("*") if p.is_file() and p.suffix.lower() in (".json", ".ndjson", ".csv"))


def read_partition(drop_dir: Path, partition_key: str, tz: str) -> PosBatch:
    """Receipts (and rejects) of one partition from every file that can hold it, deduplicated by receipt_id."""
    day = date.fromisoformat(partition_key)
    near = {(day + timedelta(days=d)).isoformat() for d in (-1, 0, 1)}
    out = PosBatch()
    seen: dict[str, dict[str, Any]] = {}
    for path in drop_files(drop_dir):
        file_day = _file_day(path)
        if file_day is not None and file_day not in near:
            continue
        batch = parse_pos_file(path, tz)
        out.files += 1
        out.rejects += [r for r in batch.rejects if r["partition_key"] in (partition_key, None)]
        for rec in batch.receipts:
            if rec["partition_key"] != partition_key:
                continue
            prev = seen.get(rec["receipt_id"])
            if prev is None:
                seen[rec["receipt_id"]] = rec
            elif prev["raw"] == rec["raw"]:
                out.duplicates += 1  # the same file dropped twice is harmless
            else:
                out.rejects.append(_reject(rec["source_file"], "receipt", rec["receipt_id"], partition_key,
                                           f"receipt_id also in {prev['source_file']} with different content",
                                           json.loads(rec["raw"])))
    out.receipts = sorted(seen.values(), key=lambda r: (r["created_at"], r["receipt_id"]))
    return out


def receipts_table(receipts: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([{k: v for k, v in r.items() if k != "partition_key"} for r in receipts],
                                schema=RECEIPT_SCHEMA)


def rejects_table(rejects: Iterable[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rejects), schema=REJECT_SCHEMA)
