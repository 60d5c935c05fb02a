"""Delta detection for the sensor: which (partition, dataset) pairs changed since the cursor.

Two sources, one cursor shape, a ``(timestamp, id)`` mark read with the tie-breaking predicate of reference
§2.3 so changes sharing a millisecond are neither skipped nor read twice:

* the Messages API (``createdAt``, ``id``) for resources that emit messages, one request per idle tick;
* ``lastModifiedAt`` watermarks per dataset where there are no messages (or messages are disabled).

Our own write-backs are recognised by the API client that made them (``createdBy``/``lastModifiedBy``
``clientId``) and ignored, so writing consent to a customer does not wake the sensor into a loop."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from voyado_sync.extract.datasets import BY_MESSAGE_TYPE_ID, DATASETS
from voyado_sync.extract.flatten import TS
from voyado_sync.extract.windows import partition_key_of
from voyado_sync.timestamps import parse_ts

ERASURE = "erasure_events"
# Message payload fields that carry a whole document (possibly with personal data): not kept in erasure rows.
DOCUMENT_PAYLOADS = ("customer", "order", "currentProjection", "productProjection", "payment", "inventoryEntry",
                     "category")
EPOCH = "1970-01-01T00:00:00.000Z"
# Deletion messages that become erasure events (reference §3.2; unknown names in an `in` list are harmless).
DELETE_MESSAGE_TYPES = ("CustomerDeleted", "OrderDeleted", "ProductDeleted", "InventoryEntryDeleted", "StoreDeleted",
                        "CategoryDeleted", "PaymentDeleted")

Changes = dict[str, set[str]]  # partition key -> dataset names (plus "erasure_events")


@dataclass(frozen=True)
class Mark:
    at: str
    id: str = ""

    def as_list(self) -> list[str]:
        return [self.at, self.id]


@dataclass
class DeltaCursor:
    messages: Mark | None = None
    watermarks: dict[str, Mark] = field(default_factory=dict)
    mode: str | None = None
    checked_at: str | None = None  # when the project's messages switch was last read (wall clock, UTC)
    # Messages already handled whose createdAt lies within the re-read window before ``messages``: a
    # message that becomes visible late, behind newer ones, is still found, and none is handled twice.
    recent: list[Mark] = field(default_factory=list)
    recent_docs: dict[str, list[Mark]] = field(default_factory=dict)  # the same per watermarked dataset

    def to_json(self) -> str:
        return json.dumps({"messages": self.messages.as_list() if self.messages else None,
                           "watermarks": {k: v.as_list() for k, v in sorted(self.watermarks.items())},
                           "mode": self.mode, "checked_at": self.checked_at,
                           "recent": [m.as_list() for m in self.recent],
                           "recent_docs": {k: [m.as_list() for m in v] for k, v in sorted(self.recent_docs.items())}},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> "DeltaCursor":
        """Parse a cursor; an unreadable one (hand-edited, older format) restarts from scratch."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            msgs = data.get("messages")
            return cls(Mark(*msgs) if msgs else None,
                       {k: Mark(*v) for k, v in (data.get("watermarks") or {}).items() if k in DATASETS},
                       data.get("mode"), data.get("checked_at"), [Mark(*m) for m in data.get("recent") or []],
                       {k: [Mark(*m) for m in v] for k, v in (data.get("recent_docs") or {}).items() if k in DATASETS})
        except (ValueError, TypeError, AttributeError):
            return cls()


def mark_of(doc: Any, field_name: str) -> Mark:
    """The cursor mark of a document (EPOCH when it lacks the fields: start from the beginning, lose nothing)."""
    if isinstance(doc, dict) and isinstance(doc.get(field_name), str) and isinstance(doc.get("id"), str):
        return Mark(doc[field_name], doc["id"])
    return Mark(EPOCH, "")


def after_predicate(field_name: str, mark: Mark) -> tuple[str, dict[str, str]]:
    """``field > t or (field = t and id > lastId)`` with variables (values never spliced into the text)."""
    return (f"{field_name} > :markAt or ({field_name} = :markAt and id > :markId)",
            {"markAt": mark.at, "markId": mark.id})


def _client_of(doc: Mapping[str, Any], key: str) -> str | None:
    by = doc.get(key)
    return by.get("clientId") if isinstance(by, dict) else None


def is_own(doc: Mapping[str, Any], own_client_id: str | None) -> bool:
    """A change made by our own API client (the write-back), judged by who last modified it."""
    if not own_client_id:
        return False
    who = _client_of(doc, "lastModifiedBy") or _client_of(doc, "createdBy")
    return who == own_client_id


def _changes(docs: Iterable[Mapping[str, Any]], stamp: str, own_client_id: str | None, tz: str,
             dataset_of: Callable[[Mapping[str, Any]], str | None]) -> tuple[Changes, int]:
    """Changed (partition, dataset) pairs, the partition by the ``stamp`` timestamp of each document, and the
    number of our own write-backs skipped. The caller keeps the cursor (it also re-reads a window before it)."""
    changes: Changes = {}
    skipped = 0
    for doc in docs:
        when, doc_id = doc.get(stamp), doc.get("id")
        if not isinstance(when, str) or not isinstance(doc_id, str):
            continue
        if is_own(doc, own_client_id):
            skipped += 1
            continue
        name = dataset_of(doc)
        try:
            key = partition_key_of(parse_ts(when), tz)
        except ValueError:
            continue
        if name is not None:
            changes.setdefault(key, set()).add(name)
    return changes, skipped


def _message_dataset(msg: Mapping[str, Any]) -> str | None:
    """What a message changed: a deletion is an erasure event, else the dataset its resource belongs to
    (when that dataset follows messages)."""
    if str(msg.get("type", "")).endswith("Deleted"):
        return ERASURE
    resource = msg.get("resource") if isinstance(msg.get("resource"), dict) else {}
    ds = BY_MESSAGE_TYPE_ID.get(resource.get("typeId"))
    return ds.name if ds is not None and ds.delta == "messages" else None


def changes_from_messages(messages: Iterable[Mapping[str, Any]], own_client_id: str | None, tz: str,
                          ) -> tuple[Changes, int]:
    """Changed partitions from Messages; returns (changes, own write-backs skipped)."""
    return _changes(messages, "createdAt", own_client_id, tz, _message_dataset)


def changes_from_documents(dataset: str, docs: Iterable[Mapping[str, Any]], own_client_id: str | None, tz: str,
                           ) -> tuple[Changes, int]:
    """Changed partitions from documents returned by a watermark query; returns (changes, own skipped)."""
    return _changes(docs, "lastModifiedAt", own_client_id, tz, lambda _doc: dataset)


def merge(into: Changes, more: Changes) -> Changes:
    for key, names in more.items():
        into.setdefault(key, set()).update(names)
    return into


def erasure_row(msg: Mapping[str, Any]) -> dict[str, Any]:
    """One erasure event: what was deleted and its user-provided identifiers, no document body."""
    resource = msg.get("resource") if isinstance(msg.get("resource"), dict) else {}
    ids = msg.get("resourceUserProvidedIdentifiers") if isinstance(msg.get("resourceUserProvidedIdentifiers"),
                                                                   dict) else {}
    slim = {k: v for k, v in msg.items() if k not in DOCUMENT_PAYLOADS}
    return {
        "message_id": msg.get("id"), "type": msg.get("type"), "resource_type_id": resource.get("typeId"),
        "resource_id": resource.get("id"), "resource_version": msg.get("resourceVersion"),
        "sequence_number": msg.get("sequenceNumber"), "created_at": parse_ts(msg["createdAt"]),
        "created_by_client_id": _client_of(msg, "createdBy"), "key": ids.get("key"),
        "external_id": ids.get("externalId"), "customer_number": ids.get("customerNumber"),
        "order_number": ids.get("orderNumber"), "sku": ids.get("sku"),
        "raw": json.dumps(slim, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    }


ERASURE_SCHEMA = pa.schema([
    pa.field("message_id", pa.string(), nullable=False), pa.field("type", pa.string()),
    pa.field("resource_type_id", pa.string()), pa.field("resource_id", pa.string()),
    pa.field("resource_version", pa.int64()), pa.field("sequence_number", pa.int64()),
    pa.field("created_at", TS), pa.field("created_by_client_id", pa.string()), pa.field("key", pa.string()),
    pa.field("external_id", pa.string()), pa.field("customer_number", pa.string()),
    pa.field("order_number", pa.string()), pa.field("sku", pa.string()), pa.field("raw", pa.string()),
])
