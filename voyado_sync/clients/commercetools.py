"""Commercetools HTTP API client: OAuth2 client credentials, id-cursor paging, bounded retries.

Facts it relies on (shared/reference/commercetools-api.md):
* tokens come from ``POST {auth_url}/oauth/token`` with Basic auth; they live ``expires_in`` seconds;
* large result sets are read with ``sort=id asc``, ``limit=500``, ``withTotal=false`` and an ``id > :lastId``
  predicate (§2.3). ``offset`` stops at 10 000 and gets slower with depth, so this client never sends it
  when iterating;
* ``total`` is capped at 10 000 whenever a ``where`` is used, so `count` reports the cap as-is and callers
  that need an exact count split their window (see ``voyado_sync.extract.windows``);
* error bodies are ``{statusCode, message, errors: [{code, ...}]}`` (auth errors add ``error``) and every
  response carries ``X-Correlation-ID``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from voyado_sync.clients.http import (DEFAULT_RETRY, SINGLE_ATTEMPT, USER_AGENT, ApiError, AuthError, ConflictError,
                                      RequestStats, RetryPolicy, TransientError, decode_json, send)

MAX_PAGE_SIZE = 500
# Refresh this long before the token runs out (capped to a fraction of short test lifetimes).
TOKEN_REFRESH_MARGIN_S = 300.0

Params = Sequence[tuple[str, Any]]


def error_code(body: Any) -> str | None:
    """The first error code of a Commercetools error body (``errors[0].code``, else ``error``)."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("code"):
        return str(errors[0]["code"])
    return str(body["error"]) if body.get("error") else None


def current_version_of(err: ApiError) -> int | None:
    """``currentVersion`` from a 409 ConcurrentModification body, when the API sent it."""
    body = err.body if isinstance(err.body, dict) else {}
    for item in body.get("errors") or []:
        if isinstance(item, dict) and isinstance(item.get("currentVersion"), int):
            return item["currentVersion"]
    return None


@dataclass
class _Token:
    value: str
    refresh_at: float  # time.monotonic() after which we fetch a new one


@dataclass
class _Auth:
    """The token a client and its views share (one token per API client, reused until shortly before expiry)."""

    token: _Token | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class CommercetoolsClient:
    """One project, one API client. Thread-safe: the token is shared, requests run on a pooled httpx.Client."""

    def __init__(self, api_url: str, auth_url: str, project_key: str, client_id: str, client_secret: str,
                 scopes: str = "", timeout: float = 30.0, retry: RetryPolicy = DEFAULT_RETRY,
                 transport: httpx.BaseTransport | None = None, max_connections: int = 10) -> None:
        for name, value in (("api_url", api_url), ("auth_url", auth_url), ("project_key", project_key),
                            ("client_id", client_id), ("client_secret", client_secret)):
            if not value or not str(value).strip():
                raise ValueError(f"Commercetools {name} is empty; set CTP_{name.upper()}")
        for name, value in (("api_url", api_url), ("auth_url", auth_url)):
            if not str(value).startswith(("http://", "https://")):
                raise ValueError(f"Commercetools {name}={value!r} is not an http(s) URL")
        self.api_url = api_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.project_key = project_key
        self.client_id = client_id
        self._secret = client_secret
        self.scopes = " ".join(scopes.split())
        self.retry = retry
        self.stats = RequestStats()
        self._auth = _Auth()
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    def __repr__(self) -> str:  # never the secret
        return f"CommercetoolsClient(project_key={self.project_key!r}, client_id={self.client_id!r})"

    # --- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def single_attempt(self) -> "CommercetoolsClient":
        """This client as the sync engine uses it: one attempt per call (the engine retries within its rate
        budget), sharing the token, connection pool and stats. Closing the original closes both."""
        view = copy.copy(self)
        view.retry = SINGLE_ATTEMPT
        return view

    def __enter__(self) -> "CommercetoolsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- auth ------------------------------------------------------------------------------------
    def _fetch_token(self) -> _Token:
        data = {"grant_type": "client_credentials"}
        if self.scopes:
            data["scope"] = self.scopes
        url = f"{self.auth_url}/oauth/token"

        def attempt() -> Any:
            self.stats.add(token_requests=1)
            resp = send(self._http, "POST", url, code_of=error_code, data=data, auth=(self.client_id, self._secret))
            return decode_json(resp)

        try:
            body = self.retry.call(attempt, on_retry=self._on_retry)
        except AuthError as exc:
            raise AuthError(f"Commercetools rejected the client credentials of client_id={self.client_id!r} at "
                            f"{url} ({exc.code or exc.status}); check CTP_CLIENT_ID/CTP_CLIENT_SECRET/CTP_SCOPES",
                            status=exc.status, code=exc.code, correlation_id=exc.correlation_id) from None
        except ApiError as exc:
            if exc.status in (400, 404):  # invalid_client/invalid_scope arrive as 400; a wrong URL as 404
                raise AuthError(f"Commercetools token request to {url} failed ({exc.code or exc.status}); check "
                                f"CTP_AUTH_URL, CTP_CLIENT_ID, CTP_CLIENT_SECRET and CTP_SCOPES",
                                status=exc.status, code=exc.code, correlation_id=exc.correlation_id) from None
            raise
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise AuthError(f"Commercetools token response from {url} has no access_token")
        try:
            ttl = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            ttl = 3600.0
        margin = min(TOKEN_REFRESH_MARGIN_S, ttl * 0.1)
        return _Token(body["access_token"], time.monotonic() + max(0.0, ttl - margin))

    def _bearer(self, stale: str | None = None) -> str:
        """A valid token; ``stale`` forces a refresh unless another thread already replaced that token."""
        with self._auth.lock:
            tok = self._auth.token
            if tok is None or time.monotonic() >= tok.refresh_at or (stale is not None and tok.value == stale):
                self._auth.token = tok = self._fetch_token()
            return tok.value

    # --- plumbing --------------------------------------------------------------------------------
    def _on_retry(self, exc: ApiError, attempt: int) -> None:
        self.stats.add(retries=1)

    def _url(self, path: str) -> str:
        path = path.lstrip("/")
        return f"{self.api_url}/{self.project_key}/{path}" if path else f"{self.api_url}/{self.project_key}"

    def request(self, method: str, path: str, params: Params | Mapping[str, Any] | None = None,
                json: Any = None) -> Any:
        """One API call with retries; a 401 refreshes the token once, then fails with `AuthError`."""
        url = self._url(path)
        items = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        items = [(k, _param_value(v)) for k, v in items if v is not None]
        has_offset = any(k == "offset" for k, _ in items)
        refreshed = False

        def attempt() -> Any:
            nonlocal refreshed
            token = self._bearer()
            self.stats.add(requests=1, offset_requests=int(has_offset))
            try:
                resp = send(self._http, method, url, code_of=error_code, params=items, json=json,
                            headers={"Authorization": f"Bearer {token}"})
            except AuthError as exc:
                if exc.status != 401 or refreshed:
                    raise self._auth_failure(exc, method, path) from None
                refreshed = True
                token = self._bearer(stale=token)
                self.stats.add(requests=1, offset_requests=int(has_offset))
                try:
                    resp = send(self._http, method, url, code_of=error_code, params=items, json=json,
                                headers={"Authorization": f"Bearer {token}"})
                except AuthError as again:
                    raise self._auth_failure(again, method, path) from None
            self.stats.add(bytes=len(resp.content))
            return decode_json(resp)

        return self.retry.call(attempt, on_retry=self._on_retry)

    def _auth_failure(self, exc: AuthError, method: str, path: str) -> AuthError:
        if exc.status == 403:
            what = (f"client_id={self.client_id!r} lacks the scope for {method} /{self.project_key}/"
                    f"{path.split('?')[0]} ({exc.code or 'insufficient_scope'}); grant it or fix CTP_SCOPES")
        else:
            what = (f"Commercetools refused the token of client_id={self.client_id!r} for {method} "
                    f"/{self.project_key}/{path.split('?')[0]} even after a refresh ({exc.code or exc.status})")
        return AuthError(what, status=exc.status, code=exc.code, correlation_id=exc.correlation_id, body=exc.body,
                         method=exc.method, url=exc.url)

    # --- reads -----------------------------------------------------------------------------------
    def get(self, path: str, params: Params | Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params)

    def query(self, resource: str, where: Sequence[str] = (), sort: str | Sequence[str] | None = None,
              limit: int | None = None, offset: int | None = None, with_total: bool | None = None,
              expand: Sequence[str] = (), vars: Mapping[str, Any] | None = None,
              extra: Params = ()) -> dict[str, Any]:
        """One page of ``GET /{projectKey}/{resource}`` as the PagedQueryResponse dict."""
        params: list[tuple[str, Any]] = [("where", w) for w in where]
        for s in [sort] if isinstance(sort, str) else (sort or []):
            params.append(("sort", s))
        if limit is not None:
            params.append(("limit", limit))
        if offset is not None:
            params.append(("offset", offset))
        if with_total is not None:
            params.append(("withTotal", with_total))
        params += [("expand", e) for e in expand]
        for name, value in (vars or {}).items():
            for v in value if isinstance(value, (list, tuple, set)) else [value]:
                params.append((f"var.{name}", v))
        params += list(extra)
        body = self.get(resource, params)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise TransientError(f"GET /{self.project_key}/{resource}: response is not a paged query response")
        self.stats.add(pages=1)
        return body

    def iter_pages(self, resource: str, where: Sequence[str] = (), expand: Sequence[str] = (),
                   page_size: int = MAX_PAGE_SIZE, vars: Mapping[str, Any] | None = None,
                   extra: Params = ()) -> Iterator[list[dict[str, Any]]]:
        """All matching documents, one page at a time, by id cursor (reference §2.3; never ``offset``).

        Stops on the first page shorter than ``page_size``; documents that stop matching while we read
        (e.g. modified out of a ``lastModifiedAt`` window) are simply not seen, none is seen twice."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
        if vars and "lastId" in vars:
            raise ValueError("the variable name 'lastId' is reserved for the id cursor")
        last_id: str | None = None
        while True:
            predicates = list(where)
            page_vars = dict(vars or {})
            if last_id is not None:
                predicates.append("id > :lastId")
                page_vars["lastId"] = last_id
            body = self.query(resource, where=predicates, sort="id asc", limit=page_size, with_total=False,
                              expand=expand, vars=page_vars, extra=extra)
            results = body["results"]
            if results:
                yield results
            if len(results) < page_size:
                return
            new_last = results[-1].get("id") if isinstance(results[-1], dict) else None
            if not isinstance(new_last, str) or (last_id is not None and new_last <= last_id):
                raise TransientError(f"GET /{self.project_key}/{resource}: id cursor did not advance "
                                     f"(last id {new_last!r}); refusing to loop")
            last_id = new_last

    def iter_documents(self, resource: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(resource, **kwargs):
            yield from page

    def count(self, resource: str, where: Sequence[str] = (), vars: Mapping[str, Any] | None = None) -> int:
        """``total`` for the predicates (limit=0, withTotal=true). Capped at 10 000 by the API when ``where``
        is used: treat 10 000 as "at least"."""
        body = self.query(resource, where=where, limit=0, with_total=True, vars=vars)
        total = body.get("total")
        if not isinstance(total, int):
            raise TransientError(f"GET /{self.project_key}/{resource}: count response has no integer total")
        return total

    def get_by_id(self, resource: str, id: str, expand: Sequence[str] = ()) -> dict[str, Any]:
        return self.get(f"{resource}/{id}", [("expand", e) for e in expand])

    def get_by_key(self, resource: str, key: str, expand: Sequence[str] = ()) -> dict[str, Any]:
        return self.get(f"{resource}/key={key}", [("expand", e) for e in expand])

    def order_by_number(self, order_number: str, expand: Sequence[str] = ()) -> dict[str, Any]:
        return self.get(f"orders/order-number={order_number}", [("expand", e) for e in expand])

    def project(self) -> dict[str, Any]:
        """The Project (needs ``view_project_settings``): ``messages.enabled`` lives here."""
        return self.request("GET", "")

    def messages(self, where: Sequence[str] = (), sort: Sequence[str] = ("createdAt asc", "id asc"),
                 limit: int = MAX_PAGE_SIZE, vars: Mapping[str, Any] | None = None,
                 with_total: bool = False) -> dict[str, Any]:
        """One page of the Messages API (``view_messages``)."""
        return self.query("messages", where=where, sort=list(sort), limit=limit, with_total=with_total, vars=vars)

    # --- writes ----------------------------------------------------------------------------------
    def update(self, resource: str, id: str, version: int, actions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.request("POST", f"{resource}/{id}", json={"version": version, "actions": list(actions)})

    def update_customer(self, id: str, version: int, actions: Sequence[Mapping[str, Any]] | Callable[[dict], list],
                        max_conflicts: int = 3) -> dict[str, Any]:
        """Update with optimistic concurrency; on 409 re-read and retry at most ``max_conflicts`` times.

        Only safe for idempotent ``set*`` actions, or pass a function that re-derives the actions from the
        re-read customer (it may return [] to give up because the change is no longer needed)."""
        derive = actions if callable(actions) else None
        current_actions = list(actions) if derive is None else None
        customer: dict[str, Any] | None = None
        if derive is not None:
            customer = self.get_by_id("customers", id)
            version = _version_of(customer, version)
            current_actions = derive(customer)
        for conflict in range(max_conflicts + 1):
            if not current_actions:
                return customer if customer is not None else self.get_by_id("customers", id)
            try:
                return self.update("customers", id, version, current_actions)
            except ConflictError as exc:
                if conflict == max_conflicts:
                    raise
                customer = self.get_by_id("customers", id)
                version = _version_of(customer, current_version_of(exc) or version)
                if derive is not None:
                    current_actions = derive(customer)
        raise AssertionError("unreachable")

    def create_type(self, draft: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "types", json=dict(draft))

    def update_type(self, id_or_key: str, version: int, actions: Sequence[Mapping[str, Any]],
                    by_key: bool = False) -> dict[str, Any]:
        path = f"types/key={id_or_key}" if by_key else f"types/{id_or_key}"
        return self.request("POST", path, json={"version": version, "actions": list(actions)})


def _version_of(doc: Any, fallback: int) -> int:
    version = doc.get("version") if isinstance(doc, dict) else None
    return version if isinstance(version, int) and not isinstance(version, bool) else fallback


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
