"""Start all three sandboxes (Commercetools, Voyado Engage, Voyado Elevate) on loopback, optionally
seeded with a generated dataset, and describe them as the environment the real deployment would use.

`voyado-sync sandbox` prints one JSON line ``{"commercetools": url, "engage": url, "elevate": url,
"env": {...}}`` and serves until stopped; `make demo`, `make dev`, tests and benchmarks use
`start_sandboxes()` in-process."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voyado_sync.sandbox.http import SandboxServer

CT_PROJECT_KEY = "voyado-sandbox"
CT_CLIENT_ID = "sandbox-client"
CT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 - a sandbox credential, not a secret
ENGAGE_API_KEY = "sandbox-key"
ELEVATE_API_KEY = "elevate-key"
CT_RESOURCES = ("customers", "orders", "payments", "product-projections", "categories", "inventory", "stores",
                "channels", "carts", "types")
_DATASET_ATTR = {"product-projections": "products"}


@dataclass
class Sandboxes:
    commercetools: SandboxServer
    engage: SandboxServer
    elevate: SandboxServer

    @property
    def ct(self) -> Any:
        return self.commercetools.app

    @property
    def engage_app(self) -> Any:
        return self.engage.app

    @property
    def elevate_app(self) -> Any:
        return self.elevate.app

    def env(self) -> dict[str, str]:
        """The environment that points voyado_sync at these sandboxes (same variables as production)."""
        return {
            "CTP_API_URL": self.commercetools.url,
            "CTP_AUTH_URL": self.commercetools.url,
            "CTP_PROJECT_KEY": CT_PROJECT_KEY,
            "CTP_CLIENT_ID": CT_CLIENT_ID,
            "CTP_CLIENT_SECRET": CT_CLIENT_SECRET,
            "VOYADO_ENGAGE_URL": self.engage.url,
            "VOYADO_API_KEY": ENGAGE_API_KEY,
            "VOYADO_ELEVATE_URL": self.elevate.url,
            "VOYADO_ELEVATE_API_KEY": ELEVATE_API_KEY,
        }

    def describe(self) -> dict[str, Any]:
        return {"commercetools": self.commercetools.url, "engage": self.engage.url, "elevate": self.elevate.url,
                "env": self.env()}

    def stop(self) -> None:
        for server in (self.commercetools, self.engage, self.elevate):
            server.stop()

    def __enter__(self) -> "Sandboxes":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandboxes(*, dataset: Any = None, seed: int = 0, ports: tuple[int, int, int] = (0, 0, 0),
                    engage_rate_limit: float = 200.0, messages_enabled: bool = True) -> Sandboxes:
    from voyado_sync.sandbox.commercetools import CommercetoolsSandbox
    from voyado_sync.sandbox.elevate import ElevateSandbox
    from voyado_sync.sandbox.engage import EngageSandbox

    ct = CommercetoolsSandbox(project_key=CT_PROJECT_KEY, seed=seed, messages_enabled=messages_enabled)
    engage = EngageSandbox(api_keys={ENGAGE_API_KEY: engage_rate_limit}, seed=seed)
    elevate = ElevateSandbox(api_keys={ELEVATE_API_KEY})
    boxes = Sandboxes(SandboxServer(ct, port=ports[0]).start(), SandboxServer(engage, port=ports[1]).start(),
                      SandboxServer(elevate, port=ports[2]).start())
    if dataset is not None:
        seed_sandboxes(boxes, dataset)
    return boxes


def stage_dataset(config: Any, out_dir: Path, pos_drop: Path) -> Any:
    """Generate a dataset, write it to ``out_dir`` and deliver its POS files to the drop folder, the way
    stores would; returns the dataset for `start_sandboxes`."""
    import shutil

    from voyado_sync.sandbox.generator import generate, write_dataset

    dataset = generate(config)
    write_dataset(dataset, out_dir)
    pos_drop.mkdir(parents=True, exist_ok=True)
    for f in (out_dir / "pos").glob("*"):
        shutil.copy(f, pos_drop / f.name)
    return dataset


def seed_sandboxes(boxes: Sandboxes, dataset: Any) -> dict[str, int]:
    """Load a generated dataset: Commercetools documents into the CT sandbox, contacts into Engage."""
    counts: dict[str, int] = {}
    for resource in CT_RESOURCES:
        docs = getattr(dataset, _DATASET_ATTR.get(resource, resource), None) or []
        if docs:
            boxes.ct.put(resource, docs)
        counts[resource] = len(docs)
    contacts = getattr(dataset, "voyado_contacts", None) or []
    if contacts:
        boxes.engage_app.seed_contacts(contacts)
    counts["voyado_contacts"] = len(contacts)
    return counts


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voyado-sync sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a folder written by `voyado-sync generate` to seed from")
    parser.add_argument("--ct-port", type=int, default=0)
    parser.add_argument("--engage-port", type=int, default=0)
    parser.add_argument("--elevate-port", type=int, default=0)
    parser.add_argument("--engage-rate-limit", type=float, default=200.0, help="requests/s per API key")
    parser.add_argument("--no-messages", action="store_true", help="run the CT project with Messages disabled")
    parser.add_argument("--env-file", type=Path, help="also write the environment as KEY=value lines here")
    args = parser.parse_args(argv)
    dataset = None
    if args.data:
        from voyado_sync.sandbox.generator import read_dataset

        dataset = read_dataset(args.data)
    boxes = start_sandboxes(dataset=dataset, ports=(args.ct_port, args.engage_port, args.elevate_port),
                            engage_rate_limit=args.engage_rate_limit, messages_enabled=not args.no_messages)
    if args.env_file:
        args.env_file.write_text("".join(f"{k}={v}\n" for k, v in boxes.env().items()))
    print(json.dumps(boxes.describe()), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    boxes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
