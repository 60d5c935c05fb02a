"""The shared sandbox server and retry policy, through real sockets."""

import socket
import time

import httpx
import pytest

from voyado_sync.clients.http import (ApiError, AuthError, RetryPolicy, TransientError, ValidationError, decode_json,
                                      proves_not_processed, send)
from voyado_sync.sandbox.http import FaultRule, Response, SandboxApp, SandboxServer


class CounterApp(SandboxApp):
    name = "counter"

    def __init__(self) -> None:
        super().__init__(seed=7)
        self.effects = 0
        self.route("POST", "/count", self._count)
        self.route("GET", "/status/(?P<code>\\d+)", lambda r: self.error_response(int(r.params["code"]), "X", "x"))

    def _count(self, req):
        with self.lock:
            self.effects += 1
            return Response.json({"effects": self.effects, "padding": "x" * 200})


@pytest.fixture
def server():
    with SandboxServer(CounterApp()) as srv:
        yield srv


def _post(client: httpx.Client) -> dict:
    return decode_json(send(client, "POST", "/count", code_of=lambda b: b["errors"][0]["code"]))


@pytest.mark.parametrize("kind", ["429", "502", "503", "504", "reset", "truncate"])
def test_each_transient_fault_is_retried_to_success(server, kind):
    app = server.app
    app.faults.configure(seed=3, rules=[FaultRule(pattern="POST /count", probabilities={kind: 0.5},
                                                  retry_after=0.01)])
    policy = RetryPolicy(max_attempts=20, max_total_seconds=20, initial_backoff=0.001, max_backoff=0.01)
    retried = []
    with httpx.Client(base_url=server.url, timeout=2) as client:
        for _ in range(10):
            policy.call(lambda: _post(client), on_retry=lambda e, n: retried.append(e))
    assert app.faults.injected.get(kind, 0) > 0
    assert len(retried) >= app.faults.injected[kind]
    assert all(isinstance(e, TransientError) for e in retried)
    # 429/5xx are refused before the handler: no effect; reset/truncate happen after it ran.
    expected = 10 + (app.faults.injected[kind] if kind in ("reset", "truncate") else 0)
    assert app.effects == expected


def test_slow_response_times_out_and_is_retried(server):
    server.app.faults.configure(seed=1, rules=[FaultRule(pattern="POST /count", probabilities={"slow": 0.5},
                                                         slow_seconds=0.6)])
    policy = RetryPolicy(max_attempts=30, max_total_seconds=30, initial_backoff=0.001, max_backoff=0.01)
    with httpx.Client(base_url=server.url, timeout=0.2) as client:
        for _ in range(6):
            policy.call(lambda: _post(client))
    assert server.app.faults.injected.get("slow", 0) > 0


@pytest.mark.parametrize("status,error", [(400, ValidationError), (401, AuthError), (403, AuthError),
                                          (404, ApiError), (409, ApiError)])
def test_permanent_errors_are_not_retried(server, status, error):
    calls = []
    with httpx.Client(base_url=server.url) as client:
        def once():
            calls.append(1)
            send(client, "GET", f"/status/{status}", code_of=lambda b: b["errors"][0]["code"])
        with pytest.raises(error) as info:
            RetryPolicy(max_attempts=5, initial_backoff=0.001).call(once)
    assert len(calls) == 1
    assert info.value.status == status and info.value.code == "X"
    assert info.value.correlation_id and info.value.correlation_id.startswith("sandbox-")


def test_retry_after_is_honoured_and_total_time_bounded(server):
    server.app.faults.configure(seed=0, rules=[FaultRule(pattern="POST /count", probabilities={"429": 1.0},
                                                         retry_after=0.3)])
    started = time.monotonic()
    with httpx.Client(base_url=server.url) as client, pytest.raises(TransientError) as info:
        RetryPolicy(max_attempts=100, max_total_seconds=1.0, initial_backoff=0.001).call(lambda: _post(client))
    elapsed = time.monotonic() - started
    assert info.value.status == 429 and info.value.retry_after == 0.3
    assert 0.6 <= elapsed < 2.0  # waited Retry-After between tries, stopped at the bound
    assert server.app.faults.injected["429"] <= 5


def test_request_log_and_admin_faults_over_http(server):
    with httpx.Client(base_url=server.url) as client:
        r = client.post("/__admin/faults", json={"seed": 1, "rules": [{"pattern": "nothing", "probabilities": {"bogus": 1}}]})
        assert r.status_code == 400
        client.post("/count")
        client.get("/nowhere")
        log = client.get("/__admin/requests").json()["results"]
    assert [(r["method"], r["path"], r["status"]) for r in log if not r["path"].startswith("/__admin")] == [
        ("POST", "/count", 200), ("GET", "/nowhere", 404)]


def _transient_from(outcome) -> TransientError:
    """The TransientError `send` raises when the transport answers ``outcome`` (a status or an exception)."""
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(outcome, int):
            return httpx.Response(outcome, json={"errors": [{"code": "X"}]})
        raise outcome("injected", request=request)

    with httpx.Client(base_url="http://voyado.invalid", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TransientError) as info:
            send(client, "POST", "/write", code_of=lambda b: b["errors"][0]["code"])
    return info.value


@pytest.mark.parametrize("outcome,unprocessed", [
    (429, True), (503, True),  # the gateway turned the request away
    (httpx.ConnectError, True), (httpx.ConnectTimeout, True), (httpx.PoolTimeout, True),  # no connection made
    (502, False), (504, False), (httpx.ReadTimeout, False), (httpx.WriteTimeout, False), (httpx.ReadError, False),
    (httpx.WriteError, False), (httpx.RemoteProtocolError, False),  # the request may have landed
])
def test_only_failures_that_prove_the_request_unprocessed_are_called_so(outcome, unprocessed):
    assert proves_not_processed(_transient_from(outcome)) is unprocessed


def test_a_refused_connection_and_an_exhausted_pool_prove_the_request_unprocessed(server):
    """Through real sockets: nothing listens on the port / the pool's only connection is taken."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with httpx.Client(base_url=closed) as client, pytest.raises(TransientError) as refused:
        send(client, "POST", "/count", code_of=lambda b: None)
    assert isinstance(refused.value.__cause__, httpx.ConnectError) and proves_not_processed(refused.value)
    with httpx.Client(base_url=server.url, limits=httpx.Limits(max_connections=1),
                      timeout=httpx.Timeout(2.0, pool=0.05)) as client:
        with client.stream("POST", "/count"), pytest.raises(TransientError) as queued:
            send(client, "POST", "/count", code_of=lambda b: None)
    assert isinstance(queued.value.__cause__, httpx.PoolTimeout) and proves_not_processed(queued.value)
    assert server.app.effects == 1  # only the streamed request reached the handler


@pytest.mark.parametrize("body", [
    b'{"results": [{"id": "a", "rate": 0.25, "n": 12345678901234567890123, "s": "\\u00e9\\n", "x": null}]}',
    b'{"a": NaN}', b'{"a": 1e400}', b'[1, 2.5, true]', b'"\\ud800"', b'{"a": 1, "a": 2}',
])
def test_decode_json_gives_what_the_standard_parser_gives(body):
    response = httpx.Response(200, content=body, request=httpx.Request("GET", "http://x/y"))
    got = decode_json(response)
    assert repr(got) == repr(response.json())


def test_decode_json_of_a_cut_body_is_transient():
    response = httpx.Response(200, content=b'{"results": [{"id": "a"', request=httpx.Request("GET", "http://x/y"))
    with pytest.raises(TransientError, match="malformed JSON body"):
        decode_json(response)
