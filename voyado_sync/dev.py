"""`make dev`: seeded sandboxes plus `dg dev` (UI + daemon) pointed at them.

The sandboxes run in this process; `dg dev` runs as a child with the sandbox environment, a
project-local DAGSTER_HOME and state folder, so nothing leaks into the user's home directory."""

from __future__ import annotations

import argparse
import os
from datetime import date
import signal
import subprocess
import sys
from pathlib import Path

from voyado_sync.demo import prepare_homes
from voyado_sync.settings import REPO_ROOT


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="voyado-sync dev", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    home, _ = prepare_homes(fresh=False)

    from voyado_sync.partitions import last_closed_partition_key
    from voyado_sync.sandbox.generator import GeneratorConfig
    from voyado_sync.sandbox.run import stage_dataset, start_sandboxes
    from voyado_sync.settings import get_settings

    dataset = stage_dataset(GeneratorConfig(seed=args.seed, anchor_date=date.fromisoformat(last_closed_partition_key())),
                            home / "generated", get_settings().pos_drop_dir)
    with start_sandboxes(dataset=dataset, seed=args.seed) as boxes:
        env = {**os.environ, **boxes.env()}
        print("sandboxes:", boxes.describe()["commercetools"], boxes.describe()["engage"],
              boxes.describe()["elevate"], flush=True)
        dg_bin = Path(sys.executable).with_name("dg")
        child = subprocess.Popen([str(dg_bin), "dev", "--port", str(args.port)], cwd=REPO_ROOT, env=env)
        # dg dev must not outlive the sandboxes it points at: forward SIGTERM and stop it with us.
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.terminate()
            return child.wait()
