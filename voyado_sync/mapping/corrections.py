"""Correcting a receipt Voyado already holds (pure).

Engage never updates a receipt: a repeated ``uniqueReceiptId`` is ignored, whatever it carries
(reference §3). So a receipt whose payload changes after Voyado holds it (an order edited after payment,
a mapping fix, its contact key moving to the contact id) is corrected in two receipts, never resent:

* a **credit** of the held revision ``<id>~credit`` (``<id>~r<n>~credit`` for revision n): the held
  receipt negated line by line (PURCHASE lines become RETURN lines and back, totals, taxes and payments
  negated), dated as the original and carrying ``extraData`` ``correctionOf`` = the credited id, so
  Voyado's totals, points and segments lose exactly what the held revision gave them;
* the **next revision** ``<id>~r<n+1>``: the corrected receipt under its own id.

Both ids are deterministic, so a rerun or a backfill sends nothing twice; what Voyado then holds nets to
the corrected receipt, and reconciliation counts a credit as minus one receipt.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

CORRECTION_OF = "correctionOf"
_FLIP = {"PURCHASE": "RETURN", "RETURN": "PURCHASE"}


def revision_id(base: str, revision: int) -> str:
    return base if revision <= 1 else f"{base}~r{revision}"


def credit_id(base: str, revision: int) -> str:
    return f"{revision_id(base, revision)}~credit"


def as_revision(payload: Mapping[str, Any], base: str, revision: int) -> dict[str, Any]:
    return {**payload, "uniqueReceiptId": revision_id(base, revision)}


def _neg(value: Any) -> Any:
    return -value if isinstance(value, (int, Decimal)) and not isinstance(value, bool) else value


def credit(held: Mapping[str, Any], base: str, revision: int) -> dict[str, Any]:
    """The receipt that takes ``held`` (revision ``revision`` of ``base``, as Voyado holds it) back out."""
    out = copy.deepcopy(dict(held))
    out["uniqueReceiptId"] = credit_id(base, revision)
    out["receiptNumber"] = f"{held.get('receiptNumber') or base}-C{revision}"
    out["totalGrossPrice"] = _neg(held["totalGrossPrice"])
    for item in out.get("items") or ():
        item["type"] = _FLIP.get(str(item.get("type")), item.get("type"))
        item["quantity"] = _neg(item.get("quantity"))
    for pm in out.get("paymentMethods") or ():
        pm["value"] = _neg(pm.get("value"))
    for detail in out.get("taxDetails") or ():
        for name in ("value", "totalIncludingTax", "totalExcludingTax"):
            if name in detail:
                detail[name] = _neg(detail[name])
    # A voucher or promotion used once is not used again by taking the receipt back.
    out.pop("usedBonusChecks", None)
    out.pop("usedPromotions", None)
    out["extraData"] = [e for e in out.get("extraData") or () if e.get("name") != CORRECTION_OF] + [
        {"name": CORRECTION_OF, "value": revision_id(base, revision)}]
    return out


def is_credit(payload: Mapping[str, Any]) -> bool:
    return any(e.get("name") == CORRECTION_OF for e in payload.get("extraData") or ())
