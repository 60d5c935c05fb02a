"""The loopback HTTP server every sandbox (Commercetools, Voyado Engage, Voyado Elevate) runs on.

Real sockets, real HTTP/1.1 keep-alive, so the production clients (httpx, pooling, timeouts, retries)
are exercised exactly as they would be against the real APIs. Each sandbox is a `SandboxApp`: a
route table plus state. This module owns what is common to all of them:

* routing by method + regex on the path, with JSON helpers;
* seeded fault injection per endpoint (429 + Retry-After, 5xx, slow responses, connection reset mid-body,
  connection dropped before the answer, truncated JSON) configured over HTTP at ``/__admin/faults``;
* fixed latency, and a request log readable at ``/__admin/requests`` so tests can count effects.

Faults of kind 429/5xx are decided *before* the handler runs (no side effect, like a gateway refusing
the request). ``slow``, ``reset``, ``drop`` and ``truncate`` are applied *after* the handler ran: the
effect happened but the client never sees a clean answer — the case that proves idempotency. ``reset``
and ``truncate`` still deliver the status line (a client that reads it knows the request was processed);
``drop`` resets the connection before the first byte of the answer, so nobody can know.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

ADMIN_PREFIX = "/__admin"
FAULT_KINDS = ("429", "500", "502", "503", "504", "slow", "reset", "drop", "truncate")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups from the route regex

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def json(self) -> Any:
        """Parse the body; raises `BadJson` with the parser's reason so apps can answer 400."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadJson(str(exc)) from exc


class BadJson(Exception):
    pass


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Response":
        data = json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")
        return cls(status, data, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    @classmethod
    def raw(cls, data: bytes, status: int = 200, content_type: str = "application/octet-stream",
            headers: dict[str, str] | None = None) -> "Response":
        return cls(status, data, {"Content-Type": content_type, **(headers or {})})


Handler = Callable[[Request], Response]


@dataclass
class FaultRule:
    """Probabilities per fault kind for requests whose ``METHOD path`` matches ``pattern``."""

    pattern: str = ".*"
    probabilities: dict[str, float] = field(default_factory=dict)
    retry_after: float = 1.0
    slow_seconds: float = 5.0

    def __post_init__(self) -> None:
        unknown = set(self.probabilities) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {FAULT_KINDS}")
        if sum(self.probabilities.values()) > 1.0 + 1e-9:
            raise ValueError("fault probabilities of one rule must sum to <= 1")
        self._regex = re.compile(self.pattern)

    def matches(self, method: str, path: str) -> bool:
        return bool(self._regex.search(f"{method} {path}"))


class FaultPlan:
    """Seeded, thread-safe fault decisions, so a chaos run is reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self.configure(seed=seed, rules=[], latency_ms=0.0)

    def configure(self, seed: int, rules: list[FaultRule], latency_ms: float = 0.0) -> None:
        with self._lock:
            self._rng = random.Random(seed)
            self.rules = rules
            self.latency_ms = latency_ms
            self.injected: dict[str, int] = {}

    def decide(self, method: str, path: str) -> tuple[str | None, FaultRule | None]:
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, path):
                    continue
                roll = self._rng.random()
                acc = 0.0
                for kind, p in rule.probabilities.items():
                    acc += p
                    if roll < acc:
                        self.injected[kind] = self.injected.get(kind, 0) + 1
                        return kind, rule
                return None, rule
            return None, None

    def describe(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "rules": [{"pattern": r.pattern, "probabilities": r.probabilities, "retry_after": r.retry_after,
                       "slow_seconds": r.slow_seconds} for r in self.rules],
            "injected": dict(self.injected),
        }


@dataclass
class LoggedRequest:
    seq: int
    ts: float
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    fault: str | None
    api_key: str | None
    duration_ms: float
    subject: str | None = None  # what the request is about (e.g. a receipt id), see SandboxApp.subject_of

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class SandboxApp:
    """Base class: subclasses register routes in ``__init__`` and keep their own state."""

    name = "sandbox"

    def __init__(self, seed: int = 0, log_size: int = 1_000_000) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults = FaultPlan(seed)
        self.lock = threading.RLock()  # guards the app's state; handlers run on many threads
        self.log: deque[LoggedRequest] = deque(maxlen=log_size)
        self._seq = 0
        self._log_lock = threading.Lock()
        self.route("POST", f"{ADMIN_PREFIX}/faults", self._admin_set_faults)
        self.route("GET", f"{ADMIN_PREFIX}/faults", lambda r: Response.json(self.faults.describe()))
        self.route("GET", f"{ADMIN_PREFIX}/requests", self._admin_requests)
        self.route("DELETE", f"{ADMIN_PREFIX}/requests", self._admin_clear_requests)

    # --- routing -----------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` is a regex matched against the whole path; named groups become ``req.params``."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def dispatch(self, req: Request) -> Response:
        allowed = False
        for method, regex, handler in self.routes:
            m = regex.match(req.path)
            if not m:
                continue
            allowed = True
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                continue
            req.params = {k: v for k, v in m.groupdict().items() if v is not None}
            try:
                return handler(req)
            except BadJson as exc:
                return self.malformed_json(str(exc))
        if allowed:
            return self.error_response(405, "MethodNotAllowed", f"{req.method} not allowed on {req.path}")
        return self.error_response(404, "ResourceNotFound", f"No route for {req.method} {req.path}")

    # --- hooks subclasses override to speak their API's error dialect ---------------------------
    def error_response(self, status: int, code: str, message: str, **extra: Any) -> Response:
        return Response.json({"statusCode": status, "message": message,
                              "errors": [{"code": code, "message": message, **extra}]}, status)

    def malformed_json(self, reason: str) -> Response:
        return self.error_response(400, "InvalidJsonInput", "Request body does not contain valid JSON.",
                                   detailedErrorMessage=reason)

    def api_key_of(self, req: Request) -> str | None:
        """Identity used for rate limiting and logging (never the raw secret in the log)."""
        return None

    def subject_of(self, req: Request) -> str | None:
        """The business key a write carries, logged with every attempt whatever its answer (a refused or
        faulted resend too), so a test can count the requests per key."""
        return None

    def is_admin(self, path: str) -> bool:
        return path.startswith(ADMIN_PREFIX)

    # --- admin ---------------------------------------------------------------------------------
    def _admin_set_faults(self, req: Request) -> Response:
        body = req.json() or {}
        try:
            rules = [FaultRule(**r) for r in body.get("rules", [])]
        except (TypeError, ValueError) as exc:
            return self.error_response(400, "InvalidInput", str(exc))
        self.faults.configure(int(body.get("seed", 0)), rules, float(body.get("latency_ms", 0.0)))
        return Response.json(self.faults.describe())

    def _admin_requests(self, req: Request) -> Response:
        since = int(req.arg("since", "0") or 0)
        with self._log_lock:
            rows = [r.as_dict() for r in self.log if r.seq > since]
        return Response.json({"count": len(rows), "results": rows})

    def _admin_clear_requests(self, req: Request) -> Response:
        with self._log_lock:
            self.log.clear()
        return Response.json({"cleared": True})

    def record(self, req: Request, status: int, fault: str | None, started: float) -> None:
        with self._log_lock:
            self._seq += 1
            self.log.append(LoggedRequest(self._seq, time.time(), req.method, req.path, req.query, status,
                                          fault, self.api_key_of(req), (time.perf_counter() - started) * 1000,
                                          self.subject_of(req)))

    def requests(self, *, admin: bool = False) -> list[LoggedRequest]:
        """Snapshot of the request log (in-process access for tests and benchmarks)."""
        with self._log_lock:
            return [r for r in self.log if admin or not self.is_admin(r.path)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each keep-alive request waits ~40 ms for the
    # client's delayed ACK.
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the app keeps its own structured request log

    def _serve(self) -> None:
        app = self.server.app
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                      {k.lower(): v for k, v in self.headers.items()}, body)
        fault, rule = (None, None)
        if not app.is_admin(req.path):
            fault, rule = app.faults.decide(req.method, req.path)
            if app.faults.latency_ms:
                time.sleep(app.faults.latency_ms / 1000)
        if fault in ("429", "500", "502", "503", "504"):
            status = int(fault)
            headers = {"Retry-After": f"{rule.retry_after:g}"} if status == 429 else {}
            code = {429: "TooManyRequests", 500: "General", 502: "BadGateway", 503: "OverCapacity",
                    504: "GatewayTimeout"}[status]
            resp = app.error_response(status, code, f"Injected fault {status}")
            resp.headers.update(headers)
        else:
            try:
                resp = app.dispatch(req)
            except Exception as exc:  # a sandbox bug must show as a 500, not a hung socket
                resp = app.error_response(500, "General", f"sandbox error: {type(exc).__name__}: {exc}")
        app.record(req, resp.status, fault, started)
        resp.headers.setdefault("X-Correlation-ID", req.headers.get("x-correlation-id") or f"sandbox-{uuid.uuid4()}")
        if fault == "slow":
            time.sleep(rule.slow_seconds)
        payload = b"" if req.method == "HEAD" else resp.body
        if fault == "truncate" and len(payload) > 2:
            payload = payload[: len(payload) // 2]
            self._send(resp.status, resp.headers, payload, len(payload))
            return
        if fault in ("reset", "drop"):
            if fault == "reset":
                self._send(resp.status, resp.headers, payload[: len(payload) // 2], len(payload))
                self.wfile.flush()
            # SO_LINGER 0 turns close() into a TCP RST: the client sees a reset, not a clean EOF.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self._send(resp.status, resp.headers, payload, len(resp.body))

    def _send(self, status: int, headers: dict[str, str], payload: bytes, length: int) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        super().__init__(addr, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or are killed mid-request are part of the chaos tests, not sandbox bugs.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class SandboxServer:
    """Runs a `SandboxApp` on a loopback port in a background thread (``port=0`` picks a free one)."""

    def __init__(self, app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = _Server((host, port), app)
        # A short poll interval keeps stop() fast for suites that start a server per test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{app.name}-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TokenBucket:
    """Rate limiter used by sandboxes to answer 429 like an API key's budget would."""

    def __init__(self, rate_per_s: float, burst: float | None = None) -> None:
        self.rate = rate_per_s
        self.capacity = burst if burst is not None else max(1.0, rate_per_s)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def try_take(self) -> tuple[bool, float]:
        """Returns (allowed, seconds until a token is available)."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, 0.0
            return False, (1 - self.tokens) / self.rate
