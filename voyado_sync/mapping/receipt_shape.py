"""The Voyado receipt payload (``POST /api/v3/receipts``, voyado-api.md §3) as purchase, return and POS
receipts all build it: one header in one field order (`receipt_payload`), amounts as `Decimal` with
exactly the currency's decimals (`dec`), the parts purchase and return receipts take from a prepared
order, and `concluded`, which puts every built payload through THE receipt validation
(`voyado_sync.mapping.validate.receipt_problems`) before it becomes a `MappingResult`.

- **Optional fields** (``taxDetails``, ``usedBonusChecks``, ``usedPromotions``, ``extraData``) appear
  only when they have entries.
- **createdDate** of an order-based receipt: the order's timestamp in the store's time zone with its
  offset, to the second.
- **Payments**: a voucher payment (a check number) carries ``extraData`` ``checkNumber``; the check
  numbers are also listed in ``usedBonusChecks``.
- **extraData** of an order-based receipt: ``channel`` (web/app/store from the store table),
  ``country``, ``locale``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from voyado_sync.mapping.config import StoreRow
from voyado_sync.mapping.context import Kind, MappingResult, Reject
from voyado_sync.mapping.order import Payment, PreparedOrder
from voyado_sync.mapping.validate import receipt_problems
from voyado_sync.money import MoneyError
from voyado_sync.privacy import scrub

MALFORMED = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, MoneyError, IndexError)

UNITS = {d: Decimal(1).scaleb(-d) for d in range(0, 5)}


def receipt_payload(*, contact: dict[str, str], uid: str, number: str, created: str, store_external_id: str,
                    currency: str, total: Decimal, tax_details: list[dict[str, Any]] | None = None,
                    payments: list[dict[str, Any]], items: list[dict[str, Any]], bonus_checks: Iterable[str] = (),
                    promotions: list[dict[str, str]] | None = None, extra: list[dict[str, str]] | None = None
                    ) -> dict[str, Any]:
    """The wire dict of one receipt in the reference's field order. Keyword-only, and the arguments are
    evaluated in that order, so the first part that cannot be built names the rejection."""
    payload: dict[str, Any] = {"contact": contact, "uniqueReceiptId": uid, "receiptNumber": number,
                               "createdDate": created, "storeExternalId": store_external_id, "currency": currency,
                               "totalGrossPrice": total}
    if tax_details:
        payload["taxDetails"] = tax_details
    payload["paymentMethods"] = payments
    payload["items"] = items
    checks = [{"checkNumber": c} for c in bonus_checks]
    if checks:
        payload["usedBonusChecks"] = checks
    if promotions:
        payload["usedPromotions"] = promotions
    if extra:
        payload["extraData"] = extra
    return payload


def concluded(source_id: str, kind: Kind, uid: str, build: Callable[[], dict[str, Any]]) -> MappingResult:
    """Build a payload and validate it; every outcome becomes a `MappingResult` (a `Reject` with its
    reason, a malformed document with what broke) so nothing escapes a public mapping function."""
    try:
        payload = build()
        problems = receipt_problems(payload)
        if problems:
            raise Reject("; ".join(problems))
        return MappingResult(source_id, kind, "receipt", uid, payload)
    except Reject as r:
        return MappingResult(source_id, kind, r.status, uid, None, r.reason)
    except MALFORMED as exc:
        return MappingResult(source_id, kind, "rejected", uid, None, malformed(exc))


def malformed(exc: BaseException) -> str:
    return scrub(f"malformed document: {type(exc).__name__}: {exc}")[:500]


def dec(minor: int, digits: int) -> Decimal:
    """Minor units -> Decimal with exactly ``digits`` decimals (Decimal x int keeps the exponent)."""
    return UNITS[digits] * minor


def local_time(ts: Any, store: StoreRow, what: str) -> str:
    """ISO-8601 in the store's time zone with its offset, to the second (``2026-11-26T15:05:00+01:00``)."""
    try:
        dt = datetime.fromisoformat(ts)
    except (TypeError, ValueError):
        raise Reject(f"{what} {ts!r} is not an ISO-8601 timestamp") from None
    if dt.tzinfo is None:
        raise Reject(f"{what} {ts!r} has no time zone")
    return dt.astimezone(store.tz).isoformat(timespec="seconds")


def payment_payload(p: Payment, value: int, digits: int) -> dict[str, Any]:
    out: dict[str, Any] = {"type": p.type, "value": UNITS[digits] * value}
    if p.description:
        out["description"] = p.description
    if p.check_number:
        out["extraData"] = [{"name": "checkNumber", "value": p.check_number}]
    return out


def extra_data(p: PreparedOrder) -> list[dict[str, str]]:
    # Voyado's extraData values are strings; a malformed document's non-string country/locale is left out
    # rather than reaching the encoder (which refuses anything but str, int, Decimal).
    return [{"name": name, "value": value} for name, value in
            (("channel", p.store.channel), ("country", p.country), ("locale", p.locale))
            if isinstance(value, str) and value]
