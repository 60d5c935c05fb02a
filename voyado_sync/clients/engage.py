"""Voyado Engage REST client (reference voyado-api.md §1-§10).

Every request carries ``apikey``, ``Content-Type: application/json`` (mandatory on *all* requests, GET
included: without it Engage answers 500), ``Accept`` and ``User-Agent``. Retries follow the shared
`RetryPolicy` (transient only: 429/502/503/504, transport errors, cut bodies; ``Retry-After`` honoured;
bounded attempts and time). A 401/403 is an `AuthError` at once: one request, no retry storm.

Writes that are not idempotent on Voyado's side (contact create, custom triggers, bulk) are retried by
this client only when the failure proves they were not processed (429/503, or no connection was made:
`voyado_sync.clients.http.proves_not_processed`) — see ``repeat_safe``; the sync engine adds its own
ledger-based recovery on top. Receipts
(``uniqueReceiptId``), point transactions (``Idempotency-Key``), PATCH and PUT are safe to repeat.

Paths: v3 where the reference knows v3, v2 otherwise (preferences, triggers, tracking, stock levels,
consents, contact delete).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import quote

import httpx

from voyado_sync import jsonutil
from voyado_sync.clients.http import (DEFAULT_RETRY, SINGLE_ATTEMPT, USER_AGENT, ApiError, AuthError, NotFoundError,
                                      RequestStats, RetryPolicy, TransientError, ValidationError, decode_json,
                                      proves_not_processed, send)

MAX_BULK_CONTACTS = 4000
MAX_POINT_TRANSACTIONS = 1000
CHANGE_TYPES = ("Created", "Updated", "Deleted")
PREFERENCES = ("acceptsEmail", "acceptsSms", "acceptsPostal")


class UnexpectedShape(ApiError):
    """An answer whose JSON shape is not the one the reference documents: named, never guessed around."""


@dataclass(frozen=True)
class HeldReceipt:
    """A receipt as Engage holds it, read back from a contact's transactions. The item fields are the
    reference's (§2.11); reading ``externalId`` as our ``uniqueReceiptId`` and ``localNetPriceSum`` as the
    paid total incl. tax is this project's assumption, listed in README ("Assumptions to confirm")."""

    unique_receipt_id: str
    receipt_number: str | None
    created: str | None
    currency: str | None
    total: Decimal | None
    item_count: int | None
    store_name: str | None

    @classmethod
    def from_item(cls, item: Any) -> "HeldReceipt | None":
        if not isinstance(item, Mapping) or not isinstance(item.get("externalId"), str):
            return None
        total = item.get("localNetPriceSum")
        if isinstance(total, (int, float)) and not isinstance(total, bool):
            total = Decimal(str(total))
        count = item.get("numberOfItems")

        def text(name: str) -> str | None:
            value = item.get(name)
            return value if isinstance(value, str) and value else None

        return cls(item["externalId"], text("transactionNumber"), text("createdDate"), text("localCurrency"),
                   total if isinstance(total, Decimal) else None,
                   count if isinstance(count, int) and not isinstance(count, bool) else None, text("storeName"))


class OutcomeUnknownError(ApiError):
    """A non-idempotent write failed in a way that does not tell whether Voyado processed it (reset,
    timeout, 502/504). Not retried: check Voyado (e.g. look the contact up) before sending again."""



def error_code(body: Any) -> str | None:
    """The error code of an Engage error body; tolerant, since the envelope is not established (§14.1)."""
    if isinstance(body, dict):
        for name in ("errorCode", "code", "error", "ErrorCode", "Code"):
            if isinstance(body.get(name), str) and body[name]:
                return body[name]
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return error_code(errors[0])
    return None


def _q(segment: str) -> str:
    return quote(str(segment), safe="")


def _iso(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; Voyado expects ISO-8601 with an offset")
    return value.isoformat()


class Pacer:
    """Client-side spacing of requests to at most ``rate`` per second (thread-safe, blocking)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class VoyadoHttp:
    """Shared plumbing of the Engage and Elevate clients: pooled httpx, stats, retries, typed errors."""

    service = "Voyado"
    credential_hint = "the API key"

    def __init__(self, base_url: str, *, timeout: float, retry: RetryPolicy, user_agent: str,
                 transport: httpx.BaseTransport | None, headers: Mapping[str, str], max_connections: int,
                 rate_limit_per_second: float | None = None) -> None:
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise ValueError(f"{self.service} base_url={base_url!r} is not an http(s) URL")
        self.base_url = str(base_url).rstrip("/")
        self.retry = retry
        self.stats = RequestStats()
        self._pacer = Pacer(rate_limit_per_second) if rate_limit_per_second else None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": user_agent, **headers}, transport=transport)

    def close(self) -> None:
        self._http.close()

    def single_attempt(self):  # noqa: ANN201 - returns the subclass
        """This client as the sync engine uses it: one attempt per call and no client-side pacing (the
        engine retries and paces every attempt through the key's shared rate budget), on the same
        connection pool and stats. Closing the original closes both."""
        view = copy.copy(self)
        view.retry = SINGLE_ATTEMPT
        view._pacer = None
        return view

    def __enter__(self):  # noqa: ANN204 - returns the subclass
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, *, on_retry: Callable[[ApiError, int], None] | None = None,
              retry: bool | RetryPolicy = True, repeat_safe: bool = True,
              parse: Callable[[httpx.Response], Any] = decode_json, **kwargs: Any) -> Any:
        url = f"{self.base_url}/{path.lstrip('/')}"

        def attempt() -> Any:
            if self._pacer is not None:
                self._pacer.wait()
            self.stats.add(requests=1)
            try:
                resp = send(self._http, method, url, code_of=error_code, **kwargs)
                self.stats.add(bytes=len(resp.content))
                return parse(resp)
            except AuthError as exc:
                raise AuthError(f"{self.service} rejected {self.credential_hint} ({exc.status}) on {method} "
                                f"{path.split('?')[0]}: check the configured key", status=exc.status,
                                code=exc.code, correlation_id=exc.correlation_id, body=exc.body, method=method,
                                url=exc.url) from None
            except TransientError as exc:
                if repeat_safe or retry is False or proves_not_processed(exc):
                    raise  # without retries the caller owns the decision (the sync engine does)
                if exc.status is not None and 200 <= exc.status < 300:
                    return None  # accepted; only the body was cut on the way
                raise OutcomeUnknownError(f"outcome unknown: {exc}", status=exc.status, code="OutcomeUnknown",
                                          correlation_id=exc.correlation_id, method=method, url=url) from exc

        def counted(exc: ApiError, n: int) -> None:
            self.stats.add(retries=1)
            if on_retry is not None:
                on_retry(exc, n)

        if retry is False:
            return attempt()
        policy = retry if isinstance(retry, RetryPolicy) else self.retry
        return policy.call(attempt, on_retry=counted)


class EngageClient(VoyadoHttp):
    """One Engage tenant + API key. Thread-safe (pooled httpx client, locked stats)."""

    service = "Voyado Engage"
    credential_hint = "the API key (VOYADO_API_KEY)"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0, retry: RetryPolicy = DEFAULT_RETRY,
                 user_agent: str = USER_AGENT, transport: httpx.BaseTransport | None = None,
                 max_connections: int = 10, rate_limit_per_second: float | None = None) -> None:
        if not api_key or not str(api_key).strip():
            raise ValueError("Voyado Engage api_key is empty; set VOYADO_API_KEY")
        super().__init__(base_url, timeout=timeout, retry=retry, user_agent=user_agent, transport=transport,
                         headers={"apikey": api_key, "Content-Type": "application/json",
                                  "Accept": "application/json"},
                         max_connections=max_connections, rate_limit_per_second=rate_limit_per_second)

    def __repr__(self) -> str:  # never the key
        return f"EngageClient(base_url={self.base_url!r})"

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
                json: Any = None, headers: Mapping[str, str] | None = None,
                on_retry: Callable[[ApiError, int], None] | None = None, retry: bool | RetryPolicy = True,
                repeat_safe: bool = True) -> Any:
        """One API call (with retries unless ``retry=False``); returns the decoded JSON body (None if empty).

        ``repeat_safe=False`` marks a non-idempotent write: with retries on, a transient failure that may
        have been processed raises `OutcomeUnknownError` instead of being retried. With ``retry=False`` the
        raw `TransientError` is raised and the caller decides."""
        items = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        items = [(k, ("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in items if v is not None]
        kwargs: dict[str, Any] = {"params": items}
        if json is not None:
            # Our own encoder: receipt amounts are Decimal, which httpx's json= cannot serialize exactly.
            kwargs["content"] = jsonutil.dumps(json).encode("utf-8")
        if headers:
            kwargs["headers"] = dict(headers)
        return self._send(method, path, on_retry=on_retry, retry=retry, repeat_safe=repeat_safe, **kwargs)

    # --- contacts ----------------------------------------------------------------------------------
    def create_contact(self, payload: Mapping[str, Any], *, source: str | None = None,
                       store_external_id: str | None = None, create_as_unapproved: bool = False,
                       retry: bool | RetryPolicy = True) -> dict[str, Any]:
        """``POST /api/v3/contacts``. Not an upsert: an existing key answers 409 (`ConflictError`)."""
        params = {"source": source, "storeExternalId": store_external_id,
                  "createAsUnapproved": True if create_as_unapproved else None}
        return self.request("POST", "/api/v3/contacts", params=params, json=dict(payload), retry=retry,
                            repeat_safe=False)

    def get_contact(self, contact_id: str) -> dict[str, Any]:
        return self.request("GET", f"/api/v3/contacts/{_q(contact_id)}")

    def patch_contact(self, contact_id: str, changes: Mapping[str, Any], *,
                      retry: bool | RetryPolicy = True) -> dict[str, Any]:
        """Only the given fields change; a None or "" value overwrites the stored one (§2.4)."""
        return self.request("PATCH", f"/api/v3/contacts/{_q(contact_id)}", json=dict(changes), retry=retry)

    def delete_contact(self, contact_id: str) -> None:
        self.request("DELETE", f"/api/v2/contacts/{_q(contact_id)}")

    def find_contact_id(self, *, email: str | None = None, mobile_phone: str | None = None,
                        custom_key: str | None = None, any: str | None = None,  # noqa: A002 - API name
                        social_security_number: str | None = None, contact_type: str | None = None) -> str | None:
        """The contact id for one key; None when Engage answers ContactNotFound; `ConflictError` on 409
        MultipleMatches (``.body["multipleMatchesFound"]`` lists the ids)."""
        given = {"email": email, "mobilePhone": mobile_phone, "customKey": custom_key, "any": any,
                 "socialSecurityNumber": social_security_number}
        given = {k: v for k, v in given.items() if v is not None}
        if len(given) != 1:
            raise ValueError("find_contact_id takes exactly one of email, mobile_phone, custom_key, any, "
                             "social_security_number")
        try:
            found = self.request("GET", "/api/v3/contacts/id", params={**given, "contactType": contact_type})
        except NotFoundError as exc:
            # Only a ContactNotFound means "no such contact"; a 404 for a wrong base URL must not read as
            # "absent" (that would make the caller create duplicates).
            if exc.code == "ContactNotFound" or "ContactNotFound" in str(exc.body or ""):
                return None
            raise
        if isinstance(found, dict):  # tolerate {"id": ...} / {"contactId": ...}
            found = found.get("id") or found.get("contactId")
        if not isinstance(found, str) or not found:
            raise TransientError(f"GET /api/v3/contacts/id answered {type(found).__name__}, not a contact id")
        return found

    def bulk_create_contacts(self, rows: Sequence[Mapping[str, Any]], contact_type: str | None = None, *,
                             retry: bool | RetryPolicy = True) -> str:
        """``POST /api/v3/contacts/bulk`` (≤ 4000 rows); returns the batchId for `bulk_status`."""
        self._check_size(rows, MAX_BULK_CONTACTS, "contacts")
        body = self.request("POST", "/api/v3/contacts/bulk", params={"contactType": contact_type},
                            json=[dict(r) for r in rows], retry=retry, repeat_safe=False)
        return self._batch_id(body)

    def bulk_update_contacts(self, rows: Sequence[Mapping[str, Any]], contact_type: str | None = None, *,
                             avoid_triggering_export: bool = False, retry: bool | RetryPolicy = True) -> str:
        """``PATCH /api/v3/contacts/bulk``; each row names its contact by ``id`` or a key attribute."""
        self._check_size(rows, MAX_BULK_CONTACTS, "contacts")
        body = self.request("PATCH", "/api/v3/contacts/bulk",
                            params={"contactType": contact_type,
                                    "avoidTriggeringExport": True if avoid_triggering_export else None},
                            json=[dict(r) for r in rows], retry=retry)
        return self._batch_id(body)

    def bulk_status(self, batch_id: str) -> dict[str, Any]:
        return self.request("GET", "/api/v3/contacts/bulk/status", params={"batchId": batch_id})

    def contact_changes(self, change_type: str, from_date: datetime | str,
                        to_date: datetime | str | None = None) -> list[str]:
        """Contact ids Created/Updated/Deleted in ``[from_date, to_date)`` (to now when omitted)."""
        if change_type not in CHANGE_TYPES:
            raise ValueError(f"change_type must be one of {CHANGE_TYPES}, got {change_type!r}")
        params = {"changeType": change_type, "fromDate": _iso(from_date),
                  "toDate": _iso(to_date) if to_date is not None else None}
        body = self.request("GET", "/api/v3/contacts/changes", params=params)
        if not isinstance(body, list):
            raise TransientError("GET /api/v3/contacts/changes did not answer a JSON array")
        return [str(i) for i in body]

    def iter_contact_changes(self, change_type: str, start: datetime, end: datetime,
                             window: timedelta = timedelta(days=365),
                             min_window: timedelta = timedelta(hours=1)) -> Iterator[str]:
        """All ids changed in ``[start, end)``: fixed windows, each split in halves when Engage refuses it
        (400: more than 250 000 ids), so any history can be walked without an admin export."""
        stack = []
        t = end
        while t > start:  # newest last on the stack → oldest window is read first
            stack.append((max(start, t - window), t))
            t -= window
        seen: set[str] = set()
        while stack:
            lo, hi = stack.pop()
            try:
                ids = self.contact_changes(change_type, lo, hi)
            except ValidationError:
                if hi - lo <= min_window:
                    raise
                mid = lo + (hi - lo) / 2
                stack += [(mid, hi), (lo, mid)]
                continue
            for i in ids:
                if i not in seen:
                    seen.add(i)
                    yield i

    def update_contact_type(self, contact_id: str, type_id: str) -> dict[str, Any]:
        return self.request("POST", f"/api/v3/contacts/{_q(contact_id)}/updateContactType",
                            params={"contactTypeId": type_id})

    def set_preference(self, contact_id: str, name: str, value: bool) -> dict[str, Any]:
        if name not in PREFERENCES:
            raise ValueError(f"preference must be one of {PREFERENCES}, got {name!r}")
        return self.request("POST", f"/api/v2/contacts/{_q(contact_id)}/preferences/{name}",
                            json={"value": bool(value)})

    def consent_definitions(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v2/consents")

    def contact_count(self) -> int:
        """``GET /api/v2/contacts/count``: the reference's smoke test (approved contacts, cached by Engage)."""
        return int(self.request("GET", "/api/v2/contacts/count"))

    # --- receipts and loyalty ----------------------------------------------------------------------
    def post_receipt(self, receipt: Mapping[str, Any], *, retry: bool | RetryPolicy = True) -> Any:
        """``POST /api/v3/receipts``; safe to retry: Engage ignores a repeated ``uniqueReceiptId``."""
        return self.request("POST", "/api/v3/receipts", json=dict(receipt), retry=retry)

    def contact_transactions(self, contact_id: str, *, page_size: int = 500) -> list["HeldReceipt"]:
        """Every receipt Engage holds for the contact: ``GET /api/v2/contacts/{id}/transactions`` (reference
        §2.11), paged by offset/count, amounts exact. An item without ``externalId`` cannot be matched to a
        receipt we sent and is skipped; a page that is not the documented envelope is an `UnexpectedShape`."""
        path = f"/api/v2/contacts/{_q(contact_id)}/transactions"
        held: list[HeldReceipt] = []
        offset = 0
        while True:
            body = self._send("GET", path, params=[("offset", str(offset)), ("count", str(page_size))],
                              parse=lambda resp: decode_json(resp, exact=True))
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise UnexpectedShape(f"GET {path}: expected a PagedResultOfTransactionItem "
                                      f"({{items, totalCount, ...}}), got {type(body).__name__}")
            held += [h for h in map(HeldReceipt.from_item, items) if h is not None]
            offset += len(items)
            total = body.get("totalCount")
            if not items or len(items) < page_size or (isinstance(total, int) and offset >= total):
                return held

    def point_accounts(self, contact_id: str) -> list[dict[str, Any]]:
        body = self.request("GET", "/api/v3/point-accounts", params={"contactId": contact_id})
        return list(body.get("items") or []) if isinstance(body, dict) else list(body or [])

    def point_definitions(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/api/v3/point-accounts/definitions")
        return list(body.get("items") or []) if isinstance(body, dict) else list(body or [])

    def post_point_transactions(self, rows: Sequence[Mapping[str, Any]], idempotency_key: str | None, *,
                                retry: bool | RetryPolicy = True) -> dict[str, Any]:
        """``POST /api/v3/point-accounts/transactions`` (≤ 1000 rows). Inspect the answer: rejected rows are in
        ``notAccepted`` while the call itself succeeds. Without an idempotency key a transient failure is
        not retried (the rows may have been booked)."""
        self._check_size(rows, MAX_POINT_TRANSACTIONS, "point transactions")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = self.request("POST", "/api/v3/point-accounts/transactions", json=[dict(r) for r in rows],
                            headers=headers, retry=retry, repeat_safe=bool(idempotency_key))
        body = body if isinstance(body, dict) else {}
        for name in ("notAccepted", "errorMessages", "missingDefinitionIds", "missingContactIds"):
            body.setdefault(name, [])
        return body

    # --- campaigns, tracking, inventory, stores ----------------------------------------------------
    def target_audiences(self) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v3/target-audiences")

    def trigger_custom(self, trigger_id: str, *, contact_id: str | None = None, external_id: str | None = None,
                       data: Mapping[str, Any] | None = None, retry: bool | RetryPolicy = True) -> Any:
        """Fire an automation custom trigger. No server de-dup: only provably unprocessed attempts are retried."""
        if (contact_id is None) == (external_id is None):
            raise ValueError("trigger_custom takes exactly one of contact_id or external_id")
        target = (f"triggerByContactId/{_q(contact_id)}" if contact_id is not None
                  else f"triggerByExternalContactId/{_q(external_id or '')}")
        return self.request("POST", f"/api/v2/automation/customTriggers/{_q(trigger_id)}/{target}",
                            json=dict(data or {}), retry=retry, repeat_safe=False)

    def track_carts(self, carts: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                    retry: bool | RetryPolicy = True) -> Any:
        """One cart → ``/tracking/carts``; several → ``/tracking/carts/batch`` (latest per cartReference wins,
        so repeating is harmless)."""
        if isinstance(carts, Mapping):
            return self.request("POST", "/api/v2/tracking/carts", json=dict(carts), retry=retry)
        return self.request("POST", "/api/v2/tracking/carts/batch", json=[dict(c) for c in carts], retry=retry)

    def put_stock_levels(self, rows: Sequence[Mapping[str, Any]], *, retry: bool | RetryPolicy = True) -> Any:
        return self.request("PUT", "/api/v2/inventory/stock-levels/batch", json=[dict(r) for r in rows], retry=retry)

    def subscribe_back_in_stock(self, contact_id: str, sku: str, locale: str,
                                external_id: str | None = None) -> dict[str, Any]:
        body = {"contactId": contact_id, "sku": sku, "locale": locale}
        if external_id is not None:
            body["externalId"] = external_id
        return self.request("POST", "/api/v3/inventory/backinstock/subscriptions", json=body, repeat_safe=False)

    def unsubscribe_back_in_stock(self, subscription_id: str) -> None:
        self.request("DELETE", f"/api/v3/inventory/backinstock/subscriptions/{_q(subscription_id)}")

    def stores(self, include_inactive: bool = False) -> list[dict[str, Any]]:
        return self.request("GET", "/api/v3/stores", params={"includeInactive": True if include_inactive else None})

    def create_store(self, store: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/api/v3/stores", json=dict(store), repeat_safe=False)

    # --- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _check_size(rows: Sequence[Any], limit: int, what: str) -> None:
        if not rows:
            raise ValueError(f"no {what} to send")
        if len(rows) > limit:
            raise ValueError(f"{len(rows)} {what} in one request; Voyado accepts at most {limit}: split the batch")

    @staticmethod
    def _batch_id(body: Any) -> str:
        if isinstance(body, dict):
            body = body.get("batchId") or body.get("id")
        if not isinstance(body, str) or not body:
            raise TransientError("the bulk endpoint did not answer a batchId")
        return body
