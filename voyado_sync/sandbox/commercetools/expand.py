"""Reference expansion (``expand=paymentInfo.payments[*]``, ``customerGroup``, ``lineItems[*].distributionChannel``).

An expanded reference gains ``obj`` with the referenced document; a reference whose target does not exist
stays as it is, and paths that do not exist in a document are ignored, as in the real API.
"""

from __future__ import annotations

import re
from typing import Any, Callable

Resolver = Callable[[dict[str, Any]], dict[str, Any] | None]
_SEGMENT = re.compile(r"^([A-Za-z0-9_-]+)(?:\[(\*|\d+)\])?$")


class ExpandError(ValueError):
    pass


def parse_path(path: str) -> list[tuple[str, str | None]]:
    segments = []
    for part in path.strip().split("."):
        m = _SEGMENT.match(part)
        if not m:
            raise ExpandError(f"Malformed parameter: expand: invalid reference expansion path '{path}'.")
        segments.append((m.group(1), m.group(2)))
    return segments


def expand(doc: dict[str, Any], segments: list[tuple[str, str | None]], resolve: Resolver) -> None:
    """Expand in place (``doc`` must be a private copy)."""
    _walk(doc, segments, resolve)


def _walk(node: Any, segments: list[tuple[str, str | None]], resolve: Resolver) -> None:
    if not isinstance(node, dict):
        return
    (name, index), rest = segments[0], segments[1:]
    if name == "obj" and "obj" not in node and "typeId" in node:  # `a.obj.b` implies expanding `a`
        obj = resolve(node)
        if obj is not None:
            node["obj"] = obj
    value = node.get(name)
    if index is None:
        targets = [value]
    elif not isinstance(value, list):
        return
    elif index == "*":
        targets = value
    else:
        targets = value[int(index):int(index) + 1]
    for target in targets:
        if rest:
            _walk(target, rest, resolve)
        elif isinstance(target, dict) and "typeId" in target:
            obj = resolve(target)
            if obj is not None:
                target["obj"] = obj
