"""Engage v3 point accounts (reference §6.1): accounts, definitions, transactions with ``Idempotency-Key``.

``POST /api/v3/point-accounts/transactions`` takes up to 1000 rows (more → 400). Invalid rows are
skipped and reported (``notAccepted``, ``errorMessages``, ``missingContactIds``, ``missingDefinitionIds``)
while the call still answers 200. With an ``Idempotency-Key`` header (scoped to the API key, kept
24 h) a repeat gets the first answer back and books nothing; the replay is marked with the response
header ``Idempotent-Replayed: true``. Accepted rows change the account's ``balance`` (``pendingPoints``
while ``validFrom`` is in the future).
"""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from voyado_sync.sandbox.engage.errors import (EngageError, bad_request, contact_not_found, int_arg, is_number, iso,
                                               parse_datetime)
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

MAX_ROWS = 1000
IDEMPOTENCY_TTL = timedelta(hours=24)
DEFAULT_DEFINITIONS = ({"id": 1, "name": "Points", "description": "Standard loyalty points"},)


def _paged(items: list[dict[str, Any]], req: Request) -> dict[str, Any]:
    offset = int_arg(req.arg("offset"), "offset", 0, 0, 1_000_000)
    count = int_arg(req.arg("count"), "count", 100, 1, 1000)
    page = items[offset:offset + count]
    return {"items": page, "totalCount": len(items), "offset": offset, "count": len(page), "links": []}


class Loyalty:
    def __init__(self, app: "EngageSandbox", definitions: list[dict[str, Any]] | None = None) -> None:
        self.app = app
        self.definitions = {int(d["id"]): dict(d) for d in (definitions or DEFAULT_DEFINITIONS)}
        self.accounts: dict[int, dict[str, Any]] = {}
        self._account_of: dict[tuple[str, int], int] = {}
        self.transactions: list[dict[str, Any]] = []
        self._idempotency: dict[tuple[str | None, str], tuple[datetime, int, Any]] = {}

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        base = r"/api/v3/point-accounts"
        route("GET", base, self._accounts)
        route("GET", rf"{base}/definitions", self._definitions)
        route("GET", rf"{base}/definitions/(?P<id>\d+)", self._definition)
        route("GET", rf"{base}/transactions", self._transactions)
        route("POST", rf"{base}/transactions", self._post_transactions)
        route("GET", rf"{base}/transactions/(?P<id>\d+)", self._transaction)
        route("GET", rf"{base}/(?P<id>\d+)", self._account)

    # --- state -------------------------------------------------------------------------------------
    def account(self, contact_id: str, definition_id: int) -> dict[str, Any]:
        """The contact's account for a definition; one exists per contact × definition (created on use)."""
        key = (contact_id, definition_id)
        if key not in self._account_of:
            account_id = len(self.accounts) + 1
            self.accounts[account_id] = {"id": account_id, "contactId": contact_id, "definitionId": definition_id,
                                         "balance": 0, "pendingPoints": 0, "balanceExpires": None, "links": []}
            self._account_of[key] = account_id
        return self.accounts[self._account_of[key]]

    def seed_balance(self, contact_id: str, loyalty: dict[str, Any]) -> None:
        definition_id = int(loyalty.get("definitionId") or next(iter(self.definitions)))
        self.definitions.setdefault(definition_id, {"id": definition_id, "name": f"Points {definition_id}",
                                                    "description": None})
        if loyalty.get("points") is not None:
            self.account(contact_id, definition_id)["balance"] = loyalty["points"]

    # --- handlers ----------------------------------------------------------------------------------
    def _accounts(self, req: Request) -> Response:
        contact_id = req.arg("contactId")
        if not contact_id:
            raise bad_request("InvalidRequest", "contactId is required.")
        contact = self.app.contacts.require(contact_id)
        items = [copy.deepcopy(self.account(contact.id, d)) for d in sorted(self.definitions)]
        return Response.json(_paged(items, req))

    def _account(self, req: Request) -> Response:
        account = self.accounts.get(int(req.params["id"]))
        if account is None:
            raise EngageError(404, "PointAccountNotFound", f"No point account {req.params['id']}.")
        return Response.json(account)

    def _definitions(self, req: Request) -> Response:
        return Response.json([{**d, "links": []} for _, d in sorted(self.definitions.items())])

    def _definition(self, req: Request) -> Response:
        d = self.definitions.get(int(req.params["id"]))
        if d is None:
            raise EngageError(404, "PointDefinitionNotFound", f"No point definition {req.params['id']}.")
        return Response.json({**d, "links": []})

    def _transactions(self, req: Request) -> Response:
        if req.arg("accountId"):
            account_ids = {int_arg(req.arg("accountId"), "accountId", 0, 0, 10**12)}
        elif req.arg("contactId") and req.arg("definitionId"):
            contact = self.app.contacts.get(req.arg("contactId"))
            if contact is None:
                raise contact_not_found(f"contactId {req.arg('contactId')}")
            key = (contact.id, int_arg(req.arg("definitionId"), "definitionId", 0, 0, 10**12))
            account_ids = {self._account_of[key]} if key in self._account_of else set()
        else:
            raise bad_request("InvalidRequest", "Give accountId, or contactId and definitionId.")
        filt = (req.arg("filter") or "All").lower()
        if filt not in ("all", "active", "pending"):
            raise bad_request("InvalidRequest", "filter must be All, Active or Pending.")
        now = iso(self.app.now()) or ""
        items = [t for t in self.transactions if t["accountId"] in account_ids and (
            filt == "all" or (filt == "pending") == (t["validFrom"] is not None and t["validFrom"] > now))]
        return Response.json(_paged(items, req))

    def _transaction(self, req: Request) -> Response:
        tid = int(req.params["id"])
        if not 1 <= tid <= len(self.transactions):
            raise EngageError(404, "PointTransactionNotFound", f"No point transaction {tid}.")
        return Response.json(self.transactions[tid - 1])

    def _post_transactions(self, req: Request) -> Response:
        now = self.app.now()
        key = (req.headers.get("idempotency-key") or "").strip() or None
        scope = (self.app.api_key_of(req), key or "")
        if key:
            for k in [k for k, (t, _, _) in self._idempotency.items() if t + IDEMPOTENCY_TTL <= now]:
                del self._idempotency[k]
            if scope in self._idempotency:
                _, status, body = self._idempotency[scope]
                return Response.json(body, status, headers={"Idempotent-Replayed": "true"})
        rows = req.json()
        if not isinstance(rows, list) or not rows:
            raise bad_request("InvalidRequest", "The body must be a non-empty JSON array of point transactions.")
        if len(rows) > MAX_ROWS:
            raise bad_request("TooManyRows", f"{len(rows)} rows in one request; the maximum is {MAX_ROWS}.")
        result: dict[str, Any] = {"notAccepted": [], "errorMessages": [], "missingDefinitionIds": [],
                                  "missingContactIds": []}
        batch = key or f"request-{uuid.uuid4()}"
        for index, row in enumerate(rows):
            problems = self._row_problems(row, result)
            if problems:
                result["notAccepted"].append(row)
                result["errorMessages"] += [f"row {index}: {p}" for p in problems]
                continue
            self._book(row, now, f"{batch}#{index}")
        status = 200
        if key:
            self._idempotency[scope] = (now, status, result)
        return Response.json(result, status)

    def _row_problems(self, row: Any, result: dict[str, Any]) -> list[str]:
        if not isinstance(row, dict):
            return ["a row must be an object"]
        problems = []
        contact_id = row.get("contactId")
        if not isinstance(contact_id, str) or self.app.contacts.get(contact_id) is None:
            problems.append(f"contact {contact_id!r} does not exist")
            if isinstance(contact_id, str) and contact_id not in result["missingContactIds"]:
                result["missingContactIds"].append(contact_id)
        definition_id = row.get("definitionId")
        if not isinstance(definition_id, int) or definition_id not in self.definitions:
            problems.append(f"point definition {definition_id!r} does not exist")
            if isinstance(definition_id, int) and definition_id not in result["missingDefinitionIds"]:
                result["missingDefinitionIds"].append(definition_id)
        if not is_number(row.get("amount")):
            problems.append("amount must be a number")
        for name in ("source", "description"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                problems.append(f"{name} must be set")
        for name in ("timeStamp", "validFrom", "validTo"):
            if row.get(name) is not None:
                try:
                    parse_datetime(row[name], name)
                except EngageError as exc:
                    problems.append(exc.message)
        return problems

    def _book(self, row: dict[str, Any], now: datetime, effect_key: str) -> None:
        contact = self.app.contacts.get(row["contactId"])
        assert contact is not None
        account = self.account(contact.id, row["definitionId"])
        valid_from = parse_datetime(row["validFrom"], "validFrom") if row.get("validFrom") else None
        pending = valid_from is not None and valid_from > now
        account["pendingPoints" if pending else "balance"] += row["amount"]
        when = parse_datetime(row["timeStamp"], "timeStamp") if row.get("timeStamp") else now
        transaction = {
            "id": len(self.transactions) + 1, "accountId": account["id"], "contactId": contact.id,
            "amount": row["amount"], "type": "Addition" if row["amount"] >= 0 else "Deduction",
            "source": row["source"], "description": row["description"], "transactionDate": iso(when),
            "validFrom": iso(valid_from), "validTo": row.get("validTo"), "createdOn": iso(now), "modifiedOn": iso(now),
            "retailTransactionLineItemId": None, "links": [], "effectKey": effect_key,
        }
        self.transactions.append(transaction)
        self.app.effect("point_transaction", effect_key, contactId=contact.id, amount=row["amount"])
