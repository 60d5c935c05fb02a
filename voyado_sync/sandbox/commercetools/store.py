"""Document storage for the Commercetools sandbox: one `Collection` per resource, plus query execution.

Each document is kept as its compact JSON (bytes) and a *head* (top-level scalars, complex values replaced
by `COMPLEX`), not as a nested dict: 100 000 generated orders as Python dicts would take several GB and
make every garbage collection crawl, while the hot predicates (``lastModifiedAt`` windows and the ``id``
cursor) only ever need the head. Stored documents are immutable; an update swaps in a new `Doc`, so
readers never see a half-written document and can serialize without holding the lock.

Ids are kept in a sorted list (copy-on-write, so a reader's snapshot never shifts under it): an
``id > X`` cursor starts by bisection and, with ``sort=id asc&withTotal=false``, the scan stops at the
``offset + limit``-th match — the official "iterate over all elements" recipe is O(page), not O(n).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from voyado_sync.sandbox.commercetools.predicates import COMPLEX, MISSING, Query

# URL segment -> typeId used in references and messages.
TYPE_IDS: dict[str, str] = {
    "customers": "customer", "orders": "order", "product-projections": "product", "categories": "category",
    "inventory": "inventory-entry", "payments": "payment", "stores": "store", "channels": "channel",
    "carts": "cart", "types": "type", "messages": "message", "customer-groups": "customer-group",
}
RESOURCE_OF_TYPE: dict[str, str] = {v: k for k, v in TYPE_IDS.items()} | {"product-projection": "product-projections"}
KEYED = frozenset(TYPE_IDS) - {"orders", "messages"}  # orders are addressed by order-number instead

MAX_TOTAL_WITH_WHERE = 10_000


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def fmt_ts(dt: datetime) -> str:
    """The API's DateTime spelling: UTC, millisecond precision, ``Z``."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


class Doc:
    __slots__ = ("raw", "head")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.raw = encode(obj)
        self.head = {k: COMPLEX if isinstance(v, (dict, list)) else v for k, v in obj.items()}

    @property
    def id(self) -> str:
        return self.head["id"]

    def obj(self) -> dict[str, Any]:
        """A fresh parsed copy (callers may mutate it)."""
        return json.loads(self.raw)


class Collection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.docs: dict[str, Doc] = {}
        self._ids: list[str] | None = []
        self.by_key: dict[str, str] = {}
        self.by_order_number: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.docs)

    def ids(self) -> list[str]:
        """Sorted ids; the returned list is never mutated afterwards (safe to scan without the lock)."""
        ids = self._ids
        if ids is None:
            ids = self._ids = sorted(self.docs)
        return ids

    def get(self, doc_id: str) -> Doc | None:
        return self.docs.get(doc_id)

    def get_by_key(self, key: str) -> Doc | None:
        doc_id = self.by_key.get(key)
        return self.docs.get(doc_id) if doc_id else None

    def get_by_order_number(self, number: str) -> Doc | None:
        doc_id = self.by_order_number.get(number)
        return self.docs.get(doc_id) if doc_id else None

    def upsert(self, obj: dict[str, Any], *, bulk: bool = False) -> Doc:
        """Store ``obj`` (caller hands over ownership). ``bulk`` defers re-sorting the id list."""
        doc = Doc(obj)
        old = self.docs.get(doc.id)
        if old is not None:
            self._unindex(old)
        self.docs[doc.id] = doc
        self._index(doc)
        if old is None:
            if bulk or self._ids is None:
                self._ids = None
            else:
                ids = list(self._ids)
                ids.insert(bisect_left(ids, doc.id), doc.id)
                self._ids = ids
        return doc

    def remove(self, doc_id: str) -> Doc | None:
        doc = self.docs.pop(doc_id, None)
        if doc is not None:
            self._unindex(doc)
            self._ids = None
        return doc

    def _index(self, doc: Doc) -> None:
        key = doc.head.get("key")
        if isinstance(key, str):
            self.by_key[key] = doc.id
        number = doc.head.get("orderNumber")
        if isinstance(number, str):
            self.by_order_number[number] = doc.id

    def _unindex(self, doc: Doc) -> None:
        for index, value in ((self.by_key, doc.head.get("key")), (self.by_order_number, doc.head.get("orderNumber"))):
            if isinstance(value, str) and index.get(value) == doc.id:
                del index[value]


# --- queries ------------------------------------------------------------------------------------
@dataclass
class SortKey:
    path: list[str]
    descending: bool


@dataclass
class Page:
    docs: list[Doc]
    total: int | None


def _sort_value(v: Any) -> tuple[int, Any]:
    # Absent values first in ascending order, like the MongoDB-backed API; then by JSON type.
    if v is MISSING or v is None:
        return (0, 0)
    t = type(v)
    if t is bool:
        return (1, v)
    if t in (int, float):
        return (2, v)
    if t is str:
        return (3, v)
    return (4, json.dumps(v, sort_keys=True))


def _lookup(obj: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return MISSING
        obj = obj.get(part, MISSING)
    return obj


def sort_docs(docs: list[Doc], sorts: list[SortKey]) -> list[Doc]:
    parsed: dict[int, dict[str, Any]] = {}

    def value(doc: Doc, path: list[str]) -> Any:
        if len(path) == 1:
            v = doc.head.get(path[0], MISSING)
            if v is not COMPLEX:
                return v
        obj = parsed.get(id(doc))
        if obj is None:
            obj = parsed[id(doc)] = doc.obj()
        return _lookup(obj, path)

    out = list(docs)
    for key in reversed(sorts):  # stable sorts, least significant key first
        out.sort(key=lambda d, p=key.path: _sort_value(value(d, p)), reverse=key.descending)
    return out


def run_query(coll: Collection, ids: list[str], query: Query, sorts: list[SortKey], limit: int, offset: int,
              with_total: bool, *, where_used: bool, visible: Callable[[dict[str, Any]], bool] | None = None) -> Page:
    """``ids`` is the snapshot of ``coll.ids()`` taken under the app lock (sorting it iterates the dict, which
    must not race with writers); the scan itself needs no lock because stored documents are immutable."""
    docs = coll.docs
    start = 0
    if query.id_after is not None:
        start = (bisect_left if query.id_after_inclusive else bisect_right)(ids, query.id_after)
    id_order = not sorts or (len(sorts) == 1 and sorts[0].path == ["id"] and not sorts[0].descending)

    def candidates() -> Iterable[Doc]:
        for i in range(start, len(ids)):
            doc = docs.get(ids[i])
            if doc is None or (visible is not None and not visible(doc.head)):
                continue
            if query.matches(doc.head, doc.obj):
                yield doc

    if id_order and not with_total:
        need = offset + limit
        found: list[Doc] = []
        if need:
            for doc in candidates():
                found.append(doc)
                if len(found) >= need:
                    break
        return Page(found[offset:need], None)
    matched = list(candidates())
    if not id_order:
        matched = sort_docs(matched, sorts)
    total: int | None = None
    if with_total:
        total = min(len(matched), MAX_TOTAL_WITH_WHERE) if where_used else len(matched)
    return Page(matched[offset:offset + limit], total)
