"""Subprocess used by the SIGKILL test: pushes receipts, point transactions and triggers concurrently
(as three push assets of one run would) until it is killed.

    python -m voyado_sync_tests.sync.push_worker URL STATE_URL RUN_ID N_RECEIPTS N_POINTS N_TRIGGERS
"""

from __future__ import annotations

import sys
import threading

from voyado_sync.state.db import get_engine
from voyado_sync.sync.endpoints import PointTransactionsEndpoint, ReceiptsEndpoint, TriggersEndpoint
from voyado_sync_tests.sync.support import Engage, make_engine
from voyado_sync_tests.sync.factories import points, receipts, triggers


def plan(url: str, n_receipts: int, n_points: int, n_triggers: int):
    client = Engage(None, url).client()  # type: ignore[arg-type]
    return [(receipts(n_receipts), ReceiptsEndpoint(client)),
            (points(n_points), PointTransactionsEndpoint(client, batch_size=4)),
            (triggers(n_triggers), TriggersEndpoint(client))]


def main(url: str, state_url: str, run_id: str, n_receipts: str, n_points: str, n_triggers: str) -> None:
    state = get_engine(state_url)
    threads = [threading.Thread(target=make_engine(state, rate=400, concurrency=4, run_id=run_id).push, args=(items, ep))
               for items, ep in plan(url, int(n_receipts), int(n_points), int(n_triggers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(*sys.argv[1:])
