"""Engage campaign triggering (reference §7): automation custom triggers and target audiences.

Custom triggers have no server-side de-duplication: every accepted call is one more fired trigger (one
more ``trigger`` effect), which is exactly what a double send looks like in production. The contact must
exist (404 ``ContactNotFound`` otherwise). The body is the trigger's own fields (a JSON object, may be
empty). The answer is the JSON string ``"OK"``.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

from voyado_sync.sandbox.engage.errors import EngageError, bad_request, contact_not_found, iso
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

DEFAULT_AUDIENCES = ("Newsletter subscribers", "VIP customers", "Lapsed customers")


class Automation:
    def __init__(self, app: "EngageSandbox", target_audiences: list[dict[str, Any]] | None = None) -> None:
        self.app = app
        self.triggers: list[dict[str, Any]] = []
        self.target_audiences = [dict(a) for a in target_audiences] if target_audiences is not None else [
            {"id": str(uuid.UUID(int=app.seed * 1000 + i + 1)), "name": n} for i, n in enumerate(DEFAULT_AUDIENCES)]

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        base = r"/api/v2/automation/customTriggers/(?P<trigger>[^/]+)"
        route("POST", rf"{base}/triggerByContactId/(?P<contact>[^/]+)", self._by_contact_id)
        route("POST", rf"{base}/triggerByExternalContactId/(?P<external>[^/]+)", self._by_external_id)
        route("POST", rf"{base}/triggerByContactTypeAndKey/(?P<ctype>[^/]+)/(?P<key>[^/]+)", self._by_type_and_key)
        route("GET", r"/api/v[23]/target-audiences", self._audiences)

    def _audiences(self, req: Request) -> Response:
        return Response.json(copy.deepcopy(self.target_audiences))

    def _fire(self, req: Request, contact_id: str, via: str) -> Response:
        data = req.json() if req.body else {}
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise bad_request("InvalidRequest", "The body must be a JSON object of the trigger's fields.")
        trigger_id = unquote(req.params["trigger"])
        record = {"triggerId": trigger_id, "contactId": contact_id, "via": via, "data": data,
                  "at": iso(self.app.now())}
        self.triggers.append(record)
        self.app.effect("trigger", f"{trigger_id}:{contact_id}", via=via)
        return Response.json("OK")

    def _by_contact_id(self, req: Request) -> Response:
        contact = self.app.contacts.require(unquote(req.params["contact"]))
        return self._fire(req, contact.id, "contactId")

    def _by_external_id(self, req: Request) -> Response:
        ids = self.app.contacts.find("externalId", unquote(req.params["external"]))
        if not ids:
            raise contact_not_found("the externalId")
        if len(ids) > 1:
            raise EngageError(409, "MultipleMatches", "More than one contact has this externalId.",
                              multipleMatchesFound=ids)
        return self._fire(req, ids[0], "externalId")

    def _by_type_and_key(self, req: Request) -> Response:
        contacts = self.app.contacts
        ctype = contacts.canonical_type(unquote(req.params["ctype"]))
        key = unquote(req.params["key"])
        ids = sorted({i for f in ("email", "externalId", "memberNumber", "socialSecurityNumber")
                      for i in contacts.find(f, key, ctype)})
        if not ids:
            raise contact_not_found("the key")
        if len(ids) > 1:
            raise EngageError(409, "MultipleMatches", "More than one contact matches.", multipleMatchesFound=ids)
        return self._fire(req, ids[0], "contactTypeAndKey")
