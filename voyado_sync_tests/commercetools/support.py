"""Documents, days and request filters the Commercetools tests share (fixtures are in conftest.py)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from voyado_sync.clients.http import RetryPolicy
from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
from voyado_sync.sandbox.run import CT_PROJECT_KEY as PROJECT

# The official example documents, committed next to the sandbox tests.
EXAMPLES = Path(__file__).resolve().parent.parent / "sandbox_commercetools" / "reference_examples"
FAST_RETRY = RetryPolicy(max_attempts=12, max_total_seconds=30, initial_backoff=0.01, max_backoff=0.05)


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.example.json").read_text())


def past_day(days_ago: int = 3) -> str:
    """A closed daily partition key (partitions end yesterday), far enough back for +1 day tests."""
    return (datetime.now(timezone.utc).date() - timedelta(days=days_ago)).isoformat()


def ts(day: str, seconds: float) -> str:
    """An API DateTime ``seconds`` after midnight UTC of ``day``."""
    t = datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=timezone.utc) + timedelta(seconds=seconds)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def make_orders(day: str, n: int, *, start: int = 0) -> list[dict]:
    """``n`` orders shaped like the official example, lastModifiedAt spread over ``day``."""
    template = example("order")
    out = []
    for i in range(start, start + n):
        o = copy.deepcopy(template)
        o["id"] = str(uuid.UUID(int=i + 1))
        o["orderNumber"] = f"ORD-{i:06d}"
        o["createdAt"] = o["lastModifiedAt"] = ts(day, (i * 7.3) % 86_000)
        o["totalPrice"]["centAmount"] = 1000 + i
        o["lineItems"][0]["variant"]["sku"] = f"SKU-{i % 50}"
        out.append(o)
    return out


def make_customers(day: str, n: int, *, start: int = 0) -> list[dict]:
    template = example("customer")
    out = []
    for i in range(start, start + n):
        c = copy.deepcopy(template)
        c["id"] = str(uuid.UUID(int=10**9 + i))
        c["email"] = f"person{i}@example.com"
        c["createdAt"] = c["lastModifiedAt"] = ts(day, (i * 3.7) % 86_000)
        out.append(c)
    return out


def api_requests(app: CommercetoolsSandbox, path_part: str = "") -> list:
    """Logged API requests (no admin, no token requests) whose path contains ``path_part``."""
    return [r for r in app.requests() if r.path != "/oauth/token" and path_part in r.path]
