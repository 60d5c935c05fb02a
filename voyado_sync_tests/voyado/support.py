"""Keys, retry policy and contact factory the Engage/Elevate tests share (fixtures are in conftest.py)."""

from __future__ import annotations

from voyado_sync.clients.http import RetryPolicy

KEY = "sandbox-key"
ELEVATE_KEY = "elevate-key"
FAST_RETRY = RetryPolicy(max_attempts=6, max_total_seconds=10.0, initial_backoff=0.01, max_backoff=0.1)


def member(n: int, **extra) -> dict:
    return {"firstName": f"F{n}", "lastName": f"L{n}", "email": f"person{n}@example.com",
            "externalId": f"ct-{n}", **extra}
