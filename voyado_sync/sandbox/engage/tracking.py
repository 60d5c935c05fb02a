"""Engage cart tracking for abandoned-cart automations (reference §8).

``POST /api/v2/tracking/carts`` (one cart) and ``/carts/batch`` (array). Only the latest update per
``cartReference`` by ``time`` is kept: an update older than the stored one is accepted but changes
nothing (and records no effect). ``cartReference`` is required (it is the cart's identity), ``time``
must be ISO-8601, ``items`` an array of ``{sku: str, quantity: int}``; an empty ``items`` is the
"cart emptied" signal.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable

from voyado_sync.sandbox.engage.errors import EngageError, bad_request, is_int, iso, parse_datetime
from voyado_sync.sandbox.http import Request, Response

if TYPE_CHECKING:
    from voyado_sync.sandbox.engage.app import EngageSandbox

MAX_BATCH = 1000


def _cart_errors(cart: Any, where: str) -> list[str]:
    if not isinstance(cart, dict):
        return [f"{where} must be an object"]
    errors = []
    if not isinstance(cart.get("cartReference"), str) or not cart["cartReference"].strip():
        errors.append(f"{where}.cartReference is required")
    if cart.get("time") is not None:
        try:
            parse_datetime(cart["time"], f"{where}.time")
        except EngageError as exc:
            errors.append(exc.message)
    items = cart.get("items", [])
    if not isinstance(items, list):
        errors.append(f"{where}.items must be an array")
    else:
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("sku"), str) or not is_int(item.get("quantity")):
                errors.append(f"{where}.items[{i}] must be {{sku: string, quantity: integer}}")
    return errors


class Tracking:
    def __init__(self, app: "EngageSandbox") -> None:
        self.app = app
        self.carts: dict[str, dict[str, Any]] = {}

    def register(self, route: Callable[[str, str, Callable[[Request], Response]], None]) -> None:
        route("POST", r"/api/v2/tracking/carts", self._one)
        route("POST", r"/api/v2/tracking/carts/batch", self._batch)

    def _accept(self, carts: list[Any]) -> Response:
        errors = [e for i, c in enumerate(carts) for e in _cart_errors(c, f"carts[{i}]")]
        if errors:
            raise bad_request("InvalidCart", errors[0], errors=errors)
        now = self.app.now()
        for cart in carts:
            ref = cart["cartReference"]
            when = parse_datetime(cart["time"], "time") if cart.get("time") else now
            current = self.carts.get(ref)
            if current is not None and parse_datetime(current["time"], "time") > when:
                continue  # an older update arriving late does not overwrite the newer cart
            self.carts[ref] = {**copy.deepcopy(cart), "time": iso(when), "receivedAt": iso(now)}
            self.app.effect("cart", ref, items=len(cart.get("items") or []))
        return Response.json({"status": "OK"})

    def _one(self, req: Request) -> Response:
        return self._accept([req.json()])

    def _batch(self, req: Request) -> Response:
        carts = req.json()
        if not isinstance(carts, list) or not carts:
            raise bad_request("InvalidRequest", "The body must be a non-empty JSON array of carts.")
        if len(carts) > MAX_BATCH:
            raise bad_request("TooManyCarts", f"At most {MAX_BATCH} carts per batch.")
        return self._accept(carts)
