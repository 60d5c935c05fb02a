"""Engage inventory (reference §9): stock levels and back-in-stock subscriptions.

``PUT /api/v2/inventory/stock-levels`` ``{sku*, quantity*, locale, externalId}`` and ``/batch`` (array)
store the latest level per (sku, locale, externalId). A level with quantity > 0 fires every matching
back-in-stock subscription once (sku, and locale when the subscription has one) and deletes it, as
Engage does; fired subscriptions are recorded as ``backinstock_triggered`` effects.
``POST /api/v3/inventory/backinstock/subscriptions`` ``{contactId*, sku*, locale*, externalId}`` → 201
``SubscriptionResponse``; PascalCase keys (v2 docs) are accepted too. The contact must exist.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Callable

from voyado_sync.sandbox.engage.errors import EngageError, bad_request, is_int, iso
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

MAX_BATCH = 1000


def _camel(body: dict[str, Any]) -> dict[str, Any]:
    return {k[:1].lower() + k[1:]: v for k, v in body.items()}


class Inventory:
    def __init__(self, app: "EngageSandbox") -> None:
        self.app = app
        self.stock_levels: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.fired: list[dict[str, Any]] = []

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        route("PUT", r"/api/v2/inventory/stock-levels", self._put_one)
        route("PUT", r"/api/v2/inventory/stock-levels/batch", self._put_batch)
        subs = r"/api/v[23]/inventory/backinstock/subscriptions"
        route("POST", subs, self._subscribe)
        route("DELETE", rf"{subs}/(?P<id>[^/]+)", self._unsubscribe)

    # --- stock levels ------------------------------------------------------------------------------
    def _accept_levels(self, rows: list[Any]) -> Response:
        errors = []
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                errors.append(f"[{i}] must be an object")
            elif not isinstance(row.get("sku"), str) or not row["sku"].strip():
                errors.append(f"[{i}].sku is required")
            elif not is_int(row.get("quantity")):
                errors.append(f"[{i}].quantity is required (an integer)")
        if errors:
            raise bad_request("InvalidStockLevel", errors[0], errors=errors)
        now = self.app.now()
        for row in rows:
            key = (row["sku"], (row.get("locale") or None), row.get("externalId") or None)
            self.stock_levels[key] = {"sku": row["sku"], "quantity": row["quantity"], "locale": key[1],
                                      "externalId": key[2], "updatedAt": iso(now)}
            self.app.effect("stock_level", "|".join(str(k or "") for k in key), quantity=row["quantity"])
            if row["quantity"] > 0:
                self._fire(row)
        return Response(204)

    def _fire(self, row: dict[str, Any]) -> None:
        locale = (row.get("locale") or "").lower()
        for sid, sub in list(self.subscriptions.items()):
            if sub["sku"] == row["sku"] and (not locale or sub["locale"].lower() == locale):
                del self.subscriptions[sid]
                self.fired.append({**sub, "firedAt": iso(self.app.now()), "quantity": row["quantity"]})
                self.app.effect("backinstock_triggered", sid, sku=sub["sku"], contactId=sub["contactId"])

    def _put_one(self, req: Request) -> Response:
        return self._accept_levels([req.json()])

    def _put_batch(self, req: Request) -> Response:
        rows = req.json()
        if not isinstance(rows, list) or not rows:
            raise bad_request("InvalidRequest", "The body must be a non-empty JSON array of stock levels.")
        if len(rows) > MAX_BATCH:
            raise bad_request("TooManyRows", f"At most {MAX_BATCH} stock levels per batch.")
        return self._accept_levels(rows)

    # --- back in stock -----------------------------------------------------------------------------
    def _subscribe(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request("InvalidRequest", "The body must be {contactId, sku, locale, externalId?}.")
        body = _camel(body)
        for name in ("contactId", "sku", "locale"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise bad_request("InvalidRequest", f"{name} is required.")
        contact = self.app.contacts.require(body["contactId"])
        sub = {"id": str(uuid.uuid4()), "contactId": contact.id, "sku": body["sku"], "locale": body["locale"],
               "externalId": body.get("externalId"), "createdOn": iso(self.app.now())}
        self.subscriptions[sub["id"]] = sub
        self.app.effect("backinstock_subscribed", sub["id"], sku=sub["sku"], contactId=contact.id)
        return Response.json(sub, 201)

    def _unsubscribe(self, req: Request) -> Response:
        sub = self.subscriptions.pop(req.params["id"], None)
        if sub is None:
            raise EngageError(404, "SubscriptionNotFound", f"No subscription {req.params['id']!r}.")
        self.app.effect("backinstock_unsubscribed", sub["id"])
        return Response(204)
