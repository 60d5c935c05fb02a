"""The Voyado Elevate sandbox: the Admin API v4 catalog import/export (reference §12) on loopback.

Supported surface
-----------------
Auth: header ``Api-Key`` naming a configured key, else **403** (the reference documents 403 for bad
credentials). Errors are ``{"errorCode", "message", "statusCode", "errors"?: [{"line", "reason"}]}``.

``PUT /api/admin/v4/import/catalog`` full replace; ``PATCH /api/admin/v4/import/catalog`` incremental.
  Headers ``Content-Type: application/jsonlines`` and ``Content-Encoding: gzip`` are required (400
  otherwise, and for a body that is not gzip or not UTF-8). One operation per line:
  ``{"replace": {"key": k, "productGroup": {...}}}`` (PUT: the only one allowed),
  ``{"edit": {"key": k, "productGroup": {partial}}}`` (PATCH: deep merge into the stored group; a null
  removes a field; the group must exist) and ``{"remove": {"key": k}}`` (PATCH; removing an absent key is
  a no-op so a retried import stays harmless). The reference did not capture the incremental method nor
  the edit/remove shapes (§14.10): these are the sandbox's assumption.
  A product group needs ``products`` (object, ≥ 1 product), every product ``variants`` (object, ≥ 1);
  ``markets`` is a list of strings; ``defaults.url``/``title`` strings; variant ``defaults.stock`` an
  integer ≥ 0 and ``sellingPrice``/``listPrice``/``cost`` numbers ≥ 0; product and variant keys are unique
  across the catalog. Any invalid line → **400** listing ``errors: [{line, reason}]`` and the catalog is
  unchanged. Full replace deletes every group not in the file.
  ``?validateOnly=true`` validates (against the catalog the import would produce) and changes nothing:
  200 ``{"valid": true, ...}`` or the 400.
  One import at a time per cluster: an import while another is queued/running → **409** ``ImportInProgress``.
  Processing takes ``import_delay_seconds``; if that exceeds ``import_blocking_seconds`` the call answers
  **202** ``{"importId", "status", "href"}`` and ``GET /api/admin/v4/import/{importId}`` reports
  ``status: queued|running|succeeded|failed`` (+ ``errors``). A finished import answers 200 with the record.
``GET /api/admin/v4/export/catalog?limit&productGroupKeys&types`` JSON Lines ``{"key", "productGroup"}``
  sorted by key (types other than PRODUCT_GROUPS yield nothing).

Admin (no auth, no faults) under ``/__admin/elevate/``: ``GET catalog``, ``PUT|DELETE catalog/{key}`` (replace or
forget a held product group), ``GET imports``, ``GET effects``,
``POST config {"import_delay_seconds", "import_blocking_seconds", "fail_next_import": reason}``, ``POST reset``.
In-process: ``catalog`` (dict by product group key), ``imports``, ``effects(kind)``, ``reset()``.
"""

from __future__ import annotations

import copy
import gzip
import json
import threading
import time
import uuid
import zlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from voyado_sync.privacy import hash_value
from voyado_sync.sandbox.http import ADMIN_PREFIX, Request, Response, SandboxApp

ADMIN = f"{ADMIN_PREFIX}/elevate"
IMPORT_PATH = "/api/admin/v4/import/catalog"
FULL_OPS = frozenset({"replace"})
INCREMENTAL_OPS = frozenset({"replace", "edit", "remove"})
PRICE_FIELDS = ("sellingPrice", "listPrice", "cost")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def product_group_errors(pg: Any, partial: bool = False) -> list[str]:
    """Shape and type problems of a product group (``partial``: an edit, where nothing is required)."""
    if not isinstance(pg, dict):
        return ["productGroup must be an object"]
    products = pg.get("products")
    if products is None and partial:
        return []
    if not isinstance(products, dict) or (not products and not partial):
        return ["productGroup.products must be an object with at least one product"]
    errors = []
    for pkey, product in products.items():
        where = f"product {pkey!r}"
        if product is None and partial:
            continue
        if not isinstance(product, dict):
            errors.append(f"{where} must be an object")
            continue
        markets = product.get("markets")
        if markets is not None and (not isinstance(markets, list) or not all(isinstance(m, str) for m in markets)):
            errors.append(f"{where}: markets must be a list of strings")
        for section in ("defaults", *[f"overrides.{k}" for k in (product.get("overrides") or {})]):
            values = product.get("defaults") if section == "defaults" else product["overrides"][section[10:]]
            if values is None:
                continue
            if not isinstance(values, dict):
                errors.append(f"{where}: {section} must be an object")
                continue
            for name in ("url", "title", "description", "brand", "ontology"):
                if values.get(name) is not None and not isinstance(values[name], str):
                    errors.append(f"{where}: {section}.{name} must be a string")
        for okey in product.get("overrides") or {}:
            if "|" not in okey:
                errors.append(f"{where}: override key {okey!r} must be 'market|locale'")
        variants = product.get("variants")
        if variants is None and partial:
            continue
        if not isinstance(variants, dict) or (not variants and not partial):
            errors.append(f"{where} must have at least one variant")
            continue
        for vkey, variant in variants.items():
            if variant is None and partial:
                continue
            defaults = variant.get("defaults") if isinstance(variant, dict) else None
            if not isinstance(variant, dict) or (defaults is not None and not isinstance(defaults, dict)):
                errors.append(f"variant {vkey!r} must be an object with object defaults")
                continue
            defaults = defaults or {}
            stock = defaults.get("stock")
            if stock is not None and (not isinstance(stock, int) or isinstance(stock, bool) or stock < 0):
                errors.append(f"variant {vkey!r}: stock must be an integer >= 0")
            for name in PRICE_FIELDS:
                if defaults.get(name) is not None and (not _number(defaults[name]) or defaults[name] < 0):
                    errors.append(f"variant {vkey!r}: {name} must be a number >= 0")
    return errors


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386): objects merge, null removes, anything else replaces."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(base.get(k), v)
    return out


def parse_operations(text: str, allowed: frozenset[str]) -> tuple[list[tuple[int, str, str, Any]], list[dict]]:
    """Lines → ``(line, op, key, productGroup)``; errors as ``{"line", "reason"}`` (1-based lines)."""
    ops, errors, seen = [], [], {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append({"line": n, "reason": f"invalid JSON: {exc.msg}"})
            continue
        if not isinstance(doc, dict) or len(doc) != 1:
            errors.append({"line": n, "reason": "a line must be an object with exactly one operation"})
            continue
        op, body = next(iter(doc.items()))
        if op not in allowed:
            errors.append({"line": n, "reason": f"operation {op!r} is not allowed here; allowed: {sorted(allowed)}"})
            continue
        if not isinstance(body, dict) or not isinstance(body.get("key"), str) or not body["key"].strip():
            errors.append({"line": n, "reason": f"{op}.key must be a non-empty string"})
            continue
        key = body["key"]
        if key in seen:
            errors.append({"line": n, "reason": f"key {key!r} already appears on line {seen[key]}"})
            continue
        seen[key] = n
        if op == "remove":
            ops.append((n, op, key, None))
            continue
        if "productGroup" not in body:
            errors.append({"line": n, "reason": f"{op} needs a productGroup (the only entity type supported)"})
            continue
        errors += [{"line": n, "reason": r} for r in product_group_errors(body["productGroup"], op == "edit")]
        ops.append((n, op, key, body["productGroup"]))
    return ops, errors


def apply_operations(catalog: dict[str, Any], ops: Iterable[tuple[int, str, str, Any]],
                     full: bool) -> tuple[dict[str, Any], list[dict], dict[str, int]]:
    """The catalog after the import (never mutates ``catalog``), the errors, and counts."""
    result: dict[str, Any] = {} if full else copy.deepcopy(catalog)
    line_of: dict[str, int] = {}
    stats = {"replaced": 0, "edited": 0, "removed": 0, "deleted": 0}
    errors = []
    for n, op, key, pg in ops:
        line_of[key] = n
        if op == "replace":
            result[key] = copy.deepcopy(pg)
            stats["replaced"] += 1
        elif op == "edit":
            if key not in result:
                errors.append({"line": n, "reason": f"edit of unknown product group {key!r}"})
                continue
            result[key] = _merge(result[key], pg)
            problems = product_group_errors(result[key])
            errors += [{"line": n, "reason": f"after edit: {p}"} for p in problems]
            stats["edited"] += 1
        elif result.pop(key, None) is not None:
            stats["removed"] += 1
    if full:
        stats["deleted"] = len(set(catalog) - set(result))
    owner: dict[str, str] = {}
    for gkey in sorted(result, key=lambda k: (k in line_of, line_of.get(k, 0))):
        for pkey, product in result[gkey].get("products", {}).items():
            for item in [pkey, *[f"variant:{v}" for v in (product or {}).get("variants", {})]]:
                if item in owner and owner[item] != gkey:
                    errors.append({"line": line_of.get(gkey, 0),
                                   "reason": f"{'variant' if item.startswith('variant:') else 'product'} key "
                                             f"{item.removeprefix('variant:')!r} is already used by product group "
                                             f"{owner[item]!r}"})
                owner.setdefault(item, gkey)
    return result, errors, stats


class ElevateSandbox(SandboxApp):
    name = "elevate"

    def __init__(self, api_keys: Iterable[str] | None = None, import_blocking_seconds: float = 5.0,
                 import_delay_seconds: float = 0.0, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.api_keys = set(api_keys if api_keys is not None else {"elevate-key"})
        self.import_blocking_seconds = import_blocking_seconds
        self.import_delay_seconds = import_delay_seconds
        self.fail_next_import: str | None = None
        self.catalog: dict[str, Any] = {}
        self.imports: dict[str, dict[str, Any]] = {}
        self._effects: list[dict[str, Any]] = []
        self._running: str | None = None
        self._slot = threading.Lock()  # guards _running only; imports never hold it while they work
        self.route("PUT", IMPORT_PATH, lambda r: self._import(r, full=True))
        self.route("PATCH", IMPORT_PATH, lambda r: self._import(r, full=False))
        self.route("GET", r"/api/admin/v4/import/(?P<id>[^/]+)", self._import_status)
        self.route("GET", r"/api/admin/v4/export/catalog", self._export)
        self.route("GET", f"{ADMIN}/catalog", lambda r: Response.json(self.catalog))
        self.route("PUT", f"{ADMIN}/catalog/(?P<key>[^/]+)", self._admin_overwrite)
        self.route("DELETE", f"{ADMIN}/catalog/(?P<key>[^/]+)", lambda r: Response.json(
            {"forgotten": self.catalog.pop(unquote(r.params["key"]), None) is not None}))
        self.route("GET", f"{ADMIN}/imports", lambda r: Response.json(list(self.imports.values())))
        self.route("GET", f"{ADMIN}/effects", lambda r: Response.json(self.effects(r.arg("kind"))))
        self.route("POST", f"{ADMIN}/config", self._admin_config)
        self.route("POST", f"{ADMIN}/reset", lambda r: (self.reset(), Response.json({"reset": True}))[1])

    # --- plumbing ----------------------------------------------------------------------------------
    def error_response(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response.json({"errorCode": code, "message": message, "statusCode": status, **extra}, status)

    def api_key_of(self, req: Request) -> str | None:
        key = req.headers.get("api-key")
        return hash_value(key, "apikey")[:16] if key else None

    def dispatch(self, req: Request) -> Response:
        if not self.is_admin(req.path) and req.headers.get("api-key") not in self.api_keys:
            return self.error_response(403, "Forbidden", "Missing or invalid Api-Key.")
        return super().dispatch(req)

    def effects(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self._effects if kind is None or e["kind"] == kind]

    def reset(self) -> None:
        with self.lock:
            self.catalog, self.imports, self._effects = {}, {}, []

    # --- import ------------------------------------------------------------------------------------
    def _import(self, req: Request, full: bool) -> Response:
        ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/jsonlines":
            return self.error_response(400, "UnsupportedContentType",
                                       "Content-Type must be application/jsonlines.")
        if req.headers.get("content-encoding", "").strip().lower() != "gzip":
            return self.error_response(400, "ContentEncodingRequired",
                                       "The body must be gzip-compressed and sent with Content-Encoding: gzip.")
        try:
            text = gzip.decompress(req.body).decode("utf-8")
        except (OSError, EOFError, zlib.error):
            return self.error_response(400, "InvalidBody", "The body is not valid gzip.")
        except UnicodeDecodeError:
            return self.error_response(400, "InvalidBody", "The body is not UTF-8.")
        ops, errors = parse_operations(text, FULL_OPS if full else INCREMENTAL_OPS)
        validate_only = (req.arg("validateOnly") or "").lower() == "true"
        if not errors and validate_only:
            with self.lock:
                _, errors, stats = apply_operations(self.catalog, ops, full)
        if errors:
            return self.error_response(400, "InvalidImport", f"{len(errors)} invalid line(s); nothing imported.",
                                       errors=errors)
        if validate_only:
            return Response.json({"valid": True, "lines": len(ops), **stats})
        with self._slot:
            if self._running is not None:
                return self.error_response(409, "ImportInProgress",
                                           f"Import {self._running} is still running; one import at a time.")
            record = {"importId": str(uuid.uuid4()), "status": "queued", "type": "full" if full else "incremental",
                      "lines": len(ops), "createdAt": _now(), "finishedAt": None, "errors": []}
            self.imports[record["importId"]] = record
            self._running = record["importId"]
        done = threading.Event()
        threading.Thread(target=self._process, args=(record, ops, full, done), daemon=True,
                         name=f"elevate-import-{record['importId'][:8]}").start()
        if not done.wait(self.import_blocking_seconds):
            return Response.json({**self._public(record), "href": f"/api/admin/v4/import/{record['importId']}"},
                                 202)
        if record["status"] == "failed":
            return self.error_response(400, "ImportFailed", "The import failed; the catalog is unchanged.",
                                       importId=record["importId"], errors=record["errors"])
        return Response.json(self._public(record))

    def _process(self, record: dict[str, Any], ops: list, full: bool, done: threading.Event) -> None:
        try:
            record["status"] = "running"
            if self.import_delay_seconds:
                time.sleep(self.import_delay_seconds)
            with self.lock:
                new, errors, stats = apply_operations(self.catalog, ops, full)
                if self.fail_next_import:
                    errors.append({"line": 0, "reason": self.fail_next_import})
                    self.fail_next_import = None
                if errors:
                    record.update(status="failed", errors=errors)
                else:
                    self.catalog = new
                    record.update(status="succeeded", **stats)
                    self._effects.append({"kind": "catalog_import", "key": record["importId"], "at": _now(),
                                          "type": record["type"], **stats})
        except Exception as exc:  # a sandbox bug must surface as a failed import, not a stuck slot
            record.update(status="failed", errors=[{"line": 0, "reason": f"{type(exc).__name__}: {exc}"}])
        finally:
            record["finishedAt"] = _now()
            with self._slot:
                self._running = None
            done.set()

    @staticmethod
    def _public(record: dict[str, Any]) -> dict[str, Any]:
        return copy.deepcopy(record)

    def _import_status(self, req: Request) -> Response:
        record = self.imports.get(req.params["id"])
        if record is None:
            return self.error_response(404, "ImportNotFound", f"No import {req.params['id']!r}.")
        return Response.json(self._public(record))

    # --- export ------------------------------------------------------------------------------------
    def _export(self, req: Request) -> Response:
        types = {t.strip().upper() for v in req.args("types") for t in v.split(",") if t.strip()}
        wanted = {k.strip() for v in req.args("productGroupKeys") for k in v.split(",") if k.strip()}
        try:
            limit = int(req.arg("limit") or 0)
        except ValueError:
            return self.error_response(400, "InvalidRequest", "limit must be an integer")
        with self.lock:
            keys = sorted(k for k in self.catalog if not wanted or k in wanted)
            if types and "PRODUCT_GROUPS" not in types:
                keys = []
            if limit > 0:
                keys = keys[:limit]
            lines = [json.dumps({"key": k, "productGroup": self.catalog[k]}, separators=(",", ":")) for k in keys]
        body = ("\n".join(lines) + ("\n" if lines else "")).encode("utf-8")
        return Response.raw(body, content_type="application/jsonlines; charset=utf-8")

    def _admin_overwrite(self, req: Request) -> Response:
        """Replace a product group as it is held (how tests corrupt what Elevate holds)."""
        key = unquote(req.params["key"])
        with self.lock:
            self.catalog[key] = req.json()
        return Response.json({"overwritten": key})

    def _admin_config(self, req: Request) -> Response:
        body = req.json() or {}
        for name in ("import_delay_seconds", "import_blocking_seconds"):
            if name in body:
                setattr(self, name, float(body[name]))
        if "fail_next_import" in body:
            self.fail_next_import = body["fail_next_import"] or None
        return Response.json({"import_delay_seconds": self.import_delay_seconds,
                              "import_blocking_seconds": self.import_blocking_seconds})
