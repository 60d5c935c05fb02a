"""OAuth2 client credentials and scope checks of the Commercetools sandbox (reference §1.2, §6).

Token expiry runs on the monotonic clock, not on the sandbox's (overridable) business clock: tests that
freeze ``app.clock`` to a past day must still be able to expire a 2-second token.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass

# Which scopes (any one of them) allow reading / writing a resource [RAML]. ``manage_project`` allows all.
READ_SCOPES: dict[str, tuple[str, ...]] = {
    "customers": ("view_customers", "manage_customers"),
    "orders": ("view_orders", "manage_orders"),
    "carts": ("view_orders", "manage_orders"),
    "product-projections": ("view_products", "manage_products", "view_published_products"),
    "categories": ("view_categories", "manage_categories", "view_products", "manage_products"),
    "inventory": ("view_products", "manage_products"),
    "payments": ("view_payments", "manage_payments"),
    "stores": ("view_stores", "manage_stores"),
    "channels": ("view_channels", "manage_channels", "view_products", "manage_products"),
    "types": ("view_types", "manage_types"),
    "customer-groups": ("view_customer_groups", "manage_customer_groups", "view_customers", "manage_customers"),
    # view_orders is listed in the RAML as a deprecated alternative for messages; it still works.
    "messages": ("view_messages", "view_orders"),
    "project": ("view_project_settings", "manage_project_settings"),
}
WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    "customers": ("manage_customers",),
    "types": ("manage_types",),
}
STAGED_PRODUCT_SCOPES = ("view_products", "manage_products")

READER_PERMISSIONS = ("view_customers", "view_orders", "view_products", "view_categories", "view_payments",
                      "view_stores", "view_channels", "view_messages", "view_types", "view_customer_groups",
                      "view_project_settings")


def default_clients(project_key: str) -> dict[str, tuple[str, str]]:
    return {
        "sandbox-client": ("sandbox-secret", f"manage_project:{project_key}"),
        "sandbox-reader": ("reader-secret", " ".join(f"{p}:{project_key}" for p in READER_PERMISSIONS)),
    }


@dataclass
class Token:
    client_id: str
    scopes: frozenset[str]
    expires_at: float  # time.monotonic()


class AuthFailure(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class Authority:
    def __init__(self, project_key: str, clients: dict[str, tuple[str, str]], token_ttl_seconds: float) -> None:
        self.project_key = project_key
        self.clients = clients
        self.token_ttl_seconds = token_ttl_seconds
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def grants(self, scopes: frozenset[str], permissions: tuple[str, ...], store: str | None = None) -> bool:
        """Project-wide scopes always count; store-scoped ones (``view_orders:{pk}:{store}``) only in-store."""
        pk = self.project_key
        if f"manage_project:{pk}" in scopes or any(f"{p}:{pk}" in scopes for p in permissions):
            return True
        return store is not None and any(f"{p}:{pk}:{store}" in scopes for p in permissions)

    def _implied(self, client_scopes: frozenset[str], wanted: str) -> bool:
        """A client may ask for any scope its own scopes cover (``manage_project`` covers the project)."""
        if wanted in client_scopes:
            return True
        permission, _, rest = wanted.partition(":")
        project, _, store = rest.partition(":")
        if store and f"{permission}:{project}" in client_scopes:  # a project scope covers its store-scoped form
            return True
        return project == self.project_key and f"manage_project:{project}" in client_scopes and bool(permission)

    def issue(self, authorization: str | None, grant_type: str | None, scope: str | None) -> tuple[str, Token]:
        client_id, secret = _basic(authorization)
        known = self.clients.get(client_id or "")
        if known is None or not secrets.compare_digest(known[0], secret or ""):
            raise AuthFailure(401, "invalid_client",
                              "Please provide valid client credentials using HTTP Basic Authentication.")
        if not grant_type:
            raise AuthFailure(400, "invalid_request", "Missing required parameter: grant_type.")
        if grant_type != "client_credentials":
            raise AuthFailure(400, "unsupported_grant_type", f"Unsupported grant type '{grant_type}'.")
        client_scopes = frozenset(known[1].split())
        if scope:
            wanted = frozenset(scope.split())
            denied = sorted(s for s in wanted if not self._implied(client_scopes, s))
            if denied:
                raise AuthFailure(400, "invalid_scope", f"Invalid scope: {' '.join(denied)}")
            granted = wanted
        else:
            granted = client_scopes
        value = secrets.token_urlsafe(24)
        token = Token(client_id or "", granted, time.monotonic() + self.token_ttl_seconds)
        with self._lock:
            now = time.monotonic()
            if len(self._tokens) > 10_000:  # keep memory bounded in long chaos runs
                self._tokens = {k: t for k, t in self._tokens.items() if t.expires_at > now}
            self._tokens[value] = token
            self.issued += 1
        return value, token

    def authenticate(self, authorization: str | None) -> Token:
        """The token's grant, or AuthFailure(401 invalid_token) when missing, unknown or expired."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise AuthFailure(401, "invalid_token", "invalid_token")
        with self._lock:
            token = self._tokens.get(authorization[7:].strip())
        if token is None or token.expires_at <= time.monotonic():
            raise AuthFailure(401, "invalid_token", "invalid_token")
        return token

    def expire_all(self) -> int:
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
        return n


def _basic(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)
