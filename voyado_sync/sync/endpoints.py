"""Adapters from sync items to Voyado writes: one class per endpoint, each saying how an item is checked
locally, how items travel (one per request or in bulk), what Voyado's answer means per row, and which
delivery guarantee holds after an interruption (see `voyado_sync.sync.engine`).

Item payload per endpoint (``SyncItem.key`` in brackets):

* ``receipts`` — the receipt JSON (``uniqueReceiptId``); Voyado ignores a repeated uniqueReceiptId.
* ``contacts_create`` — contact attributes incl. ``externalId`` (externalId); looked up before a resend.
* ``contacts_update`` — ``{"contactId": guid, "changes": {...}}`` (externalId or contact id); PATCH.
* ``contacts_bulk_create`` / ``contacts_bulk_update`` — one contact per item (externalId), ≤ 4 000 per
  request, per-row outcome from the bulk status.
* ``point_transactions`` — one transaction row (a deterministic row key), ≤ 1 000 per request, sent with
  an ``Idempotency-Key`` derived from the batch's row keys and hashes; ``notAccepted`` rows are rejected.
* ``triggers`` — ``{"triggerId", "contactId" | "externalId", "data": {...}}`` (the event key).
* ``carts`` — one cart (cartReference + time), batched; ``stock_levels`` — one row (sku/locale), batched.
* ``elevate_catalog`` — one catalog operation line (product group key); all lines in ONE full import.
* ``ct_customer_fields`` — ``{"customerId", "fields": {...}}`` (customer id): Voyado-owned fields set on the
  Commercetools customer; the actions are a diff against the customer as read before the update.
* ``elevate_catalog_updates`` — one ``replace``/``remove`` line (product group key); only changed lines,
  in incremental imports of up to 1 000 lines.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from typing import Any

from voyado_sync.clients.engage import MAX_BULK_CONTACTS, MAX_POINT_TRANSACTIONS
from voyado_sync.clients.http import ConflictError, TransientError, ValidationError
from voyado_sync.mapping.validate import receipt_problems
from voyado_sync.privacy import scrub
from voyado_sync.sync.engine import Delivery
from voyado_sync.sync.models import Outcome, RowResult, SyncItem, canonical_json

POINT_TX_REQUIRED = ("contactId", "amount", "definitionId", "source", "description")



class Api(str, enum.Enum):
    """Which API an endpoint writes to."""

    ENGAGE = "engage"
    ELEVATE = "elevate"
    COMMERCETOOLS = "commercetools"


def _missing(payload: dict[str, Any], fields: Sequence[str], where: str = "") -> list[str]:
    return [f"{where}{f} is required" for f in fields if payload.get(f) in (None, "", [])]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or type(v).__name__ == "Decimal"


def _sent(items: Sequence[SyncItem], status: int | None = 200, outcome: Outcome = Outcome.SENT) -> list[RowResult]:
    return [RowResult(it.key, outcome, status) for it in items]


class _Base:
    name = ""
    api = Api.ENGAGE
    batch_size = 1
    delivery = Delivery.KEYED
    full_replace = False
    status_is_answer = False  # a 2xx status line alone settles the item, its body adds nothing
    answered = Outcome.SENT  # what such a status line settles the item as

    def __init__(self, client: Any, *, batch_size: int | None = None) -> None:
        self.client = client
        if batch_size is not None:
            self.batch_size = batch_size

    required: tuple[str, ...] = ()  # payload fields that must be present and non-empty
    key_field: str | None = None  # the payload field the item's key must equal, when the payload has it

    def validate(self, item: SyncItem) -> list[str]:
        """Local checks from the API reference; a failure never reaches the network."""
        if not isinstance(item.payload, dict):
            return [f"payload must be a JSON object, got {type(item.payload).__name__}"]
        errors = _missing(item.payload, self.required) + self.problems(item.payload)
        value = item.payload.get(self.key_field) if self.key_field else None
        if value and value != item.key:
            errors.append(f"key must equal {self.key_field}")
        return errors

    def problems(self, payload: dict[str, Any]) -> list[str]:
        """What this write needs beyond its required fields."""
        return []

    def lookup(self, items: Sequence[SyncItem]) -> dict[str, RowResult]:
        return {}


class ReceiptsEndpoint(_Base):
    """Engage takes a receipt and processes it later (reference §3): an answer only says *accepted*; the
    read-back (`voyado_sync.sync.readback`) finds out whether Voyado holds it. A held receipt is final
    under its id: a changed one goes out as a correction under new ids, never as a resend."""

    name = "receipts"
    key_field = "uniqueReceiptId"
    held_is_final = True
    # One receipt per request, answered 202: once the status line says accepted, Engage has it (the
    # read-back tells whether it holds it), and a resend after a cut answer would be a second POST of it.
    status_is_answer = True
    answered = Outcome.ACCEPTED

    def problems(self, payload: dict[str, Any]) -> list[str]:
        """The mapping's own receipt validation, so a receipt read back from a payload dataset is refused
        for the same reasons as when it was mapped (a corrupted partition never reaches Voyado)."""
        return receipt_problems(payload)

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        (item,) = items
        result = self.client.post_receipt(item.payload, retry=False)
        return [RowResult(item.key, _receipt_outcome(result), _status_of(result))]


def _status_of(result: Any) -> int | None:
    return getattr(result, "status_code", None) if result is not None and not isinstance(result, dict) else None


def _receipt_outcome(result: Any) -> Outcome:
    """Voyado ignores a repeated uniqueReceiptId silently; when the answer says so, count it."""
    body = result if isinstance(result, dict) else None
    if body and (body.get("duplicate") is True or str(body.get("status", "")).lower() == "duplicate"):
        return Outcome.DUPLICATE
    return Outcome.ACCEPTED


def find_own_contact(client: Any, payload: dict[str, Any]) -> str | None:
    """The contact a create payload stands for, if Voyado holds it already: a customer's by its externalId
    (ours: the email may belong to another person, which identity resolution settles, not a lookup), a
    shopper's (no externalId) by email, then mobile phone. Several matches locate nothing."""
    keys = ([("custom_key", payload["externalId"])] if payload.get("externalId") else
            [("email", payload.get("email")), ("mobile_phone", payload.get("mobilePhone"))])
    for kind, value in keys:
        if value:
            try:
                found = client.find_contact_id(**{kind: value})
            except ConflictError:
                continue
            if found:
                return found
    return None


def _contact_keys(payload: dict[str, Any]) -> list[str]:
    if payload.get("externalId") or payload.get("email") or payload.get("mobilePhone"):
        return []
    return ["a contact needs externalId, email or mobilePhone to be found again"]


def _created_id(body: Any) -> str | None:
    return str(body["id"]) if isinstance(body, dict) and body.get("id") else None


class ContactsCreateEndpoint(_Base):
    """POST /contacts is not an upsert. A shopper's contact (no externalId) is located by email or phone
    before one is created; after an unclear answer the contact is looked up before a resend. The
    contact's id, created or located, is the row's ``remote_id``."""

    name = "contacts_create"
    delivery = Delivery.LOOKUP
    key_field = "externalId"

    def __init__(self, client: Any, *, source: str | None = None, store_external_id: str | None = None) -> None:
        self.client, self.source, self.store_external_id = client, source, store_external_id

    def problems(self, payload: dict[str, Any]) -> list[str]:
        return _contact_keys(payload)

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        (item,) = items
        if not item.payload.get("externalId"):
            found = find_own_contact(self.client, item.payload)
            if found:
                return [RowResult(item.key, Outcome.DUPLICATE, 200, error="located an existing contact",
                                  remote_id=found)]
        try:
            created = self.client.create_contact(item.payload, source=self.source,
                                                 store_external_id=self.store_external_id, retry=False)
        except ConflictError as exc:
            # Ours already (an earlier attempt landed) only if our own key finds it; a clash on another key
            # (a customer's email belongs to a different contact) is a real rejection for identity to settle.
            found = find_own_contact(self.client, item.payload) if exc.code == ALREADY_EXISTS else None
            if not found:
                raise
            return [RowResult(item.key, Outcome.DUPLICATE, 409, error="contact already exists",
                              correlation_id=exc.correlation_id, remote_id=found)]
        return [RowResult(item.key, Outcome.SENT, 201, remote_id=_created_id(created))]

    def lookup(self, items: Sequence[SyncItem]) -> dict[str, RowResult]:
        found = {}
        for it in items:
            if cid := find_own_contact(self.client, it.payload):
                found[it.key] = RowResult(it.key, Outcome.DUPLICATE, 200, error="already created", remote_id=cid)
        return found


class ContactsUpdateEndpoint(_Base):
    name = "contacts_update"

    required = ("contactId",)

    def problems(self, payload: dict[str, Any]) -> list[str]:
        changes = payload.get("changes")
        return [] if isinstance(changes, dict) and changes else ["changes must be a non-empty object"]

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        (item,) = items
        self.client.patch_contact(item.payload["contactId"], item.payload["changes"], retry=False)
        return _sent(items)


class ContactsBulkEndpoint(_Base):
    """Bulk create/update (≤ 4 000 per request); per-row outcomes come from the batch status."""

    name = "contacts_bulk_create"
    batch_size = MAX_BULK_CONTACTS
    key_field = "externalId"

    def __init__(self, client: Any, *, update: bool = False, contact_type: str | None = None,
                 poll_interval_s: float = 0.1, poll_timeout_s: float = 300.0) -> None:
        self.client, self.update, self.contact_type = client, update, contact_type
        self.name = "contacts_bulk_update" if update else "contacts_bulk_create"
        self.poll_interval_s, self.poll_timeout_s = poll_interval_s, poll_timeout_s

    def problems(self, payload: dict[str, Any]) -> list[str]:
        return [] if self.update else _contact_keys(payload)

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        rows = [it.payload for it in items]
        batch_id = (self.client.bulk_update_contacts(rows, contact_type=self.contact_type, retry=False) if self.update
                    else self.client.bulk_create_contacts(rows, contact_type=self.contact_type, retry=False))
        results = bulk_row_results(items, self._wait(batch_id))
        by_key = {it.key: it for it in items}
        for r in results:  # a create that found its contact already there: which one it is
            if r.outcome is Outcome.DUPLICATE and not r.remote_id:
                r.remote_id = find_own_contact(self.client, by_key[r.key].payload)
        return results

    def _wait(self, batch_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.poll_timeout_s
        while True:
            try:
                status = self.client.bulk_status(batch_id)
            except TransientError:
                status = {}  # reading the status is safe to repeat: keep polling until the deadline
            state = str((status or {}).get("status", "")).lower()
            if state not in ("", "pending", "processing", "queued", "running", "inprogress", "in_progress"):
                return status
            if time.monotonic() > deadline:
                raise TransientError(f"bulk batch {batch_id} still {state} after {self.poll_timeout_s:.0f}s")
            time.sleep(self.poll_interval_s)


class ContactsBulkUpdateEndpoint(ContactsBulkEndpoint):
    name = "contacts_bulk_update"

    def __init__(self, client: Any, **options: Any) -> None:
        super().__init__(client, update=True, **options)


ALREADY_EXISTS = "ContactAlreadyExists"


def bulk_row_results(items: Sequence[SyncItem], status: dict[str, Any]) -> list[RowResult]:
    """Per-row outcomes of a bulk batch: ``results[i]`` (by ``index``) says Created/Updated/Failed. A create
    failing only because the key already exists is a duplicate (e.g. the resend of an interrupted batch)."""
    by_index = {r.get("index"): r for r in status.get("results") or [] if isinstance(r, dict)}
    out = []
    for i, it in enumerate(items):
        row = by_index.get(i)
        if row is None:
            out.append(RowResult(it.key, Outcome.DEAD_LETTERED, error="no per-row result in the bulk status",
                                 reason="missing_row_result"))
        elif str(row.get("status", "")).lower() != "failed":
            out.append(RowResult(it.key, Outcome.SENT, 200, remote_id=row.get("contactId") or None))
        elif row.get("errorCode") == ALREADY_EXISTS:
            out.append(RowResult(it.key, Outcome.DUPLICATE, 409, error="contact already exists"))
        else:
            code = row.get("errorCode") or "Failed"
            out.append(RowResult(it.key, Outcome.REJECTED, None, error=scrub(f"{code}: {row.get('message') or ''}"),
                                 reason=f"bulk_{code}"[:64]))
    return out


class PointTransactionsEndpoint(_Base):
    """≤ 1 000 rows per request with an Idempotency-Key; invalid rows come back in ``notAccepted`` while
    the call itself succeeds, so the body is read row by row."""

    name = "point_transactions"
    batch_size = MAX_POINT_TRANSACTIONS

    required = POINT_TX_REQUIRED

    def problems(self, payload: dict[str, Any]) -> list[str]:
        amount = payload.get("amount")
        return ["amount must be a number"] if amount is not None and not _is_number(amount) else []

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        body = self.client.post_point_transactions([it.payload for it in items], idempotency_key=batch_key,
                                                  retry=False) or {}
        return point_row_results(items, body)


def point_row_results(items: Sequence[SyncItem], body: dict[str, Any]) -> list[RowResult]:
    not_accepted = [canonical_json(r) for r in body.get("notAccepted") or []]
    messages = [scrub(str(m)) for m in body.get("errorMessages") or []]
    detail = "; ".join(messages)
    extra = []
    if body.get("missingContactIds"):
        extra.append(f"missing contact ids {body['missingContactIds']}")
    if body.get("missingDefinitionIds"):
        extra.append(f"missing definition ids {body['missingDefinitionIds']}")
    results = []
    for it in items:
        row = canonical_json(it.payload)
        if row in not_accepted:
            not_accepted.remove(row)
            results.append(RowResult(it.key, Outcome.REJECTED, 200, reason="not_accepted",
                                     error="; ".join(x for x in [detail, *extra] if x) or "row not accepted"))
        else:
            results.append(RowResult(it.key, Outcome.SENT, 200))
    return results


class TriggersEndpoint(_Base):
    """Custom automation triggers: no server-side de-duplication, so at-most-once via the ledger."""

    name = "triggers"
    delivery = Delivery.AT_MOST_ONCE

    required = ("triggerId",)

    def problems(self, payload: dict[str, Any]) -> list[str]:
        errors = [] if payload.get("contactId") or payload.get("externalId") else [
            "contactId or externalId is required"]
        if payload.get("data") is not None and not isinstance(payload["data"], dict):
            errors.append("data must be an object")
        return errors

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        (item,) = items
        p = item.payload
        self.client.trigger_custom(p["triggerId"], contact_id=p.get("contactId"), external_id=p.get("externalId"),
                                   data=p.get("data") or {}, retry=False)
        return _sent(items)


class CartsEndpoint(_Base):
    name = "carts"
    batch_size = 500

    required = ("cartReference", "time")

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        self.client.track_carts([it.payload for it in items], retry=False)
        return _sent(items)


class StockLevelsEndpoint(_Base):
    name = "stock_levels"
    batch_size = 1000

    required = ("sku",)

    def problems(self, payload: dict[str, Any]) -> list[str]:
        quantity = payload.get("quantity")
        whole = isinstance(quantity, int) and not isinstance(quantity, bool)
        return [] if whole else ["quantity must be an integer"]

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        self.client.put_stock_levels([it.payload for it in items], retry=False)
        return _sent(items)


class ElevateCatalogEndpoint(_Base):
    """``full``: a full catalog replace - if any line changed, every line is sent in one import (a full
    import deletes what it does not contain); if none changed, nothing is sent. Otherwise incremental
    imports of the changed lines only (``replace``/``remove``), ``batch_size`` lines per import: an
    import never deletes what it does not mention, so a partial snapshot cannot empty the catalog."""

    name = "elevate_catalog"
    api = Api.ELEVATE
    batch_size = 10**9
    full_replace = True

    def __init__(self, client: Any, *, full: bool = True, batch_size: int = 1000) -> None:
        self.client = client
        self.full = full
        if not full:
            self.name, self.batch_size, self.full_replace = "elevate_catalog_updates", batch_size, False

    def problems(self, payload: dict[str, Any]) -> list[str]:
        allowed = ("replace",) if self.full else ("replace", "edit", "remove")
        if any(op in payload for op in allowed):
            return []
        return [f"a catalog line must be a {'/'.join(allowed)} operation"]

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        try:
            self.client.import_catalog([it.payload for it in items], full=self.full)
        except ValidationError as exc:
            return catalog_line_results(items, exc)
        return _sent(items)


class ElevateCatalogUpdatesEndpoint(ElevateCatalogEndpoint):
    name = "elevate_catalog_updates"

    def __init__(self, client: Any, *, batch_size: int = 1000) -> None:
        super().__init__(client, full=False, batch_size=batch_size)


class CustomerFieldsEndpoint(_Base):
    """Voyado-owned facts (consent, preferences, loyalty) as Commercetools customer custom fields. The
    actions are derived from the customer as read just before the update (and again after a 409), so a
    resend after an interruption changes nothing that already landed."""

    name = "ct_customer_fields"
    api = Api.COMMERCETOOLS

    def __init__(self, client: Any, *, rule: Any, usable_type_ids: Sequence[str] = ()) -> None:
        self.client, self.rule, self.usable_type_ids = client, rule, frozenset(usable_type_ids)

    def problems(self, payload: dict[str, Any]) -> list[str]:
        if not payload.get("customerId") or not isinstance(payload.get("fields"), dict):
            return ["customerId and a fields object are required"]
        return []

    def send(self, items: Sequence[SyncItem], batch_key: str | None) -> list[RowResult]:
        from voyado_sync.mapping.customer_fields import field_actions

        (item,) = items
        p = item.payload
        try:
            self.client.update_customer(
                p["customerId"], 0, lambda customer: field_actions(customer, p["fields"], self.rule, self.usable_type_ids))
        except ValueError as exc:
            return [RowResult(item.key, Outcome.REJECTED, None, error=scrub(str(exc)), reason="custom_type_unusable")]
        return _sent(items)


def catalog_line_results(items: Sequence[SyncItem], exc: ValidationError) -> list[RowResult]:
    """Elevate refuses a whole import if any line is bad (the catalog stays unchanged): the bad lines are
    rejected with their reason, the others with a pointer to them."""
    errors = (exc.body or {}).get("errors") if isinstance(exc.body, dict) else None
    by_line: dict[int, str] = {}
    for e in errors or []:
        if isinstance(e, dict) and isinstance(e.get("line"), int):
            by_line[e["line"]] = scrub(str(e.get("reason") or e.get("message") or "invalid line"))
    bad = ", ".join(items[n - 1].key for n in sorted(by_line) if 0 < n <= len(items))[:500]
    out = []
    for n, it in enumerate(items, start=1):
        if n in by_line:
            out.append(RowResult(it.key, Outcome.REJECTED, exc.status, error=by_line[n], reason="catalog_line_invalid"))
        else:
            out.append(RowResult(it.key, Outcome.REJECTED, exc.status, reason="catalog_import_failed",
                                 error=scrub(f"import refused because of other lines: {bad or exc}")))
    return out


_REGISTRY: dict[str, Any] = {cls.name: cls for cls in (
    ReceiptsEndpoint, ContactsCreateEndpoint, ContactsUpdateEndpoint, ContactsBulkEndpoint, ContactsBulkUpdateEndpoint,
    PointTransactionsEndpoint, TriggersEndpoint, CartsEndpoint, StockLevelsEndpoint, ElevateCatalogEndpoint,
    ElevateCatalogUpdatesEndpoint, CustomerFieldsEndpoint)}
ENDPOINT_NAMES = tuple(_REGISTRY)
# Dead letters these endpoints leave are not re-sent from their stored payload: only re-materializing
# the push asset rebuilds what is right to send.
NOT_REPLAYABLE = {
    "elevate_catalog": "elevate_catalog is a full import (re-sending a few lines would delete the rest of the "
                       "catalog): re-materialize voyado/catalog_sync instead",
    "ct_customer_fields": "ct_customer_fields writes to Commercetools what Voyado holds now: re-materialize "
                          "commercetools/customer_fields_writeback for the partition instead (it re-sends what "
                          "did not land)",
}


def api_of(name: str) -> Api:
    """The API an endpoint writes to (its client, rate budget and Dagster pool follow from it)."""
    try:
        return _REGISTRY[name].api
    except KeyError:
        raise ValueError(f"unknown sync endpoint {name!r}; known: {', '.join(ENDPOINT_NAMES)}") from None


def build_endpoint(name: str, client: Any, **options: Any) -> Any:
    """The adapter for ``name`` on its API's client (``options`` go to the adapter, e.g. ``source``)."""
    api_of(name)
    return _REGISTRY[name](client, **options)
