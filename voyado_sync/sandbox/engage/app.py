"""The Voyado Engage sandbox: a loopback HTTP server that behaves like the Engage REST API (v2/v3).

Every API request passes, in this order:

1. ``apikey`` header (case-insensitive name) naming a configured key, else **401** ``Unauthorized``;
2. the key's token bucket (``api_keys={key: requests_per_second}``; None = unlimited), else **429**
   ``TooManyRequests`` with ``Retry-After`` (seconds, may be fractional);
3. ``Content-Type: application/json`` on every request, GET and DELETE included (reference §1.2: mandatory
   on all requests), else **500** ``{"message": "An error has occurred"}`` as the real API answers;
4. the endpoint. Errors are ``{"errorCode", "message", "statusCode", ...}`` (see `errors`).

Endpoints (details in the concept modules):
  contacts  ``POST /api/v3/contacts?source&storeExternalId&createAsUnapproved`` (v2: as headers),
            ``GET|PATCH|DELETE /api/v3/contacts/{id}`` (v2 update: ``POST /api/v2/contacts/{id}``),
            ``GET /api/v3/contacts/id?email|mobilePhone|socialSecurityNumber|customKey|any[&contactType]``,
            ``POST|PATCH /api/v3/contacts/bulk``, ``GET /api/v3/contacts/bulk/status?batchId``,
            ``GET /api/v3/contacts/changes?changeType&fromDate[&toDate]``, ``GET /api/v2/contacts/count``,
            ``POST /api/v3/contacts/{id}/updateContactType?contactTypeId``,
            ``POST /api/v2/contacts/{id}/preferences/acceptsEmail|acceptsSms|acceptsPostal``, ``GET /api/v2/consents``
  receipts  ``POST /api/v3/receipts``, ``GET /api/v2/contacts/{id}/transactions?offset&count``
  loyalty   ``GET /api/v3/point-accounts?contactId``, ``/point-accounts/{id}``, ``/definitions[/{id}]``,
            ``GET|POST /api/v3/point-accounts/transactions``, ``GET .../transactions/{id}``
  campaigns ``GET /api/v3/target-audiences``, ``POST /api/v2/automation/customTriggers/{t}/triggerByContactId/{id}``,
            ``.../triggerByExternalContactId/{externalId}``, ``.../triggerByContactTypeAndKey/{type}/{key}``
  tracking  ``POST /api/v2/tracking/carts``, ``/carts/batch``
  inventory ``PUT /api/v2/inventory/stock-levels``, ``/batch``; ``POST /api/v3/inventory/backinstock/subscriptions``,
            ``DELETE .../subscriptions/{id}``
  stores    ``GET|POST /api/v3/stores``, ``GET /api/v2/stores/{externalId}``

Admin (no auth, no faults, no rate limit) under ``/__admin/engage/``:
  ``GET effects?kind&since``, ``GET|POST contacts`` (POST seeds the generator's format), ``GET contacts/{id}``,
  ``GET receipts``, ``POST receipts/flush``, ``GET receipts/parked``, ``DELETE|PATCH receipts/{uniqueReceiptId}``, ``GET point-accounts``, ``GET point-transactions``, ``GET triggers``,
  ``GET carts``, ``GET stock-levels``, ``GET backinstock``, ``GET stores``, ``GET integration-log``,
  ``GET bulk``, ``GET stats``, ``POST config {"rate_limits": {key: rps|null}, "clock": ISO|null,
  "receipt_batch_seconds", "target_audiences"}``, ``POST reset``. Faults and latency: base ``/__admin/faults``.

In-process: ``effects(kind)``, ``receipts``, ``contacts``, ``point_transactions``, ``triggers``, ``carts``,
``stock_levels``, ``integration_log``, ``seed_contacts(docs)``, ``set_rate_limit(key, rps)``, ``flush_receipts()``,
``reset()``, ``now()`` (``clock`` is overridable).

The request log (``requests()``, ``GET /__admin/requests``) names each receipt POST's ``uniqueReceiptId``
as its ``subject``, refused and faulted attempts included: every POST of an id Voyado already holds is
visible there, although only the first is an effect.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import unquote

from voyado_sync.privacy import hash_value
from voyado_sync.sandbox.engage.automation import Automation
from voyado_sync.sandbox.engage.contacts import DEFAULT_CUSTOM_ATTRIBUTES, ContactBook
from voyado_sync.sandbox.engage.effects import EffectLog, IntegrationLog
from voyado_sync.sandbox.engage.errors import EngageError, bad_request, int_arg, parse_datetime
from voyado_sync.sandbox.engage.inventory import Inventory
from voyado_sync.sandbox.engage.loyalty import Loyalty
from voyado_sync.sandbox.engage.receipts import RECEIPTS_PATH, Receipts, receipt_id
from voyado_sync.sandbox.engage.stores import Stores
from voyado_sync.sandbox.engage.tracking import Tracking
from voyado_sync.sandbox.http import ADMIN_PREFIX, Request, Response, SandboxApp, TokenBucket

ADMIN = f"{ADMIN_PREFIX}/engage"


class EngageSandbox(SandboxApp):
    name = "engage"

    def __init__(self, api_keys: dict[str, float | None] | None = None, seed: int = 0,
                 contact_types: tuple[str, ...] = ("Member", "Contact"), receipt_batch_seconds: float = 0,
                 *, custom_attributes: tuple[str, ...] = DEFAULT_CUSTOM_ATTRIBUTES,
                 consent_definitions: list[dict[str, Any]] | None = None,
                 target_audiences: list[dict[str, Any]] | None = None,
                 point_definitions: list[dict[str, Any]] | None = None, changes_cap: int = 250_000) -> None:
        super().__init__(seed=seed)
        self.seed = seed
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
        self._buckets: dict[str, TokenBucket | None] = {}
        for key, rps in (api_keys if api_keys is not None else {"sandbox-key": 200.0}).items():
            self.set_rate_limit(key, rps)
        self._config = dict(contact_types=tuple(contact_types), receipt_batch_seconds=receipt_batch_seconds,
                            custom_attributes=tuple(custom_attributes), consent_definitions=consent_definitions,
                            target_audiences=target_audiences, point_definitions=point_definitions,
                            changes_cap=changes_cap)
        self._effects = EffectLog()
        self._build_state()
        for attr in ("_contacts", "_receipts", "loyalty", "_automation", "_tracking", "_inventory", "stores"):
            getattr(self, attr).register(self._late_route(attr))
        self._register_admin()

    def _build_state(self) -> None:
        c = self._config
        self.integration = IntegrationLog()
        self.stores = Stores(self)
        self.loyalty = Loyalty(self, c["point_definitions"])
        self._contacts = ContactBook(self, c["contact_types"], c["custom_attributes"], c["consent_definitions"],
                                     c["changes_cap"])
        self._receipts = Receipts(self, c["receipt_batch_seconds"])
        self._automation = Automation(self, c["target_audiences"])
        self._tracking = Tracking(self)
        self._inventory = Inventory(self)

    def _late_route(self, attr: str) -> Callable[[str, str, Callable[[Request], Response]], None]:
        """Routes call the concept object current at request time, so `reset` can replace it."""
        def route(method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
            name = handler.__name__
            self.route(method, pattern, lambda req: getattr(getattr(self, attr), name)(req))
        return route

    # --- plumbing ----------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def effect(self, kind: str, key: str | None, **detail: Any) -> None:
        self._effects.record(kind, key, self.now(), **detail)

    def set_rate_limit(self, api_key: str, requests_per_second: float | None) -> None:
        """Add or change a key's budget; None (or <= 0) means unlimited."""
        rps = requests_per_second
        self._buckets[api_key] = TokenBucket(float(rps)) if rps and rps > 0 else None

    def api_key_of(self, req: Request) -> str | None:
        key = req.headers.get("apikey")
        return hash_value(key, "apikey")[:16] if key else None

    def subject_of(self, req: Request) -> str | None:
        """A receipt POST's ``uniqueReceiptId`` (the key Voyado de-duplicates on)."""
        if req.method == "POST" and RECEIPTS_PATH.match(req.path):
            return receipt_id(req.body)
        return None

    def error_response(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response.json({"errorCode": code, "message": message, "statusCode": status, **extra}, status)

    def dispatch(self, req: Request) -> Response:
        if self.is_admin(req.path):
            return self._guarded(req)
        key = req.headers.get("apikey")
        if not key or key not in self._buckets:
            return self.error_response(401, "Unauthorized", "Authorization has been denied for this request: "
                                                            "missing or unknown apikey header.")
        bucket = self._buckets[key]
        if bucket is not None:
            allowed, wait = bucket.try_take()
            if not allowed:
                resp = self.error_response(429, "TooManyRequests", "Rate limit for this API key exceeded.")
                resp.headers["Retry-After"] = f"{max(wait, 0.001):.3f}"
                return resp
        if not req.headers.get("content-type", "").lower().startswith("application/json"):
            return Response.json({"message": "An error has occurred"}, 500)
        return self._guarded(req)

    def _guarded(self, req: Request) -> Response:
        with self.lock:
            self._receipts.process_due()
            try:
                return super().dispatch(req)
            except EngageError as exc:
                return self.error_response(exc.status, exc.code, exc.message, **exc.extra)

    # --- in-process accessors ----------------------------------------------------------------------
    def effects(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self._effects.list(kind)

    @property
    def contacts(self) -> ContactBook:
        """The contact book: ``.by_id``, ``.get(id)``, ``.find(field, value)``; ``as_api()`` per contact."""
        return self._contacts

    @property
    def receipts(self) -> dict[str, dict[str, Any]]:
        """Processed receipts by ``uniqueReceiptId``: ``{contactId, status, acceptedAt, processedAt, receipt}``."""
        with self.lock:
            self._receipts.process_due()
            return dict(self._receipts.stored)

    @property
    def point_transactions(self) -> list[dict[str, Any]]:
        return list(self.loyalty.transactions)

    @property
    def triggers(self) -> list[dict[str, Any]]:
        return list(self._automation.triggers)

    @property
    def carts(self) -> dict[str, dict[str, Any]]:
        return dict(self._tracking.carts)

    @property
    def stock_levels(self) -> dict[tuple[str, str | None, str | None], dict[str, Any]]:
        return dict(self._inventory.stock_levels)

    @property
    def backinstock_subscriptions(self) -> dict[str, dict[str, Any]]:
        return dict(self._inventory.subscriptions)

    @property
    def integration_log(self) -> list[dict[str, Any]]:
        return list(self.integration.entries)

    def seed_contacts(self, docs: list[dict[str, Any]]) -> list[str]:
        with self.lock:
            return self._contacts.seed(list(docs))

    def flush_receipts(self) -> int:
        """Process every queued receipt now (as if Engage's batch had run)."""
        with self.lock:
            return self._receipts.process_due(force=True)

    def reset(self) -> None:
        """Forget all data (contacts, receipts, effects, ...); keys, limits and configuration stay."""
        with self.lock:
            self._effects.clear()
            self._build_state()

    # --- admin -------------------------------------------------------------------------------------
    def _register_admin(self) -> None:
        dumps: dict[str, Callable[[], Any]] = {
            "receipts": lambda: list(self.receipts.values()),
            "point-accounts": lambda: list(self.loyalty.accounts.values()),
            "point-transactions": lambda: self.point_transactions,
            "triggers": lambda: self.triggers,
            "carts": lambda: list(self.carts.values()),
            "stock-levels": lambda: list(self.stock_levels.values()),
            "backinstock": lambda: list(self.backinstock_subscriptions.values()),
            "stores": lambda: list(self.stores.by_external_id.values()),
            "integration-log": lambda: self.integration_log,
            "bulk": lambda: list(self._contacts.batches.values()),
        }
        for name, dump in dumps.items():
            self.route("GET", f"{ADMIN}/{name}", lambda r, d=dump: Response.json(copy.deepcopy(d())))
        self.route("GET", f"{ADMIN}/effects", self._admin_effects)
        self.route("GET", f"{ADMIN}/contacts", lambda r: Response.json(
            [c.as_api() for c in self._contacts.by_id.values() if c.deleted is None]))
        self.route("POST", f"{ADMIN}/contacts", self._admin_seed)
        self.route("GET", f"{ADMIN}/contacts/(?P<id>[^/]+)", lambda r: Response.json(
            self._contacts.require(r.params["id"]).as_api()))
        self.route("POST", f"{ADMIN}/receipts/flush", lambda r: Response.json({"processed": self.flush_receipts()}))
        self.route("GET", f"{ADMIN}/receipts/parked", lambda r: Response.json(list(self._receipts.parked.values())))
        self.route("DELETE", f"{ADMIN}/receipts/(?P<id>[^/]+)", lambda r: Response.json(
            {"forgotten": self._receipts.forget(unquote(r.params["id"]))}))
        self.route("PATCH", f"{ADMIN}/receipts/(?P<id>[^/]+)", lambda r: Response.json(
            {"overwritten": self._receipts.overwrite(unquote(r.params["id"]), r.json() or {})}))
        self.route("GET", f"{ADMIN}/stats", self._admin_stats)
        self.route("POST", f"{ADMIN}/config", self._admin_config)
        self.route("POST", f"{ADMIN}/reset", lambda r: (self.reset(), Response.json({"reset": True}))[1])

    def _admin_effects(self, req: Request) -> Response:
        items = self._effects.list(req.arg("kind"), since=int_arg(req.arg("since"), "since", 0, 0, 10**12))
        return Response.json({"count": len(items), "results": items})

    def _admin_seed(self, req: Request) -> Response:
        body = req.json()
        docs = body if isinstance(body, list) else [body]
        if not all(isinstance(d, dict) for d in docs):
            raise bad_request("InvalidRequest", "Seed with a contact object or an array of them.")
        return Response.json({"seeded": len(self._contacts.seed(docs))})

    def _admin_stats(self, req: Request) -> Response:
        kinds: dict[str, int] = {}
        for e in self._effects.list():
            kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
        return Response.json({"contacts": sum(1 for c in self._contacts.by_id.values() if c.deleted is None),
                              "receipts": len(self._receipts.stored), "pendingReceipts": len(self._receipts.pending),
                              "duplicateReceipts": self._receipts.duplicates, "effects": kinds})

    def _admin_config(self, req: Request) -> Response:
        body = req.json() or {}
        if not isinstance(body, dict):
            raise bad_request("InvalidRequest", "config must be an object")
        for key, rps in (body.get("rate_limits") or {}).items():
            self.set_rate_limit(key, rps)
        if "clock" in body:
            fixed = parse_datetime(body["clock"], "clock") if body["clock"] else None
            self.clock = (lambda: fixed) if fixed else (lambda: datetime.now(timezone.utc))
        if "receipt_batch_seconds" in body:
            self._receipts.batch_seconds = self._config["receipt_batch_seconds"] = float(body["receipt_batch_seconds"])
        if "target_audiences" in body:
            self._automation.target_audiences = self._config["target_audiences"] = list(body["target_audiences"])
        return Response.json({"keys": len(self._buckets), "receipt_batch_seconds": self._receipts.batch_seconds})
