"""THE receipt validation (pure): the mapping runs `receipt_problems` on every receipt it builds
(`voyado_sync.mapping.receipt_shape.concluded`) and the receipts endpoint of the sync engine on every
receipt it sends, so a receipt is refused for the same reasons, in the same words, wherever it is checked.

A payload is the wire dict (amounts `Decimal` or `int`; read stored JSON with
`voyado_sync.mapping.models.loads` so numbers come back exact). Every problem is one short sentence;
an empty list means the receipt may be sent.

Checks: required fields present and non-empty; currency ISO-4217 and known; no float amount and no
more decimals than the currency has; ``createdDate`` ISO-8601 with an offset; item types, quantity
signs (PURCHASE > 0, RETURN < 0), tax percent 0..100, tax not larger than the gross, discounts <= 0;
and the money invariants, signed per the reference (a RETURN item's ``grossPaidPrice`` is positive and
counts negatively):

    totalGrossPrice = sum(sign(item) x grossPaidPrice) = sum(paymentMethods.value)
    sum(taxDetails.value) = sum(sign(item) x taxAmount)      (when taxDetails are given)
    taxDetails.totalIncludingTax - totalExcludingTax = value (when both totals are given)

`repeated_ids` checks the uniqueness of ``uniqueReceiptId`` within a batch; `batch_problems` is both.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from collections.abc import Iterable, Mapping
from typing import Any

from voyado_sync.money import MINOR_UNITS

_ITEM_TYPES = {"PURCHASE": 1, "RETURN": -1, "ADJUSTMENT": 1}
_REQUIRED_TEXT = ("uniqueReceiptId", "receiptNumber", "createdDate", "storeExternalId", "currency")
_ITEM_TEXT = ("sku", "articleNumber", "articleName")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
ITEM_NAMES = [f"items[{i}]" for i in range(64)]


_EXPONENTS = {d: Decimal(1).scaleb(-d) for d in range(0, 5)}


def _amount(v: Any, digits: int, problems: list[str], where: str, field: str = "", i: int = -1) -> Decimal:
    """The amount as Decimal; a problem (naming ``where + field.format(i)``, built only then) when it is not
    exact money."""
    t = type(v)
    if t is Decimal:
        try:
            if v.quantize(_EXPONENTS[digits]) == v:
                return v
        except InvalidOperation:
            pass
    elif t is int:
        return Decimal(v)
    field = field.format(i) if i >= 0 else field
    if t is Decimal:
        if not v.is_finite():
            problems.append(f"{where}{field} is not a finite number")
            return _ZERO
        problems.append(f"{where}{field} {v} has more decimals than the currency allows ({digits})")
        return v
    problems.append(f"{where}{field} is {'a float' if t is float else 'missing' if v is None else t.__name__}, "
                    "not an exact amount")
    return _ZERO


def receipt_problems(r: Mapping[str, Any]) -> list[str]:
    """Reasons this receipt payload must not be sent (empty = fine)."""
    if type(r) is not dict and not isinstance(r, Mapping):  # the exact type test first: ABC checks cost
        return ["the receipt is not an object"]
    try:
        if _clean(r):
            return []
    except (KeyError, TypeError, AttributeError, ValueError, IndexError, ArithmeticError):
        pass
    return _problems(r)


def _exact(v: Any, exp: Decimal) -> Decimal:
    if type(v) is Decimal:
        if v.quantize(exp) != v:
            raise ValueError
        return v
    if type(v) is int:
        return Decimal(v)
    raise TypeError


def _text(v: Any) -> bool:
    return type(v) is str and bool(v.strip())


def _clean(r: Mapping[str, Any]) -> bool:
    """The same rules as `_problems` for a well-formed receipt, without building messages: True only
    when nothing is wrong (any doubt, exception or mismatch falls back to `_problems`, which explains).

    This runs for every receipt on the hot path, so the common case is written out inline: a `Decimal`
    amount that already has the currency's exponent passes with one ``quantize``; anything else goes
    through `_exact` (ints become `Decimal`, the rest raises and falls back)."""
    if not (_text(r["uniqueReceiptId"]) and _text(r["receiptNumber"]) and _text(r["createdDate"])
            and _text(r["storeExternalId"])):
        return False
    exp = _EXPONENTS[MINOR_UNITS[r["currency"]]]
    if datetime.fromisoformat(r["createdDate"]).utcoffset() is None:
        return False
    c = r["contact"]
    if not (c["matchKey"] and c["matchKeyType"]):
        return False
    total = r["totalGrossPrice"]
    if type(total) is not Decimal or total.quantize(exp) != total:
        total = _exact(total, exp)
    items = r["items"]
    if type(items) is not list or not items:
        return False
    gross_sum = tax_sum = _ZERO
    for it in items:
        kind = it["type"]
        sign = _ITEM_TYPES[kind]
        q = it["quantity"]
        if type(q) is not int or q == 0 or (sign == -1 and q > 0) or (kind == "PURCHASE" and q < 0):
            return False
        v = it["sku"]
        if type(v) is not str or not v.strip():
            return False
        v = it["articleNumber"]
        if type(v) is not str or not v.strip():
            return False
        v = it["articleName"]
        if type(v) is not str or not v.strip():
            return False
        gross = it["grossPaidPrice"]
        if type(gross) is not Decimal or gross.quantize(exp) != gross:
            gross = _exact(gross, exp)
        tax = it["taxAmount"]
        if type(tax) is not Decimal or tax.quantize(exp) != tax:
            tax = _exact(tax, exp)
        pct = it["taxPercent"]
        if type(pct) not in (Decimal, int) or not _ZERO <= pct <= _HUNDRED or abs(tax) > abs(gross):
            return False
        discounts = it.get("discounts")
        if discounts is not None:
            if type(discounts) is not list:
                return False
            for d in discounts:
                if _exact(d["value"], exp) > 0:
                    return False
        gross_sum += sign * gross
        tax_sum += sign * tax
    if gross_sum != total:
        return False
    paid = _ZERO
    payments = r["paymentMethods"]
    if type(payments) is not list:
        return False
    for p in payments:
        if not p["type"]:
            return False
        v = p["value"]
        if type(v) is not Decimal or v.quantize(exp) != v:
            v = _exact(v, exp)
        paid += v
    if paid != total:
        return False
    details = r.get("taxDetails")
    if details is not None and type(details) is not list:
        return False
    if details:
        detail_tax = _ZERO
        for t in details:
            v = _exact(t["value"], exp)
            detail_tax += v
            inc, ex = t.get("totalIncludingTax"), t.get("totalExcludingTax")
            if inc is not None and ex is not None and _exact(inc, exp) - _exact(ex, exp) != v:
                return False
        if detail_tax != tax_sum:
            return False
    return True


def _problems(r: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for f in _REQUIRED_TEXT:
        v = r.get(f)
        if not isinstance(v, str) or not v.strip():
            problems.append(f"{f} is missing")
    currency = r.get("currency")
    digits = MINOR_UNITS.get(currency) if isinstance(currency, str) else None
    if digits is None:
        problems.append(f"currency {currency!r} is not a known ISO-4217 code")
        digits = 2
    created = r.get("createdDate")
    if isinstance(created, str) and created:
        try:
            if datetime.fromisoformat(created).utcoffset() is None:
                problems.append(f"createdDate {created!r} has no UTC offset")
        except ValueError:
            problems.append(f"createdDate {created!r} is not ISO-8601")
    contact = r.get("contact")
    if not isinstance(contact, Mapping) or not contact.get("matchKey") or not contact.get("matchKeyType"):
        problems.append("contact.matchKey/matchKeyType is missing")
    total = _amount(r.get("totalGrossPrice"), digits, problems, "totalGrossPrice")

    items = r.get("items")
    if not isinstance(items, list) or not items:
        problems.append("items is empty")
        items = []
    gross_sum = tax_sum = _ZERO
    for i, it in enumerate(items):
        where = ITEM_NAMES[i] if i < len(ITEM_NAMES) else f"items[{i}]"
        if not isinstance(it, Mapping):
            problems.append(f"{where} is not an object")
            continue
        kind = it.get("type")
        sign = _ITEM_TYPES.get(kind) if type(kind) is str else None
        if sign is None:
            problems.append(f"{where}.type {it.get('type')!r} is not PURCHASE/RETURN/ADJUSTMENT")
            sign = 1
        for f in _ITEM_TEXT:
            v = it.get(f)
            if not isinstance(v, str) or not v.strip():
                problems.append(f"{where}.{f} is missing")
        q = it.get("quantity")
        if type(q) is not int or q == 0:
            problems.append(f"{where}.quantity {q!r} is not a non-zero integer")
        elif (sign == -1 and q > 0) or (it.get("type") == "PURCHASE" and q < 0):
            problems.append(f"{where}.quantity {q} has the wrong sign for {it.get('type')}")
        gross = _amount(it.get("grossPaidPrice"), digits, problems, where, ".grossPaidPrice")
        tax = _amount(it.get("taxAmount"), digits, problems, where, ".taxAmount")
        pct = it.get("taxPercent")
        if (type(pct) not in (Decimal, int) or (type(pct) is Decimal and not pct.is_finite())
                or not _ZERO <= pct <= _HUNDRED):
            problems.append(f"{where}.taxPercent {pct!r} is not a number in 0..100")
        if abs(tax) > abs(gross):
            problems.append(f"{where}.taxAmount {tax} exceeds grossPaidPrice {gross}")
        discounts = it.get("discounts")
        if discounts is not None and not isinstance(discounts, list):
            problems.append(f"{where}.discounts is not a list")
            discounts = None
        for j, d in enumerate(discounts or ()):
            v = _amount(d.get("value") if isinstance(d, Mapping) else None, digits, problems, where,
                        ".discounts[{}].value", j)
            if v > 0:
                problems.append(f"{where}.discounts[{j}].value {v} is positive")
        gross_sum += sign * gross
        tax_sum += sign * tax
    if items and gross_sum != total:
        problems.append(f"items sum to {gross_sum} but totalGrossPrice is {total}")

    payments = r.get("paymentMethods")
    if not isinstance(payments, list):
        problems.append("paymentMethods is missing")
        payments = []
    paid = _ZERO
    for i, p in enumerate(payments):
        if not isinstance(p, Mapping) or not p.get("type"):
            problems.append(f"paymentMethods[{i}].type is missing")
            continue
        paid += _amount(p.get("value"), digits, problems, "paymentMethods", "[{}].value", i)
    if paid != total:
        problems.append(f"payments sum to {paid} but totalGrossPrice is {total}")

    details = r.get("taxDetails")
    if details is not None and not isinstance(details, list):
        problems.append("taxDetails is not a list")
    elif details:
        detail_tax = _ZERO
        for i, t in enumerate(details):
            if not isinstance(t, Mapping):
                problems.append(f"taxDetails[{i}] is not an object")
                continue
            v = _amount(t.get("value"), digits, problems, "taxDetails", "[{}].value", i)
            detail_tax += v
            inc, exc = t.get("totalIncludingTax"), t.get("totalExcludingTax")
            if inc is not None and exc is not None:
                inc = _amount(inc, digits, problems, "taxDetails", "[{}].totalIncludingTax", i)
                exc = _amount(exc, digits, problems, "taxDetails", "[{}].totalExcludingTax", i)
                if inc - exc != v:
                    problems.append(f"taxDetails[{i}]: totalIncludingTax - totalExcludingTax = {inc - exc} "
                                    f"but value is {v}")
        if detail_tax != tax_sum:
            problems.append(f"taxDetails sum to {detail_tax} but the items' tax is {tax_sum}")
    return problems


def repeated_ids(uids: Iterable[Any]) -> list[str | None]:
    """Per receipt id, the problem when an earlier receipt of the batch carries the same one (every
    occurrence after the first), else None."""
    seen: set[Any] = set()
    out: list[str | None] = []
    for uid in uids:
        out.append(f"uniqueReceiptId {uid!r} appears more than once in the batch" if uid in seen else None)
        seen.add(uid)
    return out


def batch_problems(receipts: Iterable[Mapping[str, Any]]) -> list[list[str]]:
    """Problems per receipt (same order as the input), including duplicate ``uniqueReceiptId`` in the
    batch."""
    receipts = list(receipts)
    repeated = repeated_ids([r.get("uniqueReceiptId") for r in receipts])
    return [receipt_problems(r) + ([why] if why else []) for r, why in zip(receipts, repeated)]
