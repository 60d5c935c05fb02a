"""POS receipts for the physical stores, and the file drop writer/reader.

The contract (team/POS_SCHEMA.md, shared with the extraction), restated here:

Files land in the POS drop folder, named ``<store_id>_<YYYY-MM-DD>_<anything>.json`` or ``.csv``. The
partition of a receipt is the local date of ``created_at`` in the configured time zone (not the file
name). Amounts are decimal strings in major units of the receipt currency ("199.00", JPY "1200").
A negative quantity is a returned line.

JSON (an array of receipts, or NDJSON: one receipt per line)::

    {
      "receipt_id": "POS-STO-SE-01-20261126-000123",   # unique per receipt, stable
      "store_id": "STO-SE-01",                          # physical store key (= Commercetools channel key)
      "register_id": "R2",
      "receipt_number": "000123",
      "created_at": "2026-11-26T14:05:00+01:00",        # local time with offset
      "currency": "SEK",
      "customer": {"member_number": "M100234" | null, "card_id": "C-889912" | null,
                   "phone": "070-123 45 67" | null, "email": "x@y.se" | null, "country": "SE"},
      "lines": [{"line_id": "1", "sku": "SKU-123-M", "name": "Shirt", "quantity": 1, "unit_price": "299.00",
                 "discount": "0.00", "line_total": "299.00", "tax_rate": "25"}],   # line_total = gross paid incl. tax
      "payments": [{"method": "card" | "cash" | "giftcard" | "voucher" | "swish", "amount": "299.00",
                    "reference": null}],
      "total": "299.00"
    }

CSV (one row per line; receipt-level columns repeated on every line of the receipt)::

    receipt_id,store_id,register_id,receipt_number,created_at,currency,member_number,card_id,phone,email,country,
    line_id,sku,name,quantity,unit_price,discount,line_total,tax_rate,payments,total

``payments`` encodes all payments of the receipt: ``method:amount[:reference]`` joined by ``|``, e.g.
``card:200.00|giftcard:99.00:GC-1234``. An empty CSV cell is null.

Invariants the generator keeps: line_total = quantity × unit_price − discount; total = Σ line_total =
Σ payment amounts; return receipts have negative quantities, line totals, total and payment amounts."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from voyado_sync.sandbox.generator.catalog import Catalog
from voyado_sync.sandbox.generator.common import (
    MARKETS, PHYSICAL_STORES, STORES_BY_COUNTRY, TAX_RATES, format_rate_percent, half_even, major, pick)
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.people import GARBAGE_EMAILS, GARBAGE_PHONES, Noise, Person

CSV_COLUMNS = ("receipt_id", "store_id", "register_id", "receipt_number", "created_at", "currency", "member_number",
               "card_id", "phone", "email", "country", "line_id", "sku", "name", "quantity", "unit_price", "discount",
               "line_total", "tax_rate", "payments", "total")
CUSTOMER_FIELDS = ("member_number", "card_id", "phone", "email", "country")
LINE_FIELDS = ("line_id", "sku", "name", "quantity", "unit_price", "discount", "line_total", "tax_rate")
_LOCALE_INDEX = {"SE": "sv-SE", "NO": "nb-NO", "DK": "da-DK", "FI": "fi-FI", "DE": "de-DE"}
# Garbage that survives a CSV round trip (an empty cell reads back as null, which is not garbage).
POS_GARBAGE_PHONES = tuple(g for g in GARBAGE_PHONES if g.strip())
POS_GARBAGE_EMAILS = tuple(g for g in GARBAGE_EMAILS if g.strip())


def build_receipts(cfg: GeneratorConfig, persons: list[Person], cat: Catalog) -> tuple[list[dict[str, Any]], list[str]]:
    """(receipts sorted by store and time, true person_id of each)"""
    rng = cfg.rng("pos")
    noise = Noise(rng, cfg.garbage_share)
    shoppers = [p for p in persons if p.shops_in_store and STORES_BY_COUNTRY.get(p.country)]
    weights = [p.weight for p in shoppers]
    start, end = cfg.window_start, cfg.window_end
    mid = start + (end - start) / 2
    drafts: list[tuple[str, datetime, dict[str, Any], str]] = []
    for _ in range(cfg.pos_receipts):
        anonymous = not shoppers or rng.random() < cfg.anonymous_pos_share
        person = pick(rng, persons) if anonymous else rng.choices(shoppers, weights)[0]
        stores = STORES_BY_COUNTRY.get(person.country) or tuple(PHYSICAL_STORES)
        store = pick(rng, stores)
        country = PHYSICAL_STORES[store][0]
        market = MARKETS[country]
        tz = ZoneInfo(market.tz)
        while True:
            day = start.date() + timedelta(days=rng.randrange(cfg.days))
            local = datetime(day.year, day.month, day.day, rng.randint(9, 19), rng.randrange(60), rng.randrange(60),
                             tzinfo=tz)
            if start <= local.astimezone(timezone.utc) <= end:
                break
        customer = _customer(rng, noise, person, country, anonymous, local.astimezone(timezone.utc) < mid)
        is_return = rng.random() < cfg.pos_return_share
        lines = _lines(rng, cat, country, market.currency, is_return, member=customer["member_number"] is not None)
        total = sum(c for _, c in lines)
        payments = _payments(rng, country, market.currency, total)
        receipt = {"receipt_id": "", "store_id": store, "register_id": f"R{rng.randint(1, 4)}", "receipt_number": "",
                   "created_at": local.isoformat(timespec="seconds"), "currency": market.currency,
                   "customer": customer, "lines": [ln for ln, _ in lines], "payments": payments,
                   "total": major(total, market.currency)}
        drafts.append((store, local, receipt, person.person_id))
    drafts.sort(key=lambda d: (d[0], d[1]))
    counters: dict[tuple[str, str], int] = defaultdict(int)
    receipts, truth = [], []
    for store, local, receipt, pid in drafts:
        day = local.date().isoformat()
        counters[(store, day)] += 1
        number = f"{counters[(store, day)]:06d}"
        receipt["receipt_number"] = number
        receipt["receipt_id"] = f"POS-{store}-{day.replace('-', '')}-{number}"
        receipts.append(receipt)
        truth.append(pid)
    return receipts, truth


def _customer(rng, noise: Noise, p: Person, country: str, anonymous: bool, early: bool) -> dict[str, Any]:
    c: dict[str, Any] = {"member_number": None, "card_id": None, "phone": None, "email": None, "country": country}
    if anonymous:
        return c
    phone = p.old_phone if early and p.old_phone else p.any_phone
    r = rng.random()
    if p.member_number and r < 0.6:
        c["member_number"] = p.member_number
        if phone is not None and rng.random() < 0.3:
            c["phone"] = noise.phone(phone)
    elif p.card_id and r < 0.8:
        c["card_id"] = p.card_id
    elif phone is not None and r < 0.95:
        c["phone"] = noise.phone(phone)
    else:
        c["email"] = noise.email(p.email)
    if noise.garbage():
        if rng.random() < 0.5:
            c["phone"] = pick(rng, POS_GARBAGE_PHONES)
        else:
            c["email"] = pick(rng, POS_GARBAGE_EMAILS)
    return c


def _lines(rng, cat: Catalog, country: str, currency: str, is_return: bool, member: bool) -> list[tuple[dict, int]]:
    n = 1 if is_return else rng.choices((1, 2, 3, 4), cum_weights=(40, 75, 92, 100))[0]
    loc = _LOCALE_INDEX[country]
    out = []
    for i in range(n):
        s = pick(rng, cat.sellables)
        unit = s.price_for(currency, country)["value"]["centAmount"]
        q = -1 if is_return else rng.choices((1, 2, 3), cum_weights=(80, 95, 100))[0]
        discount = half_even(Decimal(unit * q) * Decimal("0.1")) if member and not is_return and rng.random() < 0.3 else 0
        total = unit * q - discount
        out.append(({"line_id": str(i + 1), "sku": s.sku, "name": s.product["name"][loc], "quantity": q,
                     "unit_price": major(unit, currency), "discount": major(discount, currency),
                     "line_total": major(total, currency),
                     "tax_rate": format_rate_percent(TAX_RATES[(country, s.tax_category)])}, total))
    return out


def _payments(rng, country: str, currency: str, total: int) -> list[dict[str, Any]]:
    if total < 0:
        return [{"method": "card", "amount": major(total, currency), "reference": None}]
    methods = ["card"] * 6 + ["cash"] + (["swish"] * 2 if country == "SE" else [])
    parts: list[tuple[str, int, str | None]] = []
    if total > 1 and rng.random() < 0.12:
        gc = max(1, min(total - 1, half_even(Decimal(total) * Decimal("0.4"))))
        if rng.random() < 0.7:
            parts.append(("giftcard", gc, f"GC-{rng.randrange(10 ** 6):06d}"))
        else:
            parts.append(("voucher", gc, f"V-{rng.randrange(10 ** 5):05d}"))
        total -= gc
    parts.insert(0, (pick(rng, methods), total, None))
    return [{"method": m, "amount": major(a, currency), "reference": r} for m, a, r in parts]


def receipt_total_cents(receipt: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """(Σ line_total, total, Σ payments) as Decimals, for invariant checks."""
    lines = sum((Decimal(ln["line_total"]) for ln in receipt["lines"]), Decimal(0))
    pays = sum((Decimal(p["amount"]) for p in receipt["payments"]), Decimal(0))
    return lines, Decimal(receipt["total"]), pays


# --- files -----------------------------------------------------------------------------------------
def receipt_files(cfg: GeneratorConfig, receipts: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Plan the drop: (file name, format "json" | "ndjson" | "csv", receipts) per file; one store and
    local day per file, at most ``pos_receipts_per_file`` receipts, formats mixed."""
    rng = cfg.rng("pos-files")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in receipts:
        groups[(r["store_id"], r["created_at"][:10])].append(r)
    plan = []
    for (store, day), rs in sorted(groups.items()):
        size = cfg.pos_receipts_per_file
        for k in range(0, len(rs), size):
            fmt = rng.choices(("csv", "json", "ndjson"), cum_weights=(45, 85, 100))[0]
            ext = "csv" if fmt == "csv" else "json"
            plan.append((f"{store}_{day}_{k // size + 1:03d}.{ext}", fmt, rs[k:k + size]))
    return plan


def dumps_csv(receipts: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in receipts:
        cust = r["customer"]
        head = [r["receipt_id"], r["store_id"], r["register_id"], r["receipt_number"], r["created_at"], r["currency"],
                *(_cell(cust.get(f)) for f in CUSTOMER_FIELDS)]
        pays = "|".join(f"{p['method']}:{p['amount']}" + (f":{p['reference']}" if p.get("reference") else "")
                        for p in r["payments"])
        for ln in r["lines"]:
            w.writerow([*head, *(_cell(ln[f]) for f in LINE_FIELDS), pays, r["total"]])
    return buf.getvalue()


def _cell(v: Any) -> str:
    return "" if v is None else str(v)


def dumps_json(receipts: list[dict[str, Any]], ndjson: bool = False) -> str:
    if ndjson:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in receipts)
    return json.dumps(receipts, ensure_ascii=False, indent=1) + "\n"


def write_receipt_files(cfg: GeneratorConfig, receipts: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fmt, rs in receipt_files(cfg, receipts):
        text = dumps_csv(rs) if fmt == "csv" else dumps_json(rs, ndjson=fmt == "ndjson")
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def loads_csv(text: str) -> list[dict[str, Any]]:
    rows = csv.DictReader(io.StringIO(text))
    if tuple(rows.fieldnames or ()) != CSV_COLUMNS:
        raise ValueError(f"CSV header {rows.fieldnames} does not match the POS schema")
    receipts: dict[str, dict[str, Any]] = {}
    for row in rows:
        r = receipts.get(row["receipt_id"])
        if r is None:
            r = receipts[row["receipt_id"]] = {
                "receipt_id": row["receipt_id"], "store_id": row["store_id"], "register_id": row["register_id"],
                "receipt_number": row["receipt_number"], "created_at": row["created_at"], "currency": row["currency"],
                "customer": {f: row[f] or None for f in CUSTOMER_FIELDS}, "lines": [],
                "payments": [_payment(p) for p in row["payments"].split("|") if p], "total": row["total"]}
        line = {f: row[f] for f in LINE_FIELDS}
        line["quantity"] = int(line["quantity"])
        r["lines"].append(line)
    return list(receipts.values())


def _payment(token: str) -> dict[str, Any]:
    method, amount, *ref = token.split(":", 2)
    return {"method": method, "amount": amount, "reference": ref[0] if ref and ref[0] else None}


def loads_json(text: str) -> list[dict[str, Any]]:
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(stripped)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def read_receipt_file(path: Path) -> list[dict[str, Any]]:
    text = Path(path).read_text(encoding="utf-8")
    return loads_csv(text) if str(path).lower().endswith(".csv") else loads_json(text)


def read_receipt_dir(pos_dir: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted(Path(pos_dir).glob("*")):
        if path.suffix.lower() in (".json", ".ndjson", ".csv"):
            out.extend(read_receipt_file(path))
    return sorted(out, key=lambda r: r["receipt_id"])
