"""Engage stores (reference §10): ``GET /api/v3/stores[?includeInactive=true]``, ``POST /api/v3/stores``
(``name`` and ``externalId`` required → 400; an existing ``externalId`` → 409 ``StoreAlreadyExists``),
``GET /api/v2/stores/{externalId}``. Receipts with an unknown ``storeExternalId`` create the store
(``autoCreated: true``), as Engage does."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

from voyado_sync.sandbox.engage.errors import EngageError, bad_request, iso
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

STORE_FIELDS = ("name", "externalId", "type", "active", "timeZone", "city", "countryCode", "county", "email",
                "adjacentZipCodes", "emailUnsubscribeText", "emailViewOnlineText", "footerHtml", "headerHtml",
                "homepage", "phoneNumber", "region", "senderAddress", "senderName", "street", "zipCode", "locale")


class Stores:
    def __init__(self, app: "EngageSandbox") -> None:
        self.app = app
        self.by_external_id: dict[str, dict[str, Any]] = {}

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        route("GET", r"/api/v[23]/stores", self._list)
        route("POST", r"/api/v[23]/stores", self._create)
        route("GET", r"/api/v2/stores/(?P<ext>[^/]+)", self._get)

    def ensure(self, external_id: str, receipt_id: str | None = None) -> None:
        if external_id not in self.by_external_id:
            self.by_external_id[external_id] = {"name": external_id, "externalId": external_id, "type": None,
                                                "active": True, "autoCreated": True, "createdOn": iso(self.app.now())}
            self.app.integration.add(self.app.now(), "Receipts", "Store created from receipt", receipt_id,
                                         storeExternalId=external_id)

    def _list(self, req: Request) -> Response:
        include_inactive = (req.arg("includeInactive") or "").lower() == "true"
        stores = [copy.deepcopy(s) for s in self.by_external_id.values() if include_inactive or s.get("active", True)]
        return Response.json(stores)

    def _get(self, req: Request) -> Response:
        store = self.by_external_id.get(unquote(req.params["ext"]))
        if store is None or (not store.get("active", True) and (req.arg("includeInactive") or "") != "true"):
            raise EngageError(404, "StoreNotFound", "No such store.")
        return Response.json(store)

    def _create(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict):
            raise bad_request("InvalidRequest", "The body must be a store object.")
        for name in ("name", "externalId"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise bad_request("InvalidStore", f"{name} is required.")
        if body["externalId"] in self.by_external_id:
            raise EngageError(409, "StoreAlreadyExists", "A store with this externalId already exists.")
        store = {k: body[k] for k in STORE_FIELDS if k in body}
        store.setdefault("active", True)
        store["createdOn"] = iso(self.app.now())
        self.by_external_id[store["externalId"]] = store
        self.app.effect("store_created", store["externalId"])
        return Response.json(store, 201)
