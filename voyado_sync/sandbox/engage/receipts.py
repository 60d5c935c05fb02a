"""Engage receipts, ``POST /api/v3/receipts`` (and v2), reference §3.

Synchronous part (what the caller sees): required fields and JSON types are checked (400
``InvalidReceipt``; ``message`` names the first offending field, ``errors`` lists them all); nothing else.
Signs, sums and SKUs are not checked: the reference gives no such rule for receipts, and Engage validates
only the format synchronously. A repeated ``uniqueReceiptId`` is absorbed silently (same 202, no effect).

Asynchronous part (``receipt_batch_seconds`` later; immediately with 0, the default): the contact is
resolved from ``contact.matchKey``/``matchKeyType`` (case-insensitive type, ``contactType`` defaults to
Member unless the type is contactId). An unresolved contact parks the receipt in the integration log
("Contact is missing"): it is not stored, so the same ``uniqueReceiptId`` sent again once the contact
exists is processed. An unknown ``storeExternalId`` creates the store.

Success answer (not established by the reference, §14.2): ``202 {"uniqueReceiptId", "status": "Accepted"}``.

Read back: ``GET /api/v2/contacts/{contactId}/transactions?offset&count`` (reference §2.11,
``PagedResultOfTransactionItem``). The item fields are the reference's; what the sandbox puts in them is
its reading of them, to be confirmed against a real tenant (README, assumptions): ``externalId`` is the
``uniqueReceiptId``, ``transactionNumber`` the ``receiptNumber``, ``localNetPriceSum`` the receipt's
``totalGrossPrice`` (what was paid after discounts, incl. tax; negative for a return) in ``localCurrency``,
``numberOfItems`` the sum of the items' quantities, ``lineItems`` ``{sku, articleNumber, quantity, price}``
with signed quantity and price.

Admin: ``DELETE /__admin/engage/receipts/{uniqueReceiptId}`` forgets a stored receipt and ``PATCH`` with a
JSON object overwrites its fields (``totalGrossPrice``, ``currency``, ...): how tests corrupt what Voyado
holds to see the read-back checks fail.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from voyado_sync.sandbox.engage.errors import EngageError, int_arg, is_int, is_number, iso, parse_datetime
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

RECEIPTS_ROUTE = r"/api/v[23]/receipts"
RECEIPTS_PATH = re.compile(f"^{RECEIPTS_ROUTE}$")
MATCH_KEY_TYPES = {t.lower(): t for t in ("Email", "SocialSecurityNumber", "MobilePhone", "CardId", "ExternalId",
                                          "MemberNumber", "ContactId", "MemberNumberWithCardNumberAsFallback")}
ITEM_TYPES = ("PURCHASE", "RETURN", "ADJUSTMENT")
_STR, _NUM, _INT, _DATE = "string", "number", "integer", "datetime"
ROOT_FIELDS = {  # name: (type, required)
    "uniqueReceiptId": (_STR, True), "receiptNumber": (_STR, False), "createdDate": (_DATE, True),
    "storeExternalId": (_STR, True), "currency": (_STR, True), "exchangeRateToGroupCurrency": (_NUM, False),
    "totalGrossPrice": (_NUM, True),
}
ITEM_FIELDS = {
    "type": (_STR, True), "sku": (_STR, True), "quantity": (_INT, True), "packQuantity": (_NUM, False),
    "grossPaidPrice": (_NUM, True), "taxAmount": (_NUM, True), "taxPercent": (_NUM, True),
    "articleNumber": (_STR, True), "articleName": (_STR, True), "articleGroup": (_STR, False),
    "marginPercent": (_NUM, False),
}
PAYMENT_FIELDS = {"type": (_STR, True), "value": (_NUM, True), "description": (_STR, False)}
# How a resolved match key type maps to a contact attribute (None: contact id itself).
_MATCH_FIELD = {"email": "email", "mobilephone": "mobilePhone", "externalid": "externalId",
                "membernumber": "memberNumber", "membernumberwithcardnumberasfallback": "memberNumber",
                "socialsecuritynumber": "socialSecurityNumber"}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == _STR:
        return isinstance(value, str) and value.strip() != ""
    if kind == _NUM:
        return is_number(value)
    if kind == _INT:
        return is_int(value)
    return isinstance(value, str)


def _check_fields(obj: dict[str, Any], spec: dict[str, tuple[str, bool]], prefix: str, errors: list[str]) -> None:
    for name, (kind, required) in spec.items():
        value = obj.get(name)
        if value is None:
            if required:
                errors.append(f"{prefix}{name} is required")
            continue
        if not _type_ok(kind, value):
            errors.append(f"{prefix}{name} must be a {'non-empty string' if kind == _STR else kind}")
        elif kind == _DATE:
            try:
                parse_datetime(value, f"{prefix}{name}", require_offset=True)
            except EngageError as exc:
                errors.append(exc.message)


def receipt_errors(body: Any) -> list[str]:
    """Every format problem of a receipt (required fields and JSON types, reference §3)."""
    if not isinstance(body, dict):
        return ["the body must be a receipt JSON object"]
    errors: list[str] = []
    contact = body.get("contact")
    if not isinstance(contact, dict):
        errors.append("contact is required (an object with matchKey and matchKeyType)")
    else:
        if not isinstance(contact.get("matchKey"), str) or not contact["matchKey"].strip():
            errors.append("contact.matchKey is required")
        mkt = contact.get("matchKeyType")
        if not isinstance(mkt, str) or mkt.strip().lower() not in MATCH_KEY_TYPES:
            errors.append(f"contact.matchKeyType must be one of {sorted(MATCH_KEY_TYPES.values())}")
    _check_fields(body, ROOT_FIELDS, "", errors)
    currency = body.get("currency")
    if isinstance(currency, str) and not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        errors.append("currency must be an ISO 4217 code such as SEK")
    for name, spec in (("items", ITEM_FIELDS), ("paymentMethods", PAYMENT_FIELDS)):
        rows = body.get(name)
        if not isinstance(rows, list) or (name == "items" and not rows):
            errors.append(f"{name} is required (a{' non-empty' if name == 'items' else 'n'} array)")
            continue
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                errors.append(f"{name}[{i}] must be an object")
                continue
            _check_fields(row, spec, f"{name}[{i}].", errors)
            if name == "items" and isinstance(row.get("type"), str) and row["type"].upper() not in ITEM_TYPES:
                errors.append(f"items[{i}].type must be one of {list(ITEM_TYPES)}")
            for j, d in enumerate(row.get("discounts") or [] if name == "items" else []):
                if not isinstance(d, dict) or not is_number(d.get("value")):
                    errors.append(f"items[{i}].discounts[{j}].value is required (a number)")
    return errors


def receipt_id(body: bytes) -> str | None:
    """The ``uniqueReceiptId`` of a receipt body, if it has a readable one."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    rid = doc.get("uniqueReceiptId") if isinstance(doc, dict) else None
    return rid if isinstance(rid, str) else None


class Receipts:
    def __init__(self, app: "EngageSandbox", batch_seconds: float) -> None:
        self.app = app
        self.batch_seconds = batch_seconds
        self.stored: dict[str, dict[str, Any]] = {}
        self.parked: dict[str, dict[str, Any]] = {}  # processed without a contact: only in the integration log
        self.pending: deque[tuple[datetime, dict[str, Any]]] = deque()
        self._pending_ids: set[str] = set()
        self.duplicates = 0

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        route("POST", RECEIPTS_ROUTE, self._post)
        route("GET", r"/api/v2/contacts/(?P<id>[^/]+)/transactions", self._transactions)

    def _post(self, req: Request) -> Response:
        body = req.json()
        errors = receipt_errors(body)
        if errors:
            raise EngageError(400, "InvalidReceipt", errors[0], errors=errors)
        rid = body["uniqueReceiptId"]
        answer = Response.json({"uniqueReceiptId": rid, "status": "Accepted"}, 202)
        if rid in self.stored or rid in self._pending_ids:
            self.duplicates += 1
            self.app.integration.add(self.app.now(), "Receipts", "Duplicate receipt ignored", rid)
            return answer
        now = self.app.now()
        self.pending.append((now, copy.deepcopy(body)))
        self._pending_ids.add(rid)
        self.app.effect("receipt", rid, storeExternalId=body["storeExternalId"], currency=body["currency"])
        self.process_due()
        return answer

    def process_due(self, force: bool = False) -> int:
        """Turn queued receipts whose batch is due into stored ones (Engage's periodic XML batch)."""
        now = self.app.now()
        done = 0
        while self.pending and (force or self.pending[0][0] + timedelta(seconds=self.batch_seconds) <= now):
            accepted, body = self.pending.popleft()
            self._pending_ids.discard(body["uniqueReceiptId"])
            self._store(accepted, body, now)
            done += 1
        return done

    def _store(self, accepted: datetime, body: dict[str, Any], now: datetime) -> None:
        rid = body["uniqueReceiptId"]
        contact_id, problem = self._resolve(body["contact"])
        if problem:
            self.app.integration.add(now, "Receipts", problem, rid,
                                     matchKeyType=body["contact"].get("matchKeyType"))
            self.parked[rid] = {"uniqueReceiptId": rid, "status": "ContactMissing", "problem": problem,
                                "acceptedAt": iso(accepted), "processedAt": iso(now)}
            return
        self.parked.pop(rid, None)
        self.app.stores.ensure(body["storeExternalId"], receipt_id=rid)
        self.stored[rid] = {"uniqueReceiptId": rid, "contactId": contact_id, "status": "Processed",
                            "transactionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"receipt:{rid}")),
                            "acceptedAt": iso(accepted), "processedAt": iso(now), "receipt": body}

    def _transactions(self, req: Request) -> Response:
        contact = self.app.contacts.require(req.params["id"])
        offset = int_arg(req.arg("offset"), "offset", 0, 0, 10**9)
        count = int_arg(req.arg("count"), "count", 100, 1, 500)
        held = sorted((r for r in self.stored.values() if r["contactId"] == contact.id),
                      key=lambda r: (r["receipt"].get("createdDate") or "", r["uniqueReceiptId"]))
        items = [self._transaction_item(r) for r in held[offset:offset + count]]
        return Response.json({"items": items, "totalCount": len(held), "offset": offset, "count": len(items)})

    def _transaction_item(self, held: dict[str, Any]) -> dict[str, Any]:
        r = held["receipt"]
        store = self.app.stores.by_external_id.get(r.get("storeExternalId")) or {}
        lines = [{"sku": i.get("sku"), "articleNumber": i.get("articleNumber"), "quantity": i.get("quantity"),
                  "price": -i["grossPaidPrice"] if str(i.get("type")).upper() == "RETURN" else i["grossPaidPrice"]}
                 for i in r.get("items") or ()]
        return {"id": held["transactionId"], "transactionNumber": r.get("receiptNumber"),
                "createdDate": r.get("createdDate"), "storeName": store.get("name"), "storeType": store.get("type"),
                "numberOfItems": sum(abs(i.get("quantity") or 0) for i in r.get("items") or ()),
                "netPriceSum": r.get("totalGrossPrice"), "localNetPriceSum": r.get("totalGrossPrice"),
                "localCurrency": r.get("currency"), "groupCurrency": r.get("currency"), "lineItems": lines,
                "externalId": held["uniqueReceiptId"]}

    # --- admin: how tests corrupt what Voyado holds ---------------------------------------------------
    def forget(self, rid: str) -> bool:
        return self.stored.pop(rid, None) is not None

    def overwrite(self, rid: str, fields: dict[str, Any]) -> bool:
        held = self.stored.get(rid)
        if held is None:
            return False
        held["receipt"].update(fields)
        return True

    def _resolve(self, contact: dict[str, Any]) -> tuple[str | None, str | None]:
        kind = contact["matchKeyType"].strip().lower()
        key = contact["matchKey"]
        contacts = self.app.contacts
        if kind == "contactid":
            found = contacts.get(key)
            return (found.id, None) if found else (None, "Contact is missing")
        field = _MATCH_FIELD.get(kind)
        if field is None:  # CardId: the sandbox keeps no cards
            return None, "Contact is missing"
        try:
            ctype = contacts.canonical_type(contact.get("contactType") or "Member")
        except EngageError:
            return None, "Contact type is missing"
        ids = contacts.find(field, key, ctype)
        if len(ids) > 1:
            return None, "Multiple contacts match"
        return (ids[0], None) if ids else (None, "Contact is missing")
