"""What the Engage sandbox records so tests can prove exactly-once delivery.

An *effect* is one state change caused by an accepted request (a receipt stored, a point transaction
booked, a trigger fired, ...). Duplicates that the API absorbs (a repeated ``uniqueReceiptId``, a replayed
``Idempotency-Key``) record no effect, so ``len(app.effects("receipt"))`` equals the receipts Voyado
would hold. The *integration log* mirrors Engage's: asynchronous processing notes such as
"Contact is missing" that never reach the caller as an HTTP error.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from voyado_sync.sandbox.engage.errors import iso


@dataclass(frozen=True)
class Effect:
    seq: int
    kind: str
    key: str | None
    at: str
    detail: dict[str, Any]


class EffectLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Effect] = []

    def record(self, kind: str, key: str | None, at: datetime, **detail: Any) -> Effect:
        with self._lock:
            effect = Effect(len(self._items) + 1, kind, key, iso(at) or "", detail)
            self._items.append(effect)
            return effect

    def list(self, kind: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._items if e.seq > since and (kind is None or e.kind == kind)]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class IntegrationLog:
    """Processing notes; never holds the raw match key (it may be an email or phone number)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, at: datetime, type_: str, message: str, reference: str | None, **extra: Any) -> None:
        self.entries.append({"at": iso(at), "type": type_, "severity": "Warning", "message": message,
                             "reference": reference, **extra})
