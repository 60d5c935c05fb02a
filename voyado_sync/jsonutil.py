"""Exact JSON for request bodies: `Decimal` amounts go out as JSON numbers with exactly their digits
(``450.00``, JPY ``1200``), never through a float. The standard encoder cannot emit a Decimal as a
number, and httpx's ``json=`` refuses it, so every client body that may carry money goes through here.

`dumps` writes with msgspec (C), amounts through `decimal_text` as here, whenever the tree holds only
exact ``dict``/``list``/``str``/``int``/``bool``/``None``/``Decimal``; anything else (a float, a tuple, a
subclass, a date) goes through `encode`, so the bytes, and the errors, are the same either way."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import msgspec

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
_SCALARS = (str, Decimal, int, bool, type(None))


def decimal_text(d: Decimal) -> str:
    if not d.is_finite():
        raise ValueError(f"{d} is not a JSON number")
    return format(abs(d) if not d else d, "f")  # no "-0.00" on the wire


_FAST = msgspec.json.Encoder(decimal_format=lambda d: msgspec.Raw(decimal_text(d)))


def encode(obj: Any, out: list[str], *, allow_float: bool = True) -> None:
    t = type(obj)
    if t is str:
        out.append(_encode_str(obj))
    elif t is Decimal:
        out.append(decimal_text(obj))
    elif t is dict:
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            out.append("," if i else "")
            out.append(_encode_str(str(k)))
            out.append(":")
            encode(v, out, allow_float=allow_float)
        out.append("}")
    elif t is list or t is tuple:
        out.append("[")
        for i, v in enumerate(obj):
            out.append("," if i else "")
            encode(v, out, allow_float=allow_float)
        out.append("]")
    elif obj is None or t is bool or t is int:
        out.append(json.dumps(obj))
    elif t is float:
        if not allow_float:
            raise TypeError("a float reached a money payload; amounts must be Decimal")
        if not math.isfinite(obj):
            raise ValueError(f"{obj} is not a JSON number")
        out.append(repr(obj))
    elif isinstance(obj, dict):
        encode(dict(obj), out, allow_float=allow_float)
    elif isinstance(obj, (list, tuple)):
        encode(list(obj), out, allow_float=allow_float)
    elif isinstance(obj, str):
        encode(str(obj), out, allow_float=allow_float)
    else:
        raise TypeError(f"cannot encode {t.__name__} as JSON")


def _plain(obj: Any) -> bool:
    """Every node of ``obj`` is of a type msgspec writes as `encode` does (dict keys aside: ours are str)."""
    stack = [obj]
    pop, extend = stack.pop, stack.extend
    while stack:
        o = pop()
        t = type(o)
        if t is dict:
            extend(o.values())
        elif t is list:
            extend(o)
        elif t not in _SCALARS:
            return False
    return True


def dumps(obj: Any, *, allow_float: bool = True) -> str:
    if _plain(obj):
        try:
            return _FAST.encode(obj).decode()
        except (TypeError, ValueError, OverflowError):  # a non-finite Decimal, a lone surrogate: `encode` says why
            pass
    out: list[str] = []
    encode(obj, out, allow_float=allow_float)
    return "".join(out)


def loads(text: str | bytes) -> Any:
    """Parse JSON with non-integer numbers as `Decimal`, the inverse of `dumps` for money payloads."""
    return json.loads(text, parse_float=Decimal)
