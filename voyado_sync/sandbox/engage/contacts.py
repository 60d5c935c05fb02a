"""Engage contacts (reference §2): create, get, PATCH, id lookup, bulk, change feed, contact type,
preferences, consents, delete.

Tenant configuration the sandbox assumes (the real values are configured per tenant in Config Hub):

* contact types: the ones given to `EngageSandbox` (default ``Member`` and ``Contact``);
* unique keys *per contact type*: ``email`` (case-insensitive), ``externalId``, ``memberNumber`` and
  ``socialSecurityNumber``. ``mobilePhone`` is not unique, so a phone lookup can answer 409 MultipleMatches;
* ``customKey`` lookups match ``memberNumber`` or ``externalId``;
* a ``Member`` needs ``email`` or ``mobilePhone``; other types need at least one key or a phone;
* a create whose key already exists in the type is *not* an upsert: 409 ``ContactAlreadyExists`` with the
  existing ``contactId`` (reference §2.2: look up first, never rely on create to merge).

Bulk status (the reference could not establish its fields, §14.3):
``{"batchId", "status": "Completed", "contactType", "operation": "create"|"update", "createdOn",
"completedOn", "total", "succeeded", "failed", "results": [{"index", "status": "Created"|"Updated"|"Failed",
"contactId", "errorCode", "message"}]}``. Batches are processed synchronously, so they are complete as
soon as the POST/PATCH answered.
"""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from voyado_sync.sandbox.engage.errors import (EMAIL_RE, PHONE_RE, EngageError, bad_request, contact_not_found,
                                               iso, parse_datetime)
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

STANDARD_ATTRIBUTES = frozenset({
    "firstName", "lastName", "email", "mobilePhone", "memberNumber", "externalId", "socialSecurityNumber",
    "street", "zipCode", "city", "careOf", "country", "countryCode", "birthDay", "gender", "createdInStore",
    "store",
})
DEFAULT_CUSTOM_ATTRIBUTES = ("loyaltyTier", "customerGroup", "language", "commercetoolsCustomerNumber")
KEY_ATTRIBUTES = ("email", "externalId", "memberNumber", "socialSecurityNumber")
INDEXED = (*KEY_ATTRIBUTES, "mobilePhone")
PREFERENCES = ("acceptsEmail", "acceptsSms", "acceptsPostal")
# Not attributes: handled separately on create/PATCH.
STRUCTURAL = frozenset({"id", "contactType", "preferences", "consents", "attributes", "meta"})
MAX_BULK = 4000
BULK_ID_FIELDS = ("id", "contactId")

DEFAULT_CONSENTS = (
    {"id": "newsletter", "name": "Newsletter",
     "metaData": {"conditionText": {"en-US": "I want the newsletter"}, "displayText": {"en-US": "Newsletter"},
                  "linkText": {"en-US": "Terms"}}},
    {"id": "profiling", "name": "Personalised offers",
     "metaData": {"conditionText": {"en-US": "Use my purchases to personalise offers"},
                  "displayText": {"en-US": "Personalisation"}, "linkText": {"en-US": "Privacy policy"}}},
)


def _norm(field_name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text.lower() if field_name == "email" else text


@dataclass
class Contact:
    id: str
    contact_type: str
    attributes: dict[str, Any]
    preferences: dict[str, bool]
    consents: dict[str, dict[str, Any]]
    created: datetime
    modified: datetime | None = None  # last change after creation (the "Updated" feed)
    deleted: datetime | None = None
    approved: bool = True
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def as_api(self) -> dict[str, Any]:
        """``IApiContact`` (reference §2.1). ``contactType`` is given top level and in ``meta``: the real
        position is not established, so readers should look in both."""
        return {
            "id": self.id,
            "contactType": self.contact_type,
            "attributes": copy.deepcopy(self.attributes),
            "preferences": dict(self.preferences),
            "consents": [dict(c) for c in self.consents.values()],
            "meta": {"contactType": self.contact_type, "createdOn": iso(self.created),
                     "modifiedOn": iso(self.modified or self.created), "approved": self.approved,
                     "source": self.source, **self.meta},
        }


class ContactBook:
    def __init__(self, app: "EngageSandbox", contact_types: tuple[str, ...], custom_attributes: tuple[str, ...],
                 consent_definitions: list[dict[str, Any]] | None, changes_cap: int) -> None:
        self.app = app
        self.contact_types = tuple(contact_types)
        self.writable = STANDARD_ATTRIBUTES | set(custom_attributes)
        self.consent_definitions = [dict(c) for c in (consent_definitions or DEFAULT_CONSENTS)]
        self.changes_cap = changes_cap
        self.by_id: dict[str, Contact] = {}
        self._index: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._next_member_number = 100_001 + app.seed * 1_000_000
        self.batches: dict[str, dict[str, Any]] = {}

    # --- routes ------------------------------------------------------------------------------------
    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        v23 = r"/api/v[23]/contacts"
        route("POST", r"/api/v3/contacts", self._create)
        route("POST", r"/api/v2/contacts", self._create_v2)
        route("GET", rf"{v23}/id", self._lookup)
        route("GET", rf"{v23}/changes", self._changes)
        route("GET", r"/api/v2/contacts/count", self._count)
        route("POST", rf"{v23}/bulk", self._bulk_create)
        route("PATCH", rf"{v23}/bulk", self._bulk_update)
        route("GET", rf"{v23}/bulk/status", self._bulk_status)
        route("GET", rf"{v23}/(?P<id>[0-9a-fA-F-]{{32,36}})", self._get)
        route("PATCH", r"/api/v3/contacts/(?P<id>[0-9a-fA-F-]{32,36})", self._patch)
        route("POST", r"/api/v2/contacts/(?P<id>[0-9a-fA-F-]{32,36})", self._patch)
        route("DELETE", rf"{v23}/(?P<id>[0-9a-fA-F-]{{32,36}})", self._delete)
        route("POST", rf"{v23}/(?P<id>[0-9a-fA-F-]{{32,36}})/updateContactType", self._update_type)
        route("POST", r"/api/v2/contacts/(?P<id>[0-9a-fA-F-]{32,36})/preferences/(?P<name>\w+)",
              self._set_preference)
        route("GET", r"/api/v[23]/consents", self._consents)

    def _consents(self, req: Request) -> Response:
        return Response.json(copy.deepcopy(self.consent_definitions))

    # --- queries used by other concepts ------------------------------------------------------------
    def get(self, contact_id: str | None) -> Contact | None:
        contact = self.by_id.get(str(contact_id or "").lower())
        return contact if contact is not None and contact.deleted is None else None

    def require(self, contact_id: str) -> Contact:
        contact = self.get(contact_id)
        if contact is None:
            raise contact_not_found(f"contactId {contact_id}")
        return contact

    def find(self, field_name: str, value: Any, contact_type: str | None = None) -> list[str]:
        key = _norm(field_name, value)
        if key is None:
            return []
        ids = self._index.get((field_name, key), set())
        return sorted(i for i in ids if contact_type is None or self.by_id[i].contact_type == contact_type)

    def find_by_custom_key(self, value: Any, contact_type: str | None = None) -> list[str]:
        return sorted(set(self.find("memberNumber", value, contact_type)) |
                      set(self.find("externalId", value, contact_type)))

    def canonical_type(self, name: Any) -> str:
        for t in self.contact_types:
            if isinstance(name, str) and t.lower() == name.strip().lower():
                return t
        raise bad_request("InvalidContactType", f"Unknown contact type {name!r}; known: {list(self.contact_types)}")

    # --- state changes -----------------------------------------------------------------------------
    def _index_add(self, c: Contact) -> None:
        for f in INDEXED:
            key = _norm(f, c.attributes.get(f))
            if key is not None:
                self._index[(f, key)].add(c.id)

    def _index_remove(self, c: Contact) -> None:
        for f in INDEXED:
            key = _norm(f, c.attributes.get(f))
            if key is not None:
                self._index[(f, key)].discard(c.id)

    def _check_unique(self, contact_type: str, attributes: dict[str, Any], own_id: str | None) -> None:
        for f in KEY_ATTRIBUTES:
            clash = [i for i in self.find(f, attributes.get(f), contact_type) if i != own_id]
            if clash:
                raise EngageError(409, "ContactAlreadyExists",
                                  f"A {contact_type} with this {f} already exists.", contactId=clash[0])

    def _check_required(self, contact_type: str, attributes: dict[str, Any]) -> None:
        need = ("email", "mobilePhone") if contact_type == "Member" else (*KEY_ATTRIBUTES, "mobilePhone")
        if not any(_norm(f, attributes.get(f)) for f in need):
            raise bad_request("MissingRequiredAttributes",
                              f"A {contact_type} needs at least one of: {', '.join(need)}.")

    def _clean_attributes(self, body: dict[str, Any]) -> dict[str, Any]:
        """Writable attributes of a create/PATCH body; unknown names are ignored (reference §2.4)."""
        attrs = {k: v for k, v in body.items() if k in self.writable and k not in STRUCTURAL}
        email = attrs.get("email")
        if email not in (None, "") and (not isinstance(email, str) or not EMAIL_RE.match(email.strip())):
            raise bad_request("InvalidEmailAddress", "email is not a valid email address.")
        phone = attrs.get("mobilePhone")
        if phone not in (None, "") and (not isinstance(phone, str) or not PHONE_RE.match(phone)):
            raise bad_request("InvalidPhoneNumber",
                              "mobilePhone must be in international format with country code, e.g. +46701234567.")
        birthday = attrs.get("birthDay")
        if birthday not in (None, ""):
            try:
                datetime.strptime(str(birthday), "%Y-%m-%d")
            except ValueError:
                raise bad_request("InvalidBirthDay", "birthDay must be YYYY-MM-DD.") from None
        return attrs

    def _clean_preferences(self, value: Any) -> dict[str, bool]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise bad_request("InvalidPreferences", "preferences must be an object")
        out = {}
        for k, v in value.items():
            if k not in PREFERENCES:
                continue  # unknown fields are ignored, as for attributes
            if not isinstance(v, bool):
                raise bad_request("InvalidPreferences", f"preferences.{k} must be true or false")
            out[k] = v
        return out

    def _apply_consents(self, contact: Contact, value: Any, now: datetime) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise bad_request("InvalidConsent", "consents must be an array of {id, value, date, source, comment}")
        known = {c["id"] for c in self.consent_definitions}
        staged = dict(contact.consents)
        for i, item in enumerate(value):
            if not isinstance(item, dict) or item.get("id") not in known:
                raise bad_request("InvalidConsent", f"consents[{i}].id must be one of {sorted(known)}")
            if item.get("value") is None and item["id"] not in staged:
                continue  # still "not set"
            if not isinstance(item.get("value"), bool):
                raise bad_request("InvalidConsent", f"consents[{i}].value must be true or false; a consent once "
                                                    "set cannot return to 'not set'")
            date = item.get("date")
            when = parse_datetime(date, f"consents[{i}].date") if date else now
            staged[item["id"]] = {"id": item["id"], "value": item["value"], "date": iso(when),
                                  "source": item.get("source"), "comment": item.get("comment")}
        contact.consents = staged

    def _member_number(self) -> str:
        number = self._next_member_number
        self._next_member_number += 1
        return str(number)

    def create(self, body: Any, *, contact_type: str | None = None, source: str | None = None,
               store_external_id: str | None = None, unapproved: bool = False) -> Contact:
        if not isinstance(body, dict):
            raise bad_request("InvalidRequest", "The body must be a JSON object of contact attributes.")
        ctype = self.canonical_type(body.get("contactType") or contact_type or "Member")
        attrs = self._clean_attributes(body)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self._check_required(ctype, attrs)
        self._check_unique(ctype, attrs, None)
        if ctype == "Member" and not attrs.get("memberNumber"):
            attrs["memberNumber"] = self._member_number()
        if store_external_id:
            attrs.setdefault("createdInStore", store_external_id)
        if attrs.get("createdInStore"):
            attrs.setdefault("store", attrs["createdInStore"])
        now = self.app.now()
        contact = Contact(str(uuid.uuid4()), ctype, attrs, self._clean_preferences(body.get("preferences")), {},
                          created=now, approved=not unapproved, source=source)
        self._apply_consents(contact, body.get("consents"), now)
        self.by_id[contact.id] = contact
        self._index_add(contact)
        self.app.effect("contact_created", contact.id, contactType=ctype)
        return contact

    def update(self, contact: Contact, body: Any) -> tuple[Contact, list[str]]:
        """PATCH semantics (§2.4): only sent fields change; null and "" overwrite; unknown names ignored."""
        if not isinstance(body, dict):
            raise bad_request("InvalidRequest", "The body must be a JSON object of the fields to change.")
        if body.get("contactType") is not None and \
                self.canonical_type(body["contactType"]) != contact.contact_type:
            raise bad_request("InvalidContactType", "contactType cannot be changed with PATCH; use "
                                                    "POST /api/v3/contacts/{id}/updateContactType")
        attrs = self._clean_attributes(body)
        if contact.attributes.get("createdInStore"):
            attrs.pop("createdInStore", None)  # recruiting store cannot change once set (§2.1)
        merged = {**contact.attributes, **attrs}
        self._check_unique(contact.contact_type, merged, contact.id)
        changed = [k for k, v in attrs.items() if contact.attributes.get(k, None) != v or k not in contact.attributes]
        prefs = self._clean_preferences(body.get("preferences"))
        changed += [f"preferences.{k}" for k, v in prefs.items() if contact.preferences.get(k) != v]
        before_consents = copy.deepcopy(contact.consents)
        self._apply_consents(contact, body.get("consents"), self.app.now())
        changed += [f"consents.{k}" for k in contact.consents if before_consents.get(k) != contact.consents[k]]
        self._index_remove(contact)
        contact.attributes = merged
        contact.preferences.update(prefs)
        self._index_add(contact)
        if changed:
            contact.modified = self.app.now()
        self.app.effect("contact_updated", contact.id, fields=sorted(changed))
        return contact, changed

    # --- handlers ----------------------------------------------------------------------------------
    def _create(self, req: Request) -> Response:
        contact = self.create(req.json(), source=req.arg("source"), store_external_id=req.arg("storeExternalId"),
                              unapproved=(req.arg("createAsUnapproved") or "").lower() == "true")
        return Response.json(contact.as_api(), 201)

    def _create_v2(self, req: Request) -> Response:
        h = req.headers  # v2 takes these as headers (reference §1.3)
        contact = self.create(req.json(), source=h.get("source"), store_external_id=h.get("storeexternalid"),
                              unapproved=(h.get("createasunapproved") or "").lower() == "true")
        return Response.json(contact.as_api(), 201)

    def _get(self, req: Request) -> Response:
        return Response.json(self.require(req.params["id"]).as_api())

    def _patch(self, req: Request) -> Response:
        contact, _ = self.update(self.require(req.params["id"]), req.json())
        return Response.json(contact.as_api())

    def _delete(self, req: Request) -> Response:
        contact = self.require(req.params["id"])
        self._index_remove(contact)
        contact.deleted = self.app.now()
        self.app.effect("contact_deleted", contact.id)
        return Response(204)

    def _count(self, req: Request) -> Response:
        return Response.json(sum(1 for c in self.by_id.values() if c.deleted is None and c.approved))

    def _lookup(self, req: Request) -> Response:
        ctype = self.canonical_type(req.arg("contactType")) if req.arg("contactType") else None
        ids: list[str] | None = None
        for name in ("email", "mobilePhone", "socialSecurityNumber", "customKey", "any"):
            value = req.arg(name)
            if value is None:
                continue
            if name == "email" and not EMAIL_RE.match(value.strip()):
                raise bad_request("InvalidEmailAddress", "email is not a valid email address.")
            if name == "mobilePhone" and not PHONE_RE.match(value):
                raise bad_request("InvalidPhoneNumber", "mobilePhone must be +<country code><number> "
                                                        "(URL-encode + as %2B).")
            if name == "customKey":
                ids = self.find_by_custom_key(value, ctype)
            elif name == "any":
                ids = self._lookup_any(value, ctype)
            else:
                ids = self.find(name, value, ctype)
            break
        if ids is None:
            raise bad_request("InvalidSearchQuery", "Give one of email, mobilePhone, socialSecurityNumber, "
                                                    "customKey or any.")
        if not ids:
            raise contact_not_found("the given key")
        if len(ids) > 1:
            raise EngageError(409, "MultipleMatches", "More than one contact matches.", multipleMatchesFound=ids)
        return Response.json(ids[0])

    def _lookup_any(self, value: str, ctype: str | None) -> list[str]:
        # §2.3: email -> ssn -> mobilePhone -> customKey, stopping at the first kind the value validates as.
        if EMAIL_RE.match(value.strip()):
            return self.find("email", value, ctype)
        if PHONE_RE.match(value):
            return self.find("mobilePhone", value, ctype)
        return self.find("socialSecurityNumber", value, ctype) or self.find_by_custom_key(value, ctype)

    def _changes(self, req: Request) -> Response:
        change = (req.arg("changeType") or "").strip().lower()
        if change not in ("created", "updated", "deleted"):
            raise bad_request("InvalidRequest", "changeType must be Created, Updated or Deleted.")
        if not req.arg("fromDate"):
            raise bad_request("InvalidRequest", "fromDate is required.")
        start = parse_datetime(req.arg("fromDate"), "fromDate")
        end = parse_datetime(req.arg("toDate"), "toDate") if req.arg("toDate") else None  # None: up to now
        stamp = {"created": lambda c: c.created, "updated": lambda c: c.modified,
                 "deleted": lambda c: c.deleted}[change]
        ids = [c.id for c in self.by_id.values() if (t := stamp(c)) is not None and start <= t and (end is None or t < end)]
        if len(ids) > self.changes_cap:
            raise bad_request("TooManyResults", f"More than {self.changes_cap} contacts changed in the interval; "
                                                "narrow it.")
        return Response.json(ids)

    def _update_type(self, req: Request) -> Response:
        contact = self.require(req.params["id"])
        target = self.canonical_type(req.arg("contactTypeId"))
        if target != contact.contact_type:
            self._check_required(target, contact.attributes)
            self._check_unique(target, contact.attributes, contact.id)
            contact.contact_type = target
            if target == "Member" and not contact.attributes.get("memberNumber"):
                self._index_remove(contact)
                contact.attributes["memberNumber"] = self._member_number()
                self._index_add(contact)
            contact.modified = self.app.now()
            self.app.effect("contact_type_changed", contact.id, contactType=target)
        return Response.json(contact.as_api())

    def _set_preference(self, req: Request) -> Response:
        contact = self.require(req.params["id"])
        name = req.params["name"]
        if name not in PREFERENCES:
            raise EngageError(404, "ResourceNotFound", f"Unknown preference {name!r}; known: {list(PREFERENCES)}")
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("value"), bool):
            raise bad_request("InvalidRequest", 'The body must be {"value": true|false}.')
        contact.preferences[name] = body["value"]
        contact.approved = True  # the SDK documents that this endpoint also approves the contact
        contact.modified = self.app.now()
        self.app.effect("preference_set", f"{contact.id}:{name}", value=body["value"])
        return Response.json(contact.as_api())

    # --- bulk --------------------------------------------------------------------------------------
    def _bulk_rows(self, req: Request) -> list[Any]:
        rows = req.json()
        if not isinstance(rows, list) or not rows:
            raise bad_request("InvalidRequest", "The body must be a non-empty JSON array of contacts.")
        if len(rows) > MAX_BULK:
            raise bad_request("TooManyContacts", f"{len(rows)} contacts in one request; the maximum is {MAX_BULK}.")
        return rows

    def _bulk_create(self, req: Request) -> Response:
        rows = self._bulk_rows(req)
        ctype = self.canonical_type(req.arg("contactType")) if req.arg("contactType") else None

        def one(row: Any) -> tuple[str, str]:
            return "Created", self.create(row, contact_type=ctype).id

        return self._run_batch("create", ctype, rows, one)

    def _bulk_update(self, req: Request) -> Response:
        rows = self._bulk_rows(req)
        ctype = self.canonical_type(req.arg("contactType")) if req.arg("contactType") else None

        def one(row: Any) -> tuple[str, str]:
            if not isinstance(row, dict):
                raise bad_request("InvalidRequest", "Each row must be a JSON object.")
            contact = self._bulk_target(row, ctype)
            changes = {k: v for k, v in row.items() if k not in BULK_ID_FIELDS}
            self.update(contact, changes)
            return "Updated", contact.id

        return self._run_batch("update", ctype, rows, one)

    def _bulk_target(self, row: dict[str, Any], ctype: str | None) -> Contact:
        for f in BULK_ID_FIELDS:
            if row.get(f):
                return self.require(str(row[f]))
        for f in KEY_ATTRIBUTES:
            if row.get(f):
                ids = self.find(f, row[f], ctype)
                if len(ids) > 1:
                    raise EngageError(409, "MultipleMatches", f"More than one contact has this {f}.",
                                      multipleMatchesFound=ids)
                if not ids:
                    raise contact_not_found(f"the row's {f}")
                return self.by_id[ids[0]]
        raise bad_request("MissingKey", f"A row needs an id/contactId or a key ({', '.join(KEY_ATTRIBUTES)}).")

    def _run_batch(self, operation: str, ctype: str | None, rows: list[Any],
                   one: Callable[[Any], tuple[str, str]]) -> Response:
        batch_id = str(uuid.uuid4())
        created_on = self.app.now()
        results = []
        for index, row in enumerate(rows):
            try:
                status, contact_id = one(row)
                results.append({"index": index, "status": status, "contactId": contact_id, "errorCode": None,
                                "message": None})
            except EngageError as exc:
                results.append({"index": index, "status": "Failed", "contactId": exc.extra.get("contactId"),
                                "errorCode": exc.code, "message": exc.message})
        failed = sum(1 for r in results if r["status"] == "Failed")
        self.batches[batch_id] = {
            "batchId": batch_id, "status": "Completed", "operation": operation, "contactType": ctype,
            "createdOn": iso(created_on), "completedOn": iso(self.app.now()), "total": len(rows),
            "succeeded": len(rows) - failed, "failed": failed, "results": results,
        }
        self.app.effect("contacts_bulk", batch_id, operation=operation, total=len(rows), failed=failed)
        return Response.json(batch_id, 202)

    def _bulk_status(self, req: Request) -> Response:
        batch = self.batches.get(req.arg("batchId") or "")
        if batch is None:
            raise EngageError(404, "BatchNotFound", f"No batch {req.arg('batchId')!r}.")
        return Response.json(batch)

    # --- seeding -----------------------------------------------------------------------------------
    def seed(self, docs: list[dict[str, Any]]) -> list[str]:
        """The generator's format ``{"id", "contactType"?, "attributes", "preferences", "consents", "loyalty",
        "createdOn"?, "modifiedOn"?}``; stored as given (seeds may hold data the API would refuse)."""
        ids = []
        for doc in docs:
            attrs = dict(doc.get("attributes") or {})
            ctype = self.canonical_type(doc.get("contactType") or attrs.pop("contactType", None) or "Member")
            attrs.pop("contactType", None)
            cid = str(doc.get("id") or uuid.uuid4()).lower()
            if cid in self.by_id:
                self._index_remove(self.by_id[cid])
            meta = doc.get("meta") or {}
            created = doc.get("createdOn") or meta.get("createdOn")
            modified = doc.get("modifiedOn") or meta.get("modifiedOn")
            contact = Contact(cid, ctype, attrs, self._clean_preferences(doc.get("preferences")), {},
                              created=parse_datetime(created, "createdOn") if created else self.app.now(),
                              modified=parse_datetime(modified, "modifiedOn") if modified else None)
            consents = doc.get("consents") or []
            if isinstance(consents, dict):  # {"newsletter": true} shorthand
                consents = [{"id": k, "value": v} for k, v in consents.items()]
            self._apply_consents(contact, consents, contact.created)
            loyalty = doc.get("loyalty") or {}
            if loyalty.get("tier") is not None:
                contact.attributes.setdefault("loyaltyTier", loyalty["tier"])
            self.by_id[cid] = contact
            self._index_add(contact)
            if loyalty:
                self.app.loyalty.seed_balance(cid, loyalty)
            ids.append(cid)
        return ids
