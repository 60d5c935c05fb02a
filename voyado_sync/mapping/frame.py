"""Mapping results as a pandas frame: the shape the receipt payload assets store per partition.

One row per result (purchase, return item or POS receipt). ``payload`` is the exact JSON text
(`voyado_sync.mapping.models.dumps`; read it back with `models.loads`), ``total_gross`` the total as a
decimal *string* so the frame never holds a float amount. Rejected and skipped rows keep their
``reason`` (dead letters and skip counts come from the same frame).

Every ``receipt`` row was validated when it was mapped (`voyado_sync.mapping.receipt_shape.concluded`);
what the frame adds is the batch: `reject_repeated_ids` before it is stored, and `unvalidated` on what was
stored, so the push reads only receipts that were checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from voyado_sync.mapping.context import MappingContext, MappingResult
from voyado_sync.mapping.decode import document, order_document
from voyado_sync.mapping.models import dumps
from voyado_sync.mapping.pos import map_pos_receipt
from voyado_sync.mapping.receipts import map_order
from voyado_sync.mapping.returns import map_returns
from voyado_sync.mapping.validate import repeated_ids

COLUMNS = ["source_id", "kind", "status", "unique_receipt_id", "reason", "currency", "store_external_id",
           "created_date", "total_gross", "item_count", "payload"]


def results_frame(results: Iterable[MappingResult]) -> pd.DataFrame:
    results = list(results)
    if not results:
        return pd.DataFrame.from_records([], columns=COLUMNS)
    payloads = [r.payload for r in results]
    return pd.DataFrame({
        "source_id": [r.source_id for r in results], "kind": [r.kind for r in results],
        "status": [r.status for r in results], "unique_receipt_id": [r.unique_receipt_id for r in results],
        "reason": [r.reason for r in results],
        "currency": [p.get("currency") if p else None for p in payloads],
        "store_external_id": [p.get("storeExternalId") if p else None for p in payloads],
        "created_date": [p.get("createdDate") if p else None for p in payloads],
        "total_gross": [format(p["totalGrossPrice"], "f") if p else None for p in payloads],
        "item_count": [len(p.get("items", ())) if p else 0 for p in payloads],
        "payload": [dumps(p) if p else None for p in payloads],
    }, columns=COLUMNS)


def reject_repeated_ids(frame: pd.DataFrame) -> int:
    """Turn every receipt row whose uniqueReceiptId an earlier receipt row carries into a rejection with
    the reason (Voyado would ignore it as a duplicate); how many."""
    sendable = frame.index[frame["status"] == "receipt"]
    repeated = [(i, why) for i, why in zip(sendable, repeated_ids(frame.loc[sendable, "unique_receipt_id"])) if why]
    for i, why in repeated:
        frame.at[i, "status"] = "rejected"
        frame.at[i, "reason"] = why
    return len(repeated)


def unvalidated(frame: pd.DataFrame, persisted: pd.DataFrame) -> list[list[str]]:
    """Problems of each receipt row of ``persisted`` that is not, byte for byte, a receipt row of ``frame``
    (the validated results it was written from) or repeats an id: the push sends what was persisted."""
    sendable = frame["status"] == "receipt"
    validated = dict(zip(frame.loc[sendable, "unique_receipt_id"], frame.loc[sendable, "payload"]))
    stored = persisted[persisted["status"] == "receipt"]
    out = []
    for uid, text, repeated in zip(stored["unique_receipt_id"], stored["payload"],
                                   repeated_ids(stored["unique_receipt_id"])):
        problems = [] if validated.get(uid) == text else [f"{uid}: the persisted payload is not the validated one"]
        if repeated:
            problems.append(repeated)
        if problems:
            out.append(problems)
    return out


Raw = str | bytes | Mapping[str, Any]


def _doc(raw: Raw, decode: Callable[[str | bytes], dict[str, Any] | None]) -> Mapping[str, Any] | None:
    if isinstance(raw, Mapping):
        return raw
    return decode(raw)


def order_results(raw_orders: Iterable[Raw], ctx: MappingContext | None = None, *, returns: bool = True
                  ) -> list[MappingResult]:
    """Purchase (and return) results for orders given as documents or JSON text (the ``raw`` column,
    decoded for what the mapping reads: `voyado_sync.mapping.decode.order_document`)."""
    ctx = ctx or MappingContext()
    out: list[MappingResult] = []
    append, extend = out.append, out.extend
    for raw in raw_orders:
        doc = _doc(raw, order_document)
        if doc is None:
            append(MappingResult("?", "purchase", "rejected", None, None, "order is not a JSON object"))
            continue
        append(map_order(doc, ctx))
        if returns and doc.get("returnInfo"):  # map_returns gives nothing for an order without returns
            extend(map_returns(doc, ctx))
    return out


def pos_results(raw_receipts: Iterable[Raw], ctx: MappingContext | None = None) -> list[MappingResult]:
    ctx = ctx or MappingContext()
    out = []
    for raw in raw_receipts:
        doc = _doc(raw, document)
        out.append(map_pos_receipt(doc, ctx) if doc is not None else
                   MappingResult("?", "pos", "rejected", None, None, "POS receipt is not a JSON object"))
    return out
