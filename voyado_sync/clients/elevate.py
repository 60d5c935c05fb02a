"""Voyado Elevate Admin API v4 client: catalog import (gzip JSON Lines) and export (reference §12).

A full import (``PUT``) replaces the whole catalog and is therefore safe to repeat; an incremental one
(``PATCH``) of replace/edit/remove lines is as well (same lines, same result). Transient failures are
retried with the shared `RetryPolicy`; ``403`` is an `AuthError` at once. An import that takes longer
than Elevate's blocking time answers 202 with an ``importId``; `import_catalog` polls it to the end
(``wait=True``) and raises `ValidationError` with the per-line errors if it failed.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from voyado_sync import jsonutil
from voyado_sync.clients.engage import VoyadoHttp
from voyado_sync.clients.http import DEFAULT_RETRY, USER_AGENT, RetryPolicy, TransientError, ValidationError

IMPORT_PATH = "/api/admin/v4/import/catalog"
DONE = frozenset({"succeeded", "failed"})


def encode_jsonlines(lines: Iterable[Mapping[str, Any]]) -> tuple[bytes, int]:
    """gzip-compressed UTF-8 JSON Lines and the number of lines (prices as exact `Decimal` numbers)."""
    count = 0
    parts = []
    for line in lines:
        parts.append(jsonutil.dumps(line))
        count += 1
    return gzip.compress(("\n".join(parts) + "\n").encode("utf-8"), compresslevel=6), count


def _jsonlines(resp: httpx.Response) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(resp.text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:  # a cut body: retry the export
                raise TransientError(f"export line {n} is not JSON ({exc.msg})", status=resp.status_code) from exc
    return out


class ElevateClient(VoyadoHttp):
    service = "Voyado Elevate"
    credential_hint = "the Api-Key (VOYADO_ELEVATE_API_KEY)"

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 60.0, retry: RetryPolicy = DEFAULT_RETRY,
                 user_agent: str = USER_AGENT, transport: httpx.BaseTransport | None = None,
                 max_connections: int = 4, max_wait_seconds: float = 3600.0) -> None:
        if not api_key or not str(api_key).strip():
            raise ValueError("Voyado Elevate api_key is empty; set VOYADO_ELEVATE_API_KEY")
        super().__init__(base_url, timeout=timeout, retry=retry, user_agent=user_agent, transport=transport,
                         headers={"Api-Key": api_key, "Accept": "application/json"},
                         max_connections=max_connections)
        self.max_wait_seconds = max_wait_seconds

    def __repr__(self) -> str:
        return f"ElevateClient(base_url={self.base_url!r})"

    def import_catalog(self, lines: Iterable[Mapping[str, Any]], *, full: bool = True, validate_only: bool = False,
                       wait: bool = True, poll_interval: float = 0.5) -> dict[str, Any]:
        """Send one import. ``full``: PUT (every line a ``replace``; groups not sent are deleted), else
        PATCH (``replace``/``edit``/``remove``). Returns the import record (or the validation answer);
        `ValidationError` carries ``body["errors"] = [{line, reason}]``; `ConflictError` when another
        import is running on the cluster."""
        body, count = encode_jsonlines(lines)
        if count == 0 and not full:
            raise ValueError("an incremental import needs at least one line")
        result = self._send("PUT" if full else "PATCH", IMPORT_PATH, content=body,
                            params={"validateOnly": "true"} if validate_only else None,
                            headers={"Content-Type": "application/jsonlines", "Content-Encoding": "gzip"})
        result = result if isinstance(result, dict) else {}
        if not wait or validate_only or result.get("status") in DONE or not result.get("importId"):
            return result
        return self.wait_for_import(result["importId"], poll_interval=poll_interval)

    def import_status(self, import_id: str) -> dict[str, Any]:
        return self._send("GET", f"/api/admin/v4/import/{import_id}")

    def wait_for_import(self, import_id: str, *, poll_interval: float = 0.5) -> dict[str, Any]:
        deadline = time.monotonic() + self.max_wait_seconds
        while True:
            record = self.import_status(import_id)
            status = record.get("status") if isinstance(record, dict) else None
            if status == "succeeded":
                return record
            if status == "failed":
                raise ValidationError(f"Elevate import {import_id} failed", status=400, code="ImportFailed",
                                      body=record)
            if time.monotonic() >= deadline:
                raise TransientError(f"Elevate import {import_id} still {status!r} after {self.max_wait_seconds}s")
            time.sleep(poll_interval)

    def export_catalog(self, product_group_keys: Iterable[str] | None = None,
                       limit: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, str] = {"types": "PRODUCT_GROUPS"}
        if product_group_keys is not None:
            params["productGroupKeys"] = ",".join(product_group_keys)
        if limit is not None:
            params["limit"] = str(limit)
        return self._send("GET", "/api/admin/v4/export/catalog", params=params, parse=_jsonlines)
