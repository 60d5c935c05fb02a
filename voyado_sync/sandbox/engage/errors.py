"""The Engage sandbox's error dialect and the small input checks every endpoint shares.

The reference (§1.7, §14.1) establishes status codes and error-code names but not the JSON envelope, so
the sandbox answers every error as ``{"errorCode": str, "message": str, "statusCode": int, ...extra}``
(e.g. ``multipleMatchesFound`` on 409 MultipleMatches). Clients must not rely on more than status + code.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# +CC then digits only: the reference asks for the country calling code; E.164 allows at most 15 digits.
PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")


class EngageError(Exception):
    """Raised by handlers; `EngageSandbox.dispatch` turns it into the error response."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def bad_request(code: str, message: str, **extra: Any) -> EngageError:
    return EngageError(400, code, message, **extra)


def contact_not_found(what: str) -> EngageError:
    return EngageError(404, "ContactNotFound", f"No contact found for {what}.")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_datetime(value: Any, field: str, *, require_offset: bool = False) -> datetime:
    """ISO-8601; naive values are read as UTC unless an offset is required (reference §1.4)."""
    if not isinstance(value, str) or not value.strip():
        raise bad_request("InvalidDate", f"{field} must be an ISO-8601 datetime string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise bad_request("InvalidDate", f"{field}={value!r} is not an ISO-8601 datetime") from None
    if parsed.tzinfo is None:
        if require_offset:
            raise bad_request("InvalidDate", f"{field}={value!r} has no UTC offset (send local time + offset)")
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def int_arg(raw: str | None, name: str, default: int, lo: int = 0, hi: int = 10_000) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("InvalidRequest", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise bad_request("InvalidRequest", f"{name} must be within {lo}..{hi}")
    return value
