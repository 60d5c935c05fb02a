"""The house rules of README.md "Where things live", read from the source: every module imports only the
rooms its room may import, the pure cores import neither Dagster nor httpx nor the settings reader,
`defs/` modules are leaves, and only settings.py (and the sandboxes and the command line) reads the
environment. A new import that breaks a rule fails here with the module and the import named."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "voyado_sync"

BASE = {"__init__", "settings", "money", "storage", "privacy", "jsonutil", "timestamps"}
CORES = {"mapping", "identity", "reconciliation"}
# Room -> the rooms it may import besides itself and BASE; rooms not listed (the command line: cli, demo,
# dev, definitions) may import anything.
MAY_IMPORT = {
    "clients": set(),
    "state": {"identity"},  # it persists the graph the identity core computes
    "identity": set(),
    "mapping": {"identity"},
    "reconciliation": {"mapping"},
    "extract": {"clients"},
    "sync": {"clients", "state", "mapping"},
    "resources": {"clients", "state"},
    "lookups": {"mapping", "state"},
    "partitions": set(),
    "chain": set(),
    "seam": {"resources", "sync", "partitions"},
    "defs": {"clients", "state", "identity", "mapping", "reconciliation", "extract", "sync", "resources", "lookups",
             "seam", "partitions", "chain"},
    "sandbox": set(),
}
DAGSTER_ROOMS = {"resources", "seam", "defs", "partitions", "chain", "cli", "demo", "dev", "definitions"}
HTTPX_ROOMS = {"clients", "sync", "cli", "demo", "dev", "sandbox"}
ENVIRONMENT_READERS = {"settings", "sandbox", "cli", "demo", "dev"}


def _modules() -> list[tuple[str, str, ast.Module]]:
    """(dotted module, room, parsed source) for every module of the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        room = parts[1] if len(parts) > 1 else "__init__"
        out.append((module, room, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))))
    return out


def _imports(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every absolute import, also those inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def _room_of(imported: str) -> str | None:
    parts = imported.split(".")
    if parts[0] != "voyado_sync":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_imports_only_what_its_room_may():
    broken = []
    for module, room, tree in _modules():
        allowed = MAY_IMPORT.get(room)
        for imported, names in _imports(tree):
            target = _room_of(imported)
            if target == "__init__" and names:  # `from voyado_sync import jsonutil` names a module
                targets = [name if name in BASE | set(MAY_IMPORT) else "__init__" for name in names]
            else:
                targets = [target] if target else []
            for t in targets:
                if allowed is not None and t not in allowed | BASE | {room}:
                    broken.append(f"{module} imports {imported} ({room} may not import {t})")
                if room == "defs" and t == "defs" and imported != module:
                    broken.append(f"{module} imports {imported}: defs/ modules are leaves")
            top = imported.split(".")[0]
            if top == "dagster" and room not in DAGSTER_ROOMS:
                broken.append(f"{module} imports dagster")
            if top == "httpx" and room not in HTTPX_ROOMS:
                broken.append(f"{module} imports httpx")
            if room in CORES and imported == "voyado_sync.settings" and "get_settings" in names:
                broken.append(f"{module} reads the settings: the shell passes what a core needs")
    assert broken == []


def test_only_settings_reads_the_environment():
    readers = []
    for module, room, tree in _modules():
        if room in ENVIRONMENT_READERS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{module}:{node.lineno}")
    assert readers == []


def test_the_rules_see_the_imports_they_guard():
    """The rules above pass only if they read real imports: the walk must find the cross-room ones."""
    rooms = {}
    for module, room, tree in _modules():
        for imported, _ in _imports(tree):
            target = _room_of(imported)
            if target and target != room:
                rooms.setdefault(room, set()).add(target)
    assert {"seam", "lookups", "sync"} <= rooms["defs"] and "clients" in rooms["sync"]
    assert set(MAY_IMPORT) | {"cli", "demo", "dev", "definitions"} >= set(rooms) - BASE
