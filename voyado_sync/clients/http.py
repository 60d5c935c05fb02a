"""What every API client (Commercetools, Voyado Engage, Voyado Elevate) shares: typed errors, one retry
policy and one request tally.

Retry the transient, never the permanent: 429, 502, 503, 504, timeouts, connection errors and a body
that is not the JSON it claims to be (a proxy cut it) are retried with exponential backoff and jitter,
honouring ``Retry-After``, within a bounded number of attempts *and* a bounded total time. Everything
else (400, 401, 403, 404, 409, 500 on a write...) surfaces immediately as an `ApiError` carrying status,
error code and correlation id, so callers can dead-letter it with a reason.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Callable, TypeVar

import httpx
import msgspec
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from voyado_sync import __version__

USER_AGENT = f"voyado_sync/{__version__}"
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
# The gateway turned the request away before handing it on: nothing was processed.
REFUSED_STATUS = frozenset({429, 503})
# Raised before a single byte of the request was written: no connection was ever made (ConnectTimeout
# and PoolTimeout are TimeoutExceptions, not ConnectErrors, hence all three).
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

T = TypeVar("T")


class ApiError(Exception):
    """An API answered with an error, or could not be reached. Never a bare KeyError/JSONDecodeError."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 correlation_id: str | None = None, body: Any = None, retry_after: float | None = None,
                 method: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.body = body
        self.retry_after = retry_after
        self.method = method
        self.url = url

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.correlation_id:
            parts.append(f"correlation_id={self.correlation_id}")
        return " ".join(parts)


class TransientError(ApiError):
    """Network failure, timeout, 429/502/503/504 or a garbled body: safe to retry."""


class AuthError(ApiError):
    """401/403 or rejected credentials: retrying cannot help, stop the run with one clear message."""


class NotFoundError(ApiError):
    pass


class ConflictError(ApiError):
    """409: ConcurrentModification (Commercetools) or MultipleMatches (Voyado)."""


class ValidationError(ApiError):
    """400/422: the request itself is wrong; dead-letter it."""


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(response: httpx.Response, code_of: Callable[[Any], str | None]) -> ApiError:
    """Build the typed error for a non-2xx response; ``code_of`` extracts the API's error code."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text[:2000]
    try:
        code = code_of(body)
    except Exception:  # an unexpected error body must not hide the real status
        code = None
    status = response.status_code
    kwargs = dict(status=status, code=code, body=body,
                  correlation_id=response.headers.get("X-Correlation-ID"),
                  retry_after=_retry_after_seconds(response), method=response.request.method,
                  url=str(response.request.url.copy_with(query=None)))
    message = f"{response.request.method} {kwargs['url']} failed"
    if status in RETRYABLE_STATUS:
        return TransientError(message, **kwargs)
    if status in (401, 403):
        return AuthError(message, **kwargs)
    if status == 404:
        return NotFoundError(message, **kwargs)
    if status == 409:
        return ConflictError(message, **kwargs)
    if status in (400, 413, 422):
        return ValidationError(message, **kwargs)
    return ApiError(message, **kwargs)


def proves_not_processed(exc: TransientError) -> bool:
    """True when the transient failure proves the request was not processed, so even a write without
    server-side de-duplication may be sent again. A reset, a read timeout or a 502/504 proves nothing:
    the request may have landed."""
    return exc.status in REFUSED_STATUS or isinstance(exc.__cause__, _UNSENT)


_DECODE = msgspec.json.Decoder()


def decode_json(response: httpx.Response, *, exact: bool = False) -> Any:
    """A 2xx whose body is not valid JSON was cut in transit: report it as transient, with the reason.

    ``exact``: numbers with a fraction become `Decimal` (money read back to the cent), never float.
    Otherwise msgspec decodes it (the values `json.loads` gives, at twice the speed: a page of orders is
    megabytes); what msgspec refuses (a cut body, NaN, a number beyond float range) goes to
    ``response.json()``, which decodes or explains it as before."""
    if not response.content:
        return None
    if not exact:
        try:
            return _DECODE.decode(response.content)
        except msgspec.DecodeError:
            pass
    try:
        return json.loads(response.content, parse_float=Decimal) if exact else response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TransientError(f"malformed JSON body from {response.request.method} "
                             f"{response.request.url.copy_with(query=None)}: {exc}",
                             status=response.status_code,
                             correlation_id=response.headers.get("X-Correlation-ID")) from exc


def transport_error(exc: httpx.HTTPError, request: httpx.Request | None = None) -> TransientError:
    where = f"{request.method} {request.url.copy_with(query=None)}" if request is not None else "request"
    return TransientError(f"{where}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` tries and ``max_total_seconds`` of waiting overall."""

    max_attempts: int = 6
    max_total_seconds: float = 60.0
    initial_backoff: float = 0.2
    max_backoff: float = 10.0

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = min(self.max_backoff, self.initial_backoff * (2 ** (state.attempt_number - 1)))
        backoff *= random.uniform(0.5, 1.0)
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            # The server told us when; waiting less only burns budget, more is harmless.
            backoff = max(backoff, exc.retry_after)
        remaining = self.max_total_seconds - (time.monotonic() - state.start_time)
        return max(0.0, min(backoff, remaining))

    def call(self, fn: Callable[[], T], on_retry: Callable[[ApiError, int], None] | None = None) -> T:
        def before_sleep(state: RetryCallState) -> None:
            if on_retry is not None and state.outcome is not None:
                on_retry(state.outcome.exception(), state.attempt_number)  # type: ignore[arg-type]

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
            stop=stop_after_attempt(self.max_attempts) | stop_after_delay(self.max_total_seconds),
            wait=self.wait,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)


# For callers that own the retrying themselves (the sync engine: every attempt draws from the API key's
# shared budget, is counted in the ledger, and an at-most-once write is never repeated by a lower layer).
SINGLE_ATTEMPT = RetryPolicy(max_attempts=1, max_total_seconds=0.0)
DEFAULT_RETRY = RetryPolicy()


@dataclass
class RequestStats:
    """What a client cost: API requests (retries included, token requests apart), retries, pages, bytes.
    Thread-safe to `add` to; `snapshot` and `since` give a caller the cost of its own stretch of work."""

    requests: int = 0
    pages: int = 0
    bytes: int = 0
    token_requests: int = 0
    retries: int = 0
    offset_requests: int = 0  # requests that carried an ``offset`` parameter; id-cursor paging never does

    def __post_init__(self) -> None:
        self._lock = threading.Lock()  # not a field: copies and differences get their own

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    def snapshot(self) -> "RequestStats":
        return RequestStats(**self.as_dict())

    def since(self, before: "RequestStats") -> "RequestStats":
        return RequestStats(**{f.name: getattr(self, f.name) - getattr(before, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def send(client: httpx.Client, method: str, url: str, *, code_of: Callable[[Any], str | None],
         **kwargs: Any) -> httpx.Response:
    """One attempt: returns a 2xx response or raises the typed error (transport errors → transient).

    The status line is read before the body, so a connection that breaks while the body arrives raises a
    `TransientError` carrying the status: a 2xx there says the request was processed, only its answer
    was cut (a caller may count it as done instead of sending it again)."""
    request = None
    auth = kwargs.pop("auth", httpx.USE_CLIENT_DEFAULT)  # a send() option, not part of the request
    try:
        request = client.build_request(method, url, **kwargs)
        response = client.send(request, stream=True, auth=auth)
    except httpx.HTTPError as exc:
        raise transport_error(exc, request) from exc
    try:
        response.read()
    except httpx.HTTPError as exc:
        raise TransientError(f"{method} {request.url.copy_with(query=None)}: the answer was cut: "
                             f"{type(exc).__name__}: {exc}", status=response.status_code,
                             correlation_id=response.headers.get("X-Correlation-ID")) from exc
    finally:
        response.close()
    if response.is_success:
        return response
    raise error_from_response(response, code_of)
