"""POS receipts from the file drop (team/POS_SCHEMA.md) -> the same Voyado receipt payload (pure).

- ``uniqueReceiptId`` = ``<pos_prefix><receipt_id>`` (default prefix empty: the POS id is already
  unique and stable); ``receiptNumber`` = ``receipt_number``; ``storeExternalId`` from ``stores.csv``
  (kind ``channel``, key = ``store_id``); unknown store -> rejection.
- ``createdDate`` = ``created_at`` in the store's time zone (a timestamp without offset is taken as
  store-local time).
- Amounts are decimal strings in major units; more decimals than the currency has is a rejection.
- A line with negative ``quantity`` is a RETURN item (negative quantity, positive ``grossPaidPrice``,
  per voyado-api.md §3); ``line_total`` must carry the quantity's sign. ``|unit_price x quantity| -
  discount`` must equal ``|line_total|``. ``taxAmount`` = ``round_half_even(gross x rate / (100 +
  rate))`` (POS prices include tax); ``discount`` > 0 becomes a ``pos-discount`` discount.
- ``total`` = sum of signed line totals = sum of payments, to the minor unit, else rejection.
- Payments: ``method`` through ``payment_methods.csv`` (interface ``pos`` or ``*``); gift cards and
  vouchers become ``bonuscheck`` with ``checkNumber`` = ``reference`` (required).
- Contact: ``pos.contact_keys`` in order (``contact_id``: the Voyado contact of the receipt's identity
  profile, created or located before the receipts go; member_number -> MemberNumber, card_id -> CardId,
  email, phone -> MobilePhone in E.164 using the customer's country). The default is ``contact_id``
  alone; none resolving is a dead letter with the reason. A receipt without any customer identifier, or
  with only a store card no Voyado contact carries, is *excluded* (reported with its money).
- ``extraData``: ``channel`` (the store row's channel, ``store``), ``country``, ``register``.

`receipts_from_csv_rows` turns CSV rows (one per line) into the JSON shape first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from collections.abc import Iterable, Mapping
from typing import Any

from voyado_sync.identity.records import record_key
from voyado_sync.mapping.contacts import normalize_email, normalize_phone
from voyado_sync.mapping.context import NO_CONTACT, MappingContext, MappingResult, Reject
from voyado_sync.mapping.lines import strip_size
from voyado_sync.mapping.receipt_shape import concluded, dec, receipt_payload
from voyado_sync.money import MoneyError, decimal_text, is_known_currency, minor_units

_CONTACT_KEYS = {"member_number": "MemberNumber", "card_id": "CardId", "email": "Email", "phone": "MobilePhone"}
_IDENTIFIERS = ("member_number", "card_id", "email", "phone")
_CSV_RECEIPT = ("receipt_id", "store_id", "register_id", "receipt_number", "created_at", "currency", "total")
_CSV_CUSTOMER = ("member_number", "card_id", "phone", "email", "country")
_CSV_LINE = ("line_id", "sku", "name", "quantity", "unit_price", "discount", "line_total", "tax_rate")


def _minor(value: Any, digits: int, what: str) -> int:
    if value is None or value == "":
        raise Reject(f"{what} is missing")
    try:
        d = decimal_text(value)
    except MoneyError:
        raise Reject(f"{what} {value!r} is not a decimal amount") from None
    scaled = d.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise Reject(f"{what} {value!r} has more decimals than the currency allows ({digits})")
    return int(scaled)


def _percent(value: Any, what: str) -> Decimal:
    try:
        p = Decimal(str(value).strip())
    except InvalidOperation:
        raise Reject(f"{what} {value!r} is not a number") from None
    if not p.is_finite() or not 0 <= p <= 100:
        raise Reject(f"{what} {value!r} is not a percent in 0..100")
    return p.quantize(Decimal("0.01")) if p.as_tuple().exponent > -2 else p  # type: ignore[operator]


def _identifier(customer: Mapping[str, Any], key: str) -> str | None:
    raw = customer.get(key)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    if key == "email":
        return normalize_email(text)
    if key == "phone":
        return normalize_phone(text, customer.get("country"))
    return text


def _contact(rec: Mapping[str, Any], ctx: MappingContext) -> dict[str, str]:
    """``pos.contact_keys`` in order (``contact_id``: the Voyado contact of the receipt's identity profile).
    A receipt without any customer identifier is an anonymous sale: excluded by policy."""
    customer = rec.get("customer") if isinstance(rec.get("customer"), Mapping) else {}
    valid = {k: v for k in _IDENTIFIERS if (v := _identifier(customer, k)) is not None}
    if not valid:
        raise Reject("no identifiable shopper: an anonymous POS receipt (no valid customer identifier)",
                     status="excluded")
    rule = ctx.config.rules.pos
    reachable = set(valid) - {"card_id"}  # a contact can be found or created by these
    for key in rule.contact_keys:
        if key == "contact_id":
            known = ctx.contact_of_record.get(record_key("pos_receipt", str(rec.get("receipt_id"))))
            if known:
                return {"matchKey": known, "matchKeyType": "ContactId"}
        elif key in valid:
            return {"matchKey": valid[key], "matchKeyType": _CONTACT_KEYS[key], "contactType": rule.contact_type}
    if not reachable:
        raise Reject("no contactable shopper: only a store card, which no Voyado contact carries",
                     status="excluded")
    raise Reject(NO_CONTACT if "contact_id" in rule.contact_keys else
                 f"none of pos.contact_keys {list(rule.contact_keys)} resolves for this receipt")


def map_pos_receipt(rec: Mapping[str, Any], ctx: MappingContext | None = None) -> MappingResult:
    """One POS receipt (JSON shape of POS_SCHEMA.md) -> a receipt payload, a skip or a rejection."""
    ctx = ctx or MappingContext()
    rid = str(rec.get("receipt_id") or "?") if isinstance(rec, Mapping) else "?"
    uid = ctx.config.rules.receipts.pos_prefix + rid

    def build() -> dict[str, Any]:
        if not isinstance(rec, Mapping) or not rec.get("receipt_id"):
            raise Reject("not a POS receipt (no receipt_id)")
        return _payload(rec, uid, ctx)

    return concluded(rid, "pos", uid, build)


def _payload(rec: Mapping[str, Any], uid: str, ctx: MappingContext) -> dict[str, Any]:
    cfg = ctx.config
    store = cfg.store("channel", rec.get("store_id"))
    if store is None:
        raise Reject(f"unknown store: POS store_id {rec.get('store_id')!r} is not in stores.csv (kind channel)")
    currency = rec.get("currency")
    if not is_known_currency(currency):
        raise Reject(f"unknown currency {currency!r}")
    d = minor_units(currency)  # type: ignore[arg-type]
    contact = _contact(rec, ctx)
    try:
        created = datetime.fromisoformat(str(rec.get("created_at")))
    except ValueError:
        raise Reject(f"created_at {rec.get('created_at')!r} is not ISO-8601") from None
    created = created.replace(tzinfo=store.tz) if created.tzinfo is None else created.astimezone(store.tz)

    items: list[dict[str, Any]] = []
    taxes: dict[Decimal, list[int]] = {}
    signed_total = 0
    lines = rec.get("lines") or []
    if not lines:
        raise Reject("POS receipt has no lines")
    for n, ln in enumerate(lines):
        what = f"line {ln.get('line_id') or n + 1}"
        sku = (ln.get("sku") or "").strip()
        if not sku:
            raise Reject(f"{what} has no sku")
        try:
            q = int(str(ln.get("quantity")).strip())
        except ValueError:
            raise Reject(f"{what}: quantity {ln.get('quantity')!r} is not an integer") from None
        if q == 0:
            raise Reject(f"{what}: quantity is 0")
        total = _minor(ln.get("line_total"), d, f"{what} line_total")
        if total and (total > 0) != (q > 0):
            raise Reject(f"{what}: line_total and quantity have different signs")
        gross = abs(total)
        unit = _minor(ln.get("unit_price"), d, f"{what} unit_price")
        discount = _minor(ln.get("discount") or "0", d, f"{what} discount")
        if discount < 0 or unit < 0:
            raise Reject(f"{what}: negative unit_price or discount")
        if unit * abs(q) - discount != gross:
            raise Reject(f"{what}: unit_price x quantity - discount = {dec(unit * abs(q) - discount, d)} but "
                         f"line_total is {dec(gross, d)}")
        pct = _percent(ln.get("tax_rate"), f"{what} tax_rate")
        tax = int((Decimal(gross) * pct / (100 + pct)).to_integral_value(rounding=ROUND_HALF_EVEN))
        sign = 1 if q > 0 else -1
        signed_total += sign * gross
        t = taxes.setdefault(pct, [0, 0])
        t[0] += sign * tax
        t[1] += sign * gross
        it: dict[str, Any] = {"type": "PURCHASE" if q > 0 else "RETURN", "sku": sku, "quantity": q,
                              "grossPaidPrice": dec(gross, d), "taxAmount": dec(tax, d), "taxPercent": pct,
                              "articleNumber": strip_size(sku, ctx), "articleName": (ln.get("name") or sku).strip()}
        group = ctx.article_groups.get(sku)
        if group:
            it["articleGroup"] = group
        if discount:
            it["discounts"] = [{"value": dec(-discount, d), "type": "pos-discount", "description": "POS discount"}]
        items.append(it)

    total = _minor(rec.get("total"), d, "total")
    if total != signed_total:
        raise Reject(f"lines sum to {dec(signed_total, d)} but the receipt total is {dec(total, d)} {currency}")
    payments, checks = _payments(rec.get("payments") or [], d, ctx)
    paid = sum(v for _, v in payments)
    if paid != total:
        raise Reject(f"payments sum to {dec(paid, d)} but the receipt total is {dec(total, d)} {currency}")
    country = (rec.get("customer") or {}).get("country") or store.country
    extra = [("channel", store.channel), ("country", country), ("register", rec.get("register_id"))]
    return receipt_payload(
        contact=contact, uid=uid, number=str(rec.get("receipt_number") or rec["receipt_id"]),
        created=created.isoformat(timespec="seconds"), store_external_id=store.store_external_id,
        currency=currency, total=dec(total, d),
        tax_details=[{"description": f"{pct}%", "value": dec(tax, d), "percent": pct,
                      "totalIncludingTax": dec(gross, d), "totalExcludingTax": dec(gross - tax, d)}
                     for pct, (tax, gross) in sorted(taxes.items())],
        payments=[p for p, _ in payments], items=items, bonus_checks=checks,
        extra=[{"name": k, "value": str(v)} for k, v in extra if v])


def _payments(raw: Iterable[Mapping[str, Any]], d: int, ctx: MappingContext
              ) -> tuple[list[tuple[dict[str, Any], int]], list[str]]:
    cfg = ctx.config
    rule = cfg.rules.payments
    out: list[tuple[dict[str, Any], int]] = []
    checks: list[str] = []
    for n, p in enumerate(raw):
        method = p.get("method")
        value = _minor(p.get("amount"), d, f"payment {n + 1} amount")
        row = cfg.payment("pos", method)
        if row is None:
            if rule.unknown_method == "reject":
                raise Reject(f"unknown payment method {method!r} (POS payment {n + 1}): add it to payment_methods.csv")
            ptype, desc = rule.fallback_type, method
        else:
            ptype, desc = row.voyado_type, row.description or method
        pm: dict[str, Any] = {"type": ptype, "value": dec(value, d)}
        if desc:
            pm["description"] = desc
        if ptype in rule.voucher_types:
            ref = (p.get("reference") or "").strip()
            if not ref:
                raise Reject(f"voucher payment {n + 1} ({method}) has no reference: no check number")
            pm["extraData"] = [{"name": "checkNumber", "value": ref}]
            checks.append(ref)
        out.append((pm, value))
    return out, checks


def _text(v: Any) -> str | None:
    s = str(v).strip() if v is not None else ""
    return s or None


def parse_payments(text: str | None) -> list[dict[str, Any]]:
    """``"card:200.00|giftcard:99.00:GC-1234"`` -> ``[{"method", "amount", "reference"}, ...]``."""
    out = []
    for part in (text or "").split("|"):
        if not part.strip():
            continue
        bits = part.strip().split(":", 2)
        if len(bits) < 2:
            raise Reject(f"payments entry {part!r} is not method:amount[:reference]")
        out.append({"method": bits[0].strip(), "amount": bits[1].strip(),
                    "reference": bits[2].strip() if len(bits) > 2 and bits[2].strip() else None})
    return out


def receipts_from_csv_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Group CSV rows (one per line, receipt columns repeated) into JSON-shaped receipts, in first-seen
    order. A receipt whose repeated columns disagree keeps the first row's values and is flagged with
    ``_csv_error`` so `map_pos_csv_rows` rejects it instead of guessing."""
    receipts: dict[str, dict[str, Any]] = {}
    for row in rows:
        rid = _text(row.get("receipt_id")) or "?"
        r = receipts.get(rid)
        if r is None:
            r = receipts[rid] = {k: _text(row.get(k)) for k in _CSV_RECEIPT}
            r["customer"] = {k: _text(row.get(k)) for k in _CSV_CUSTOMER}
            r["lines"] = []
            r["_payments_text"] = row.get("payments")
        elif any(_text(row.get(k)) != r[k] for k in _CSV_RECEIPT) or row.get("payments") != r["_payments_text"]:
            r["_csv_error"] = "receipt-level columns differ between its rows"
        r["lines"].append({k: _text(row.get(k)) for k in _CSV_LINE})
    out = []
    for r in receipts.values():
        text = r.pop("_payments_text")
        try:
            r["payments"] = parse_payments(text)
        except Reject as exc:
            r["_csv_error"] = exc.reason
            r["payments"] = []
        out.append(r)
    return out


def map_pos_csv_rows(rows: Iterable[Mapping[str, Any]], ctx: MappingContext | None = None) -> list[MappingResult]:
    ctx = ctx or MappingContext()
    results = []
    for r in receipts_from_csv_rows(rows):
        err = r.pop("_csv_error", None)
        if err:
            rid = r.get("receipt_id") or "?"
            results.append(MappingResult(rid, "pos", "rejected", ctx.config.rules.receipts.pos_prefix + rid, None,
                                         f"CSV: {err}"))
        else:
            results.append(map_pos_receipt(r, ctx))
    return results
