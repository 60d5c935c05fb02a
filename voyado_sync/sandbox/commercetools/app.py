"""The Commercetools sandbox: a loopback HTTP server that behaves like the Commercetools HTTP API.

One base URL serves both the auth host and the API host (point ``CTP_AUTH_URL`` and ``CTP_API_URL`` at it).

Supported surface
-----------------
Auth (reference §1.2, §6)
  ``POST /oauth/token``  HTTP Basic client credentials, form ``grant_type=client_credentials`` and optional
  ``scope`` (must be covered by the client's scopes, else 400 ``invalid_scope``); answers
  ``{access_token, expires_in, scope, token_type: "Bearer"}``. Bad credentials → 401 ``invalid_client``.
  API calls without a valid, unexpired bearer → 401 ``invalid_token``; missing scope → 403
  ``insufficient_scope`` (scopes per endpoint as in `auth.READ_SCOPES`; ``manage_project`` grants all).
  Default clients: ``sandbox-client``/``sandbox-secret`` (``manage_project:{key}``) and the read-only
  ``sandbox-reader``/``reader-secret`` (``view_*`` scopes only).

Reads, for customers, orders, product-projections, categories, inventory, payments, stores, channels,
carts, types, messages, customer-groups
  ``GET /{pk}/{resource}`` with ``where`` (repeatable, ANDed; full predicate grammar, see `predicates`),
  ``var.<name>``, ``sort`` (repeatable, ``path asc|desc``, dotted paths), ``limit`` (default 20, 0..500),
  ``offset`` (0..10000), ``withTotal`` (default true; capped at 10000 when a ``where`` is given),
  ``expand`` (repeatable); envelope ``{limit, offset, count, total?, results}``.
  ``GET /{pk}/{resource}/{id}``, ``/{resource}/key={key}``, ``/orders/order-number={n}``; HEAD on all.
  ``GET /{pk}`` the Project (with its ``messages`` configuration).
  Store-scoped: ``/{pk}/in-store/key={storeKey}/customers|orders`` (list, by id, key, order-number, and
  customer updates) see only that store's documents; ``view_orders:{pk}:{storeKey}``-style scopes work there.
  Product projections are the published ones unless ``staged=true`` (which needs ``view_products``).
  Messages: when messages are disabled the endpoint answers 200 with no results, as a project whose
  messages configuration is off does (nothing is recorded, so there is nothing to query).

Writes
  ``POST /{pk}/customers`` (CustomerDraft → 201 ``{customer}``), ``POST /{pk}/customers/{id}`` and
  ``/customers/key={key}`` with ``{version, actions}`` (setCustomType, setCustomField, setExternalId, setKey,
  changeEmail, setFirstName, setLastName, addAddress, ... see `actions`), ``DELETE /{pk}/customers/{id}?version=N``;
  ``POST /{pk}/types`` (TypeDraft → 201), ``POST /{pk}/types/{id}`` and ``/types/key={key}`` (addFieldDefinition,
  removeFieldDefinition, addEnumValue, changeLabel, ...), ``DELETE /{pk}/types/{id}?version=N``.
  Stale version → 409 ``ConcurrentModification`` with ``currentVersion``; > 500 actions or unknown action →
  400 ``InvalidInput``. Every write bumps ``version`` and ``lastModifiedAt``, sets ``lastModifiedBy.clientId``
  to the token's client and records the matching Messages (``sequenceNumber`` per resource, ``resourceVersion``).

Errors are ``{statusCode, message, errors: [{code, message, ...}]}`` (auth errors add ``error`` and
``error_description``); every response carries ``X-Correlation-ID`` (the client's one is echoed).

Admin (no faults, no auth) under ``/__admin/ct/``
  ``POST /__admin/ct/{resource}`` seed (JSON array/object or NDJSON; ``?emit_messages=true``),
  ``GET /__admin/ct/{resource}`` dump, ``DELETE /__admin/ct/{resource}`` clear,
  ``GET|POST|DELETE /__admin/ct/{resource}/{id}`` read / mutate (``{"set": {"a.b": v}, "unset": [...],
  "message_type"?, "client_id"?}``) / delete, ``POST /__admin/ct/simulate {"resource", "count", "seed"}``
  (touches N random documents like a live shop), ``POST /__admin/ct/reset``,
  ``POST /__admin/ct/config {"messages_enabled", "token_ttl_seconds", "clock": ISO|null,
  "clients": {id: [secret, scopes]}}``, ``POST /__admin/ct/tokens/expire``, ``GET /__admin/ct/stats``.
  Faults and latency: the base ``/__admin/faults``.

Python: ``put``, ``update``, ``delete``, ``get``, ``all``, ``count``, ``simulate``, ``set_messages_enabled``,
``set_token_ttl``, ``reset``, ``now`` (``app.clock`` is overridable).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote

from voyado_sync.sandbox.commercetools import messages as msgs
from voyado_sync.sandbox.commercetools.actions import (ActionError, apply_customer_action, apply_type_action,
                                                       check_type_draft, check_update_body)
from voyado_sync.sandbox.commercetools.auth import (READ_SCOPES, STAGED_PRODUCT_SCOPES, WRITE_SCOPES, AuthFailure,
                                                    Authority, Token, default_clients)
from voyado_sync.sandbox.commercetools.expand import ExpandError, expand, parse_path
from voyado_sync.sandbox.commercetools.predicates import PredicateError, compile_where
from voyado_sync.sandbox.commercetools.store import (KEYED, RESOURCE_OF_TYPE, TYPE_IDS, Collection, Doc, SortKey,
                                                     encode, fmt_ts, run_query)
from voyado_sync.sandbox.http import ADMIN_PREFIX, Request, Response, SandboxApp

RESOURCES = tuple(TYPE_IDS)
MAX_LIMIT = 500
MAX_OFFSET = 10_000
ADMIN_CLIENT = "sandbox-admin"
JSON_TYPE = "application/json; charset=utf-8"
AUTH_CODES = frozenset({"invalid_token", "insufficient_scope", "invalid_client", "invalid_scope",
                        "invalid_request", "unsupported_grant_type"})

_RES = "(?P<res>" + "|".join(r.replace("-", r"\-") for r in RESOURCES) + ")"
_PK = r"/(?P<pk>(?!__admin)[^/]+)"


class ApiFailure(Exception):
    """Any error a handler answers with (status, Commercetools error code, message, extra fields)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _not_found(what: str) -> ApiFailure:
    return ApiFailure(404, "ResourceNotFound", f"The Resource with {what} was not found.")


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with None remove) a dotted path; numeric segments index arrays; missing objects are created."""
    parts = path.split(".")
    node: Any = obj
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            nxt = node.get(part)
            if not isinstance(nxt, (dict, list)):
                nxt = node[part] = {}
            node = nxt
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


class CommercetoolsSandbox(SandboxApp):
    name = "commercetools"

    def __init__(self, project_key: str = "voyado-sandbox", seed: int = 0,
                 clients: dict[str, tuple[str, str]] | None = None, token_ttl_seconds: float = 172_800,
                 messages_enabled: bool = True) -> None:
        super().__init__(seed=seed)
        self.project_key = project_key
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self.collections: dict[str, Collection] = {r: Collection(r) for r in RESOURCES}
        self.messages_enabled = messages_enabled
        self.auth = Authority(project_key, {**default_clients(project_key), **(clients or {})}, token_ttl_seconds)
        self._sequence: dict[str, int] = {}
        self._initial = (seed, messages_enabled, token_ttl_seconds, dict(self.auth.clients))
        self._register_routes()

    # --- public Python surface ------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def set_messages_enabled(self, flag: bool) -> None:
        self.messages_enabled = bool(flag)

    def set_token_ttl(self, seconds: float) -> None:
        """Lifetime of tokens issued from now on."""
        self.auth.token_ttl_seconds = seconds

    def put(self, resource: str, docs: dict[str, Any] | Iterable[dict[str, Any]], *,
            emit_messages: bool = False) -> list[dict[str, Any]]:
        """Seed/upsert documents as given; fills id, version=1, createdAt and lastModifiedAt when missing."""
        coll = self._collection(resource)
        items = [docs] if isinstance(docs, dict) else list(docs)
        now = fmt_ts(self.now())
        stored = []
        with self.lock:
            bulk = len(items) > 1
            for item in items:
                obj = dict(item)
                obj.setdefault("id", str(uuid.uuid4()))
                if not isinstance(obj["id"], str):
                    raise ValueError(f"{resource}: document ids are strings in Commercetools, got {obj['id']!r}")
                obj.setdefault("version", 1)
                obj.setdefault("createdAt", now)
                obj.setdefault("lastModifiedAt", obj["createdAt"])
                coll.upsert(obj, bulk=bulk)
                if resource == "messages":
                    rid = (obj.get("resource") or {}).get("id")
                    if rid and isinstance(obj.get("sequenceNumber"), int):
                        self._sequence[rid] = max(self._sequence.get(rid, 0), obj["sequenceNumber"])
                elif emit_messages:
                    client = (obj.get("createdBy") or {}).get("clientId") or ADMIN_CLIENT
                    self._emit(resource, obj, msgs.created(resource, obj), client)
                stored.append(obj)
        return stored

    def update(self, resource: str, id: str, changes: dict[str, Any] | Callable[[dict[str, Any]], None], *,
               client_id: str = ADMIN_CLIENT, message_type: str | None = None) -> dict[str, Any]:
        """A change made in the shop: applies ``changes`` (dotted paths → values, None removes; or a function
        mutating the document), bumps version/lastModifiedAt, and records the Messages a real project would."""
        coll = self._collection(resource)
        with self.lock:
            doc = coll.get(id)
            if doc is None:
                raise KeyError(f"{resource}/{id} does not exist")
            old, new = doc.obj(), doc.obj()
            if callable(changes):
                changes(new)
                touched = [k for k in set(old) | set(new) if old.get(k) != new.get(k)]
            else:
                for path, value in changes.items():
                    _set_path(new, path, value)
                touched = list(dict.fromkeys(p.split(".")[0] for p in changes))
            emitted = msgs.changed(resource, old, new)
            if message_type is not None:
                emitted = [e for e in emitted if e[0] == message_type] or \
                    [(message_type, {k: new[k] for k in touched if k in new})]
            return self._commit(resource, new, emitted, client_id, old["version"])

    def delete(self, resource: str, id: str, *, client_id: str = ADMIN_CLIENT) -> dict[str, Any] | None:
        coll = self._collection(resource)
        with self.lock:
            doc = coll.remove(id)
            if doc is None:
                return None
            obj = doc.obj()
            stamp = {**obj, "version": obj["version"] + 1, "lastModifiedAt": fmt_ts(self.now())}
            self._emit(resource, stamp, msgs.deleted(resource, obj), client_id)
            return obj

    def get(self, resource: str, id: str) -> dict[str, Any] | None:
        doc = self._collection(resource).get(id)
        return doc.obj() if doc else None

    def all(self, resource: str) -> list[dict[str, Any]]:
        coll = self._collection(resource)
        with self.lock:
            docs = [coll.docs[i] for i in coll.ids() if i in coll.docs]
        return [d.obj() for d in docs]

    def count(self, resource: str) -> int:
        return len(self._collection(resource))

    def clear(self, resource: str) -> None:
        with self.lock:
            self.collections[self._check_resource(resource)] = Collection(resource)

    def reset(self) -> None:
        """Back to the state right after construction: no documents, messages, tokens or faults."""
        seed, messages_enabled, ttl, clients = self._initial
        with self.lock:
            self.collections = {r: Collection(r) for r in RESOURCES}
            self._sequence.clear()
            self.messages_enabled = messages_enabled
            self.clock = lambda: datetime.now(timezone.utc)
            self.auth.token_ttl_seconds = ttl
            self.auth.clients = dict(clients)
            self.auth.expire_all()
            self.faults.configure(seed, [], 0.0)
            with self._log_lock:
                self.log.clear()

    def simulate(self, resource: str, count: int, seed: int = 0) -> list[str]:
        """Touch ``count`` random documents the way a live shop would (state transitions, returns, stock)."""
        rng = random.Random(seed)
        coll = self._collection(resource)
        with self.lock:
            ids = coll.ids()
            chosen = rng.sample(ids, min(count, len(ids)))
            for doc_id in chosen:
                changes, message_type = self._shop_change(resource, coll.docs[doc_id].obj(), rng)
                self.update(resource, doc_id, changes, message_type=message_type)
        return chosen

    # --- internals ------------------------------------------------------------------------------
    def _check_resource(self, resource: str) -> str:
        if resource not in self.collections:
            raise KeyError(f"unknown resource {resource!r}; known: {', '.join(RESOURCES)}")
        return resource

    def _collection(self, resource: str) -> Collection:
        return self.collections[self._check_resource(resource)]

    def _commit(self, resource: str, obj: dict[str, Any], emitted: msgs.Emitted, client_id: str,
                previous_version: int) -> dict[str, Any]:
        obj["version"] = previous_version + 1
        obj["lastModifiedAt"] = fmt_ts(self.now())
        obj["lastModifiedBy"] = {"clientId": client_id, "isPlatformClient": False}
        self.collections[resource].upsert(obj)
        self._emit(resource, obj, emitted, client_id)
        return obj

    def _emit(self, resource: str, obj: dict[str, Any], emitted: msgs.Emitted, client_id: str) -> None:
        # Messages are inserted in bulk mode (id list re-sorted lazily at the next query): a live-shop
        # simulation emitting thousands of messages must not copy a 100k-entry id list per message.
        if not self.messages_enabled or not emitted:
            return
        identifiers = msgs.user_provided_identifiers(resource, obj)
        messages = self.collections["messages"]
        for message_type, payload in emitted:
            seq = self._sequence.get(obj["id"], 0) + 1
            self._sequence[obj["id"]] = seq
            messages.upsert(msgs.build_message(
                type_id=TYPE_IDS[resource], resource_id=obj["id"], resource_version=obj["version"],
                sequence_number=seq, identifiers=identifiers, message_type=message_type, payload=payload,
                created_at=obj["lastModifiedAt"], client_id=client_id), bulk=True)

    def _shop_change(self, resource: str, doc: dict[str, Any],
                     rng: random.Random) -> tuple[dict[str, Any] | Callable[[dict[str, Any]], None], str | None]:
        now = fmt_ts(self.now())
        if resource == "orders":
            nxt = {"Open": "Confirmed", "Confirmed": "Complete"}.get(doc.get("orderState", ""))
            ship = {None: "Pending", "Pending": "Ready", "Ready": "Shipped", "Shipped": "Delivered"}.get(
                doc.get("shipmentState"))
            line_items = doc.get("lineItems") or []
            roll = rng.random()
            if line_items and roll < 0.2 and doc.get("orderState") == "Complete":
                item = rng.choice(line_items)

                def add_return(d: dict[str, Any]) -> None:
                    d.setdefault("returnInfo", []).append({
                        "items": [{"type": "LineItemReturnItem", "id": str(uuid.UUID(int=rng.getrandbits(128))),
                                   "quantity": 1, "lineItemId": item["id"], "shipmentState": "Returned",
                                   "paymentState": "Initial", "createdAt": now, "lastModifiedAt": now}],
                        "returnDate": now})
                return add_return, None
            if nxt and roll < 0.6:
                return {"orderState": nxt}, None
            if ship:
                return {"shipmentState": ship}, None
            return {"paymentState": "Paid"}, None
        if resource == "customers":
            if not doc.get("isEmailVerified"):
                return {"isEmailVerified": True}, None
            return {"firstName": doc.get("firstName")}, "CustomerFirstNameSet"
        if resource == "inventory":
            delta = rng.randint(-3, 10)
            return {"quantityOnStock": max(0, (doc.get("quantityOnStock") or 0) + delta),
                    "availableQuantity": max(0, (doc.get("availableQuantity") or 0) + delta)}, None
        if resource == "payments":
            pending = [i for i, t in enumerate(doc.get("transactions") or []) if t.get("state") == "Pending"]
            if pending:
                return {f"transactions.{pending[0]}.state": "Success"}, None
            return {"paymentStatus.interfaceCode": rng.choice(["AUTHORISED", "CAPTURED", "SETTLED"])}, None
        if resource == "product-projections":
            return {"hasStagedChanges": False}, None
        return {}, None

    # --- HTTP plumbing --------------------------------------------------------------------------
    def error_response(self, status: int, code: str, message: str, **extra: Any) -> Response:
        body: dict[str, Any] = {"statusCode": status, "message": message,
                                "errors": [{"code": code, "message": message, **extra}]}
        headers = {}
        if code in AUTH_CODES:
            body["error"] = code
            body["error_description"] = message
            if status == 401 and code == "invalid_token":
                headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return Response.json(body, status, headers)

    def dispatch(self, req: Request) -> Response:
        resp = super().dispatch(req)
        correlation = req.headers.get("x-correlation-id")
        if correlation:
            resp.headers["X-Correlation-ID"] = correlation
        return resp

    def api_key_of(self, req: Request) -> str | None:
        auth = req.headers.get("authorization", "")
        return auth[7:15] + "…" if auth.lower().startswith("bearer ") else None

    def _register_routes(self) -> None:
        admin = f"{ADMIN_PREFIX}/ct"
        self.route("POST", "/oauth/token", self._oauth_token)
        self.route("GET", f"{admin}/stats", self._admin_stats)
        self.route("POST", f"{admin}/config", self._admin_config)
        self.route("POST", f"{admin}/simulate", self._admin_simulate)
        self.route("POST", f"{admin}/tokens/expire", self._admin_expire_tokens)
        self.route("POST", f"{admin}/reset", self._admin_reset)
        self.route("POST", f"{admin}/{_RES}", self._admin_seed)
        self.route("GET", f"{admin}/{_RES}", self._admin_dump)
        self.route("DELETE", f"{admin}/{_RES}", self._admin_clear)
        self.route("GET", f"{admin}/{_RES}/(?P<id>[^/]+)", self._admin_get)
        self.route("POST", f"{admin}/{_RES}/(?P<id>[^/]+)", self._admin_mutate)
        self.route("DELETE", f"{admin}/{_RES}/(?P<id>[^/]+)", self._admin_delete)

        self.route("GET", f"{_PK}/?", self._api(self._get_project, "project"))
        self.route("GET", f"{_PK}/{_RES}", self._api(self._list, None))
        self.route("POST", f"{_PK}/(?P<res>customers)", self._api(self._create_customer, None, write=True))
        self.route("POST", f"{_PK}/(?P<res>types)", self._api(self._create_type, None, write=True))
        self.route("GET", f"{_PK}/(?P<res>orders)/order-number=(?P<number>[^/]+)", self._api(self._get_one, None))
        self.route("GET", f"{_PK}/{_RES}/key=(?P<key>[^/]+)", self._api(self._get_one, None))
        self.route("GET", f"{_PK}/{_RES}/(?P<id>[^/]+)", self._api(self._get_one, None))
        store = f"{_PK}/in-store/key=(?P<store>[^/]+)"
        self.route("GET", f"{store}/(?P<res>customers|orders)", self._api(self._list, None))
        self.route("GET", f"{store}/(?P<res>orders)/order-number=(?P<number>[^/]+)", self._api(self._get_one, None))
        self.route("GET", f"{store}/(?P<res>customers|orders)/key=(?P<key>[^/]+)", self._api(self._get_one, None))
        self.route("GET", f"{store}/(?P<res>customers|orders)/(?P<id>[^/]+)", self._api(self._get_one, None))
        for ident in ("key=(?P<key>[^/]+)", "(?P<id>[^/]+)"):
            self.route("POST", f"{store}/(?P<res>customers)/{ident}", self._api(self._update, None, write=True))
        for res in ("customers", "types"):
            for ident in ("key=(?P<key>[^/]+)", "(?P<id>[^/]+)"):
                self.route("POST", f"{_PK}/(?P<res>{res})/{ident}", self._api(self._update, None, write=True))
                self.route("DELETE", f"{_PK}/(?P<res>{res})/{ident}", self._api(self._delete, None, write=True))

    def _api(self, handler: Callable[[Request, Token], Response], resource: str | None, *,
             write: bool = False) -> Callable[[Request], Response]:
        """Wrap a handler with bearer auth, project and scope checks and error mapping."""
        def wrapped(req: Request) -> Response:
            try:
                token = self.auth.authenticate(req.headers.get("authorization"))
                res = resource or req.params["res"]
                table = WRITE_SCOPES if write else READ_SCOPES
                needed = table.get(res, ("manage_project",))
                if res == "product-projections" and (req.arg("staged") or "").lower() == "true":
                    needed = STAGED_PRODUCT_SCOPES
                store = unquote(req.params["store"]) if "store" in req.params else None
                if req.params.get("pk") != self.project_key or not self.auth.grants(token.scopes, needed, store):
                    raise AuthFailure(403, "insufficient_scope", "Insufficient scope. One of the following scopes "
                                      f"is missing: {', '.join(needed)}")
                return handler(req, token)
            except AuthFailure as exc:
                return self.error_response(exc.status, exc.error, exc.description)
            except (ApiFailure, ActionError) as exc:
                return self.error_response(exc.status, exc.code, exc.message, **exc.extra)
            except (PredicateError, ExpandError) as exc:
                return self.error_response(400, "InvalidInput", str(exc))
        return wrapped

    # --- auth endpoint --------------------------------------------------------------------------
    def _oauth_token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        form.update({k: v[0] for k, v in req.query.items() if k not in form})  # the real host accepts both
        try:
            value, token = self.auth.issue(req.headers.get("authorization"), form.get("grant_type"),
                                           form.get("scope"))
        except AuthFailure as exc:
            return self.error_response(exc.status, exc.error, exc.description)
        return Response.json({"access_token": value, "token_type": "Bearer",
                              "expires_in": max(0, int(round(self.auth.token_ttl_seconds))),
                              "scope": " ".join(sorted(token.scopes))})

    # --- reads ----------------------------------------------------------------------------------
    def _get_project(self, req: Request, token: Token) -> Response:
        return Response.json({"key": self.project_key, "name": self.project_key, "version": 1,
                              "countries": ["SE", "NO", "DK", "FI", "DE"], "currencies": ["SEK", "NOK", "DKK", "EUR"],
                              "languages": ["en", "sv", "nb", "da", "fi", "de"],
                              "createdAt": "2024-01-01T00:00:00.000Z",
                              "messages": {"enabled": self.messages_enabled, "deleteDaysAfterCreation": 15},
                              "carts": {"countryTaxRateFallbackEnabled": False}, "trialUntil": None})

    def _int_param(self, req: Request, name: str, default: int, maximum: int) -> int:
        raw = req.arg(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiFailure(400, "InvalidInput", f"Malformed parameter: {name}: Invalid int: '{raw}'.") from None
        if not 0 <= value <= maximum:
            raise ApiFailure(400, "InvalidInput", f"Malformed parameter: {name}: The value {value} is out of the "
                                                  f"allowed range 0..{maximum}.")
        return value

    def _bool_param(self, req: Request, name: str, default: bool) -> bool:
        raw = req.arg(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            raise ApiFailure(400, "InvalidInput", f"Malformed parameter: {name}: Invalid boolean: '{raw}'.")
        return raw.lower() == "true"

    def _sorts(self, req: Request) -> list[SortKey]:
        sorts = []
        for raw in req.args("sort"):
            parts = raw.split()
            if len(parts) != 2 or parts[1].lower() not in ("asc", "desc") or \
                    not all(parts[0].split(".")):
                raise ApiFailure(400, "InvalidInput", f"Malformed parameter: sort: Invalid sort expression "
                                                      f"'{raw}', expected '<field> asc' or '<field> desc'.")
            sorts.append(SortKey(parts[0].split("."), parts[1].lower() == "desc"))
        return sorts

    def _expansions(self, req: Request) -> list[list[tuple[str, str | None]]]:
        return [parse_path(p) for p in req.args("expand") if p.strip()]

    def _resolve(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        coll = self.collections.get(RESOURCE_OF_TYPE.get(ref.get("typeId", ""), ""))
        if coll is None:
            return None
        doc = coll.get(ref["id"]) if ref.get("id") else coll.get_by_key(ref.get("key", "")) if ref.get("key") else None
        return doc.obj() if doc else None

    def _render(self, docs: list[Doc], expansions: list[list[tuple[str, str | None]]]) -> list[bytes]:
        if not expansions:
            return [d.raw for d in docs]
        out = []
        for doc in docs:
            obj = doc.obj()
            for path in expansions:
                expand(obj, path, self._resolve)
            out.append(encode(obj))
        return out

    def _list(self, req: Request, token: Token) -> Response:
        res = req.params["res"]
        limit = self._int_param(req, "limit", 20, MAX_LIMIT)
        offset = self._int_param(req, "offset", 0, MAX_OFFSET)
        with_total = self._bool_param(req, "withTotal", True)
        sorts = self._sorts(req)
        expansions = self._expansions(req)
        wheres = req.args("where")
        variables = {k[4:]: v for k, v in req.query.items() if k.startswith("var.")}
        if "store" in req.params:  # in-store endpoints see only that store's customers / orders
            variables["__store"] = [unquote(req.params["store"])]
            query = compile_where([*wheres, _STORE_PREDICATE[res]], variables)
        else:
            query = compile_where(wheres, variables)
        visible = None
        if res == "product-projections" and not self._bool_param(req, "staged", False):
            visible = _published
        if res == "messages" and not self.messages_enabled:
            rendered: list[bytes] = []
            total: int | None = 0
        else:
            coll = self.collections[res]
            with self.lock:
                ids = coll.ids()
            page = run_query(coll, ids, query, sorts, limit, offset, with_total, where_used=bool(wheres),
                             visible=visible)
            rendered, total = self._render(page.docs, expansions), page.total
        envelope: dict[str, Any] = {"limit": limit, "offset": offset, "count": len(rendered)}
        if with_total:
            envelope["total"] = total
        body = encode(envelope)[:-1] + b',"results":[' + b",".join(rendered) + b"]}"
        return Response.raw(body, 200, JSON_TYPE)

    def _find(self, req: Request) -> Doc:
        res = req.params["res"]
        coll = self.collections[res]
        if "number" in req.params:
            number = unquote(req.params["number"])
            doc, what = coll.get_by_order_number(number), f"order number '{number}'"
        elif "key" in req.params:
            if res not in KEYED:
                raise _not_found(f"key '{unquote(req.params['key'])}'")
            key = unquote(req.params["key"])
            doc, what = coll.get_by_key(key), f"key '{key}'"
        else:
            doc_id = unquote(req.params["id"])
            doc, what = coll.get(doc_id), f"ID '{doc_id}'"
        if doc is None or (res == "product-projections" and not _published(doc.head)
                           and (req.arg("staged") or "").lower() != "true"):
            raise _not_found(what)
        if "store" in req.params and not _in_store(res, doc.obj(), unquote(req.params["store"])):
            raise _not_found(what)
        return doc

    def _get_one(self, req: Request, token: Token) -> Response:
        doc = self._find(req)
        if req.params["res"] == "messages" and not self.messages_enabled:
            raise _not_found(f"ID '{doc.id}'")
        return Response.raw(self._render([doc], self._expansions(req))[0], 200, JSON_TYPE)

    # --- writes ---------------------------------------------------------------------------------
    def _update(self, req: Request, token: Token) -> Response:
        res = req.params["res"]
        version, actions = check_update_body(req.json())
        with self.lock:
            doc = self._find(req)
            current = doc.head["version"]
            if version != current:
                raise self._conflict(doc.id, version, current)
            if not actions:
                return Response.raw(doc.raw, 200, JSON_TYPE)
            obj = doc.obj()
            emitted: msgs.Emitted = []
            for action in actions:
                if res == "customers":
                    emitted += apply_customer_action(obj, action, self._resolve_type, self._email_taken,
                                                     self._key_taken("customers"))
                else:
                    apply_type_action(obj, action)
                    if obj.get("key") != doc.head.get("key") and self._key_taken("types")(obj["key"], obj["id"]):
                        raise ApiFailure(400, "DuplicateField", f"A duplicate value '\"{obj['key']}\"' exists for "
                                                                "field 'key'.", field="key", duplicateValue=obj["key"])
            obj = self._commit(res, obj, emitted, token.client_id, current)
        return Response.json(obj)

    def _delete(self, req: Request, token: Token) -> Response:
        raw = req.arg("version")
        if raw is None or not raw.lstrip("-").isdigit():
            raise ApiFailure(400, "InvalidInput", "Missing or invalid query parameter 'version'.")
        with self.lock:
            doc = self._find(req)
            if int(raw) != doc.head["version"]:
                raise self._conflict(doc.id, int(raw), doc.head["version"])
            obj = self.delete(req.params["res"], doc.id, client_id=token.client_id)
        return Response.json(obj)

    def _create_customer(self, req: Request, token: Token) -> Response:
        draft = req.json()
        if not isinstance(draft, dict) or not isinstance(draft.get("email"), str):
            raise ApiFailure(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                             detailedErrorMessage="email: Missing required value")
        now = fmt_ts(self.now())
        by = {"clientId": token.client_id, "isPlatformClient": False}
        with self.lock:
            if self._email_taken(draft["email"], ""):
                raise ApiFailure(400, "DuplicateField", "There is already an existing customer with the provided "
                                 "email.", field="email", duplicateValue=draft["email"])
            if draft.get("key") and self._key_taken("customers")(draft["key"], ""):
                raise ApiFailure(400, "DuplicateField", f"A duplicate value '\"{draft['key']}\"' exists for field "
                                 "'key'.", field="key", duplicateValue=draft["key"])
            customer: dict[str, Any] = {"id": str(uuid.uuid4()), "version": 1, "createdAt": now,
                                        "lastModifiedAt": now, "lastModifiedBy": by, "createdBy": dict(by)}
            skip = {"password", "addresses", "stores", "anonymousCartId", "anonymousId", "custom"}
            customer.update({k: v for k, v in draft.items() if k not in skip and v is not None})
            if draft.get("password"):
                customer["password"] = "****" + uuid.uuid4().hex[:4] + "="
            addresses = [{**a, "id": a.get("id") or uuid.uuid4().hex[:8]} for a in draft.get("addresses") or []]
            customer.update({"addresses": addresses,
                             "shippingAddressIds": customer.get("shippingAddressIds", []),
                             "billingAddressIds": customer.get("billingAddressIds", []),
                             "isEmailVerified": bool(draft.get("isEmailVerified", False)),
                             "stores": draft.get("stores") or [],
                             "authenticationMode": draft.get("authenticationMode") or
                             ("Password" if draft.get("password") else "ExternalAuth"),
                             "customerGroupAssignments": draft.get("customerGroupAssignments") or []})
            if draft.get("custom"):
                apply_customer_action(customer, {"action": "setCustomType", **draft["custom"]}, self._resolve_type,
                                      lambda *_: False, lambda *_: False)
            self.collections["customers"].upsert(customer)
            self._emit("customers", customer, msgs.created("customers", customer), token.client_id)
        return Response.json({"customer": customer}, 201)

    def _create_type(self, req: Request, token: Token) -> Response:
        draft = check_type_draft(req.json())
        now = fmt_ts(self.now())
        by = {"clientId": token.client_id, "isPlatformClient": False}
        with self.lock:
            if self._key_taken("types")(draft["key"], ""):
                raise ApiFailure(400, "DuplicateField", f"A duplicate value '\"{draft['key']}\"' exists for field "
                                 "'key'.", field="key", duplicateValue=draft["key"])
            type_doc: dict[str, Any] = {"id": str(uuid.uuid4()), "version": 1, "key": draft["key"],
                                        "name": draft["name"]}
            if draft.get("description") is not None:
                type_doc["description"] = draft["description"]
            type_doc.update({"resourceTypeIds": draft["resourceTypeIds"],
                             "fieldDefinitions": draft.get("fieldDefinitions") or [], "createdAt": now,
                             "lastModifiedAt": now, "lastModifiedBy": by, "createdBy": dict(by)})
            self.collections["types"].upsert(type_doc)
        return Response.json(type_doc, 201)

    @staticmethod
    def _conflict(doc_id: str, expected: int, current: int) -> ApiFailure:
        return ApiFailure(409, "ConcurrentModification", f"Object {doc_id} has a different version than expected. "
                          f"Expected: {expected} - Actual: {current}.", currentVersion=current)

    def _resolve_type(self, ref: dict[str, Any]) -> dict[str, Any] | None:
        return self._resolve({"typeId": "type", **{k: ref[k] for k in ("id", "key") if k in ref}})

    def _email_taken(self, email: str, own_id: str) -> bool:
        wanted = email.strip().lower()
        return any(isinstance(d.head.get("email"), str) and d.head["email"].strip().lower() == wanted
                   and d.id != own_id for d in list(self.collections["customers"].docs.values()))

    def _key_taken(self, resource: str) -> Callable[[str, str], bool]:
        def taken(key: str, own_id: str) -> bool:
            found = self.collections[resource].by_key.get(key)
            return found is not None and found != own_id
        return taken

    # --- admin ----------------------------------------------------------------------------------
    def _admin_seed(self, req: Request) -> Response:
        text = req.body.decode("utf-8")
        try:
            payload = json.loads(text) if text.strip() else []
        except json.JSONDecodeError:
            try:
                payload = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as exc:
                return self.malformed_json(f"neither JSON nor NDJSON: {exc}")
        docs = [payload] if isinstance(payload, dict) else payload
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            return self.error_response(400, "InvalidInput", "Expected a JSON object, an array of objects or NDJSON.")
        emit = (req.arg("emit_messages") or "").lower() == "true"
        stored = self.put(req.params["res"], docs, emit_messages=emit)
        result: dict[str, Any] = {"resource": req.params["res"], "count": len(stored),
                                  "total": self.count(req.params["res"])}
        if len(stored) <= 1000:
            result["ids"] = [d["id"] for d in stored]
        return Response.json(result)

    def _admin_dump(self, req: Request) -> Response:
        coll = self.collections[req.params["res"]]
        with self.lock:
            raws = [coll.docs[i].raw for i in coll.ids() if i in coll.docs]
        body = encode({"count": len(raws)})[:-1] + b',"results":[' + b",".join(raws) + b"]}"
        return Response.raw(body, 200, JSON_TYPE)

    def _admin_clear(self, req: Request) -> Response:
        self.clear(req.params["res"])
        return Response.json({"cleared": req.params["res"]})

    def _admin_get(self, req: Request) -> Response:
        doc = self.collections[req.params["res"]].get(unquote(req.params["id"]))
        if doc is None:
            return self.error_response(404, "ResourceNotFound", f"The Resource with ID '{req.params['id']}' was "
                                                                "not found.")
        return Response.raw(doc.raw, 200, JSON_TYPE)

    def _admin_mutate(self, req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict) or not isinstance(body.get("set", {}), dict):
            return self.error_response(400, "InvalidInput", 'Expected {"set": {"dotted.path": value}, "unset": [..]}')
        changes = dict(body.get("set") or {})
        changes.update({path: None for path in body.get("unset") or []})
        try:
            doc = self.update(req.params["res"], unquote(req.params["id"]), changes,
                              client_id=body.get("client_id") or ADMIN_CLIENT, message_type=body.get("message_type"))
        except KeyError:
            return self.error_response(404, "ResourceNotFound", f"The Resource with ID '{req.params['id']}' was "
                                                                "not found.")
        except (ValueError, IndexError, TypeError) as exc:
            return self.error_response(400, "InvalidInput", f"Cannot apply changes: {exc}")
        return Response.json(doc)

    def _admin_delete(self, req: Request) -> Response:
        obj = self.delete(req.params["res"], unquote(req.params["id"]),
                          client_id=req.arg("client_id") or ADMIN_CLIENT)
        if obj is None:
            return self.error_response(404, "ResourceNotFound", f"The Resource with ID '{req.params['id']}' was "
                                                                "not found.")
        return Response.json(obj)

    def _admin_simulate(self, req: Request) -> Response:
        body = req.json() or {}
        resource = body.get("resource", "orders")
        if resource not in self.collections:
            return self.error_response(400, "InvalidInput", f"Unknown resource {resource!r}.")
        touched = self.simulate(resource, int(body.get("count", 1)), int(body.get("seed", 0)))
        return Response.json({"resource": resource, "touched": touched, "count": len(touched)})

    def _admin_config(self, req: Request) -> Response:
        body = req.json() or {}
        if "messages_enabled" in body:
            self.set_messages_enabled(bool(body["messages_enabled"]))
        if "token_ttl_seconds" in body:
            self.set_token_ttl(float(body["token_ttl_seconds"]))
        if "clock" in body:
            if body["clock"] is None:
                self.clock = lambda: datetime.now(timezone.utc)
            else:
                frozen = datetime.fromisoformat(body["clock"]).astimezone(timezone.utc)
                self.clock = lambda: frozen
        for client_id, (secret, scopes) in (body.get("clients") or {}).items():
            self.auth.clients[client_id] = (secret, scopes)
        return self._admin_stats(req)

    def _admin_reset(self, req: Request) -> Response:
        self.reset()
        return Response.json({"reset": True})

    def _admin_expire_tokens(self, req: Request) -> Response:
        return Response.json({"expired": self.auth.expire_all()})

    def _admin_stats(self, req: Request) -> Response:
        return Response.json({
            "project_key": self.project_key, "now": fmt_ts(self.now()),
            "messages_enabled": self.messages_enabled, "token_ttl_seconds": self.auth.token_ttl_seconds,
            "tokens_issued": self.auth.issued, "counts": {r: len(c) for r, c in self.collections.items()},
            "requests": len(self.requests()), "faults": self.faults.describe()})


def _published(head: dict[str, Any]) -> bool:
    return head.get("published") is True


_STORE_PREDICATE = {"customers": "stores(key = :__store)", "orders": "store(key = :__store)"}


def _in_store(resource: str, doc: dict[str, Any], store: str) -> bool:
    if resource == "customers":
        return any(isinstance(s, dict) and s.get("key") == store for s in doc.get("stores") or [])
    return (doc.get("store") or {}).get("key") == store
