"""Which receipts Voyado should hold for each receipt of a payload set, and what a change needs sent.

For a receipt at live revision n (`voyado_sync.state.receipt_revisions`; 1 unless it was corrected):

* the current payload goes out as revision n, unless revision n is held (read back, or delivered before
  the read-back existed) with another payload: then revision n is credited and the payload goes out as
  revision n+1 (`voyado_sync.mapping.corrections`), and the live revision advances;
* the credits of revisions 1..n-1 go out again each run (the engine skips what Voyado already holds), so
  a credit that failed is retried;
* a held revision whose contact is not a contact id cannot be credited to the right contact: the change is
  a dead letter for an operator instead.

The *chain* is everything Voyado should hold for the receipt: revisions 1..n (the earlier ones as held)
and the credits of 1..n-1. The read-back compares the chain, so Voyado's totals net to the corrected
receipt and reconciliation counts a credit as minus one receipt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from voyado_sync.mapping.corrections import as_revision, credit, credit_id, revision_id
from voyado_sync.state import receipt_revisions
from voyado_sync.sync import ledger
from voyado_sync.sync.models import SyncItem, payload_hash

NEEDS_OPERATOR = ("changed after Voyado holds it, and the held version was not sent by contact id, so a credit "
                  "cannot reach the same contact: correct it in Voyado, then dismiss")


@dataclass
class Plan:
    items: list[SyncItem] = field(default_factory=list)  # what to push now
    chain: dict[str, SyncItem] = field(default_factory=dict)  # what Voyado should hold, by key
    corrected: list[str] = field(default_factory=list)  # receipts whose change is corrected by this push
    needs_operator: list[str] = field(default_factory=list)


def plan(engine: sa.Engine, endpoint: str, receipts: Mapping[str, SyncItem], *, commit: bool = True) -> Plan:
    """``receipts``: the current receipt per base id (the id revision 1 carries). ``commit``: record the
    revisions a correction advances (not in a dry run, nor when only reading the chain back)."""
    live = receipt_revisions.live(engine, receipts)
    wanted = [revision_id(b, k) for b in receipts for k in range(1, live.get(b, 1) + 1)]
    with engine.connect() as conn:
        states = ledger.key_states(conn, endpoint, wanted)
        held = ledger.redacted_payloads(conn, [s.delivered_id for s in states.values() if s.delivered_id])
    out = Plan()
    advanced: dict[str, int] = {}
    for base, item in receipts.items():
        n = live.get(base, 1)

        def make(key: str, payload: dict) -> SyncItem:
            return SyncItem(key, endpoint, payload, item.partition, item.source)

        for k in range(1, n):  # earlier revisions as held, and their credits
            state = states.get(revision_id(base, k))
            if state is not None and state.delivered_id in held:
                out.chain[revision_id(base, k)] = make(revision_id(base, k), held[state.delivered_id])
                back = make(credit_id(base, k), credit(held[state.delivered_id], base, k))
                out.items.append(back)
                out.chain[back.key] = back
        current = make(revision_id(base, n), as_revision(item.payload, base, n))
        state = states.get(current.key)
        was = held.get(state.delivered_id) if state is not None and state.delivered_id else None
        if was is None or state.pending or state.delivered_hash == payload_hash(current.payload):
            out.items.append(current)
            out.chain[current.key] = current
            continue
        out.chain[current.key] = make(current.key, was)  # what Voyado holds until the credit lands
        if str((was.get("contact") or {}).get("matchKeyType", "")).lower() != "contactid":
            out.needs_operator.append(current.key)
            out.items.append(current)  # the engine refuses it (held is final) with the reason
            continue
        back = make(credit_id(base, n), credit(was, base, n))
        following = make(revision_id(base, n + 1), as_revision(item.payload, base, n + 1))
        out.items += [back, following]
        out.chain[back.key], out.chain[following.key] = back, following
        out.corrected.append(base)
        advanced[base] = n + 1
    if commit:
        receipt_revisions.advance(engine, advanced)
    return out
