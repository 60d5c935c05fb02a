"""Read back what Voyado holds, and write the verdict to the ledger.

Engage accepts a receipt and processes it later (reference §3: queued, batched): an answer proves
nothing about what Voyado holds. The receipts of a partition are read back through their contacts'
transactions (``GET /api/v2/contacts/{id}/transactions``) and each is judged:

* ``held`` — Voyado holds it as sent (total, currency, receipt number, date, item count): the ledger
  writes ``held``, and a dead letter of that key (an earlier failure) is settled;
* ``missing`` — not among the contact's transactions although accepted longer ago than the processing
  grace (Engage parked it, e.g. "Contact is missing"): the ledger writes ``not_held``, a dead letter with
  the reason, and the next run sends it again;
* ``mismatch`` — held, but not as sent (someone or something changed it): ``not_held`` likewise;
* ``pending`` — accepted within the grace: not judged yet;
* ``unverifiable`` — a match key no lookup serves (CardId), or not in this run's sample: not judged;
* ``not_sent`` — Voyado was not told this version (refused, never sent): a dead letter already.

Reads are drawn from the API key's shared rate budget; in production a deterministic sample of contacts
(``sample`` < 1) keeps the cost within it, and the same contacts are sampled on a rerun.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from voyado_sync.clients.engage import EngageClient, HeldReceipt
from voyado_sync.clients.http import ApiError, ConflictError, NotFoundError
from voyado_sync.privacy import redact, scrub
from voyado_sync.sync import dead_letters as dlq
from voyado_sync.sync import ledger
from voyado_sync.sync.models import Outcome, SyncItem
from voyado_sync.sync.rate_budget import RateBudget

VERDICTS = ("held", "missing", "mismatch", "pending", "unverifiable", "unreadable", "not_sent")


@dataclass(frozen=True)
class Verdict:
    key: str
    verdict: str
    detail: str | None = None
    held: HeldReceipt | None = None


# How a receipt's match key finds its contact (``GET /contacts/id``), for receipts not sent by ContactId.
_LOOKUP_BY = {"externalid": "custom_key", "membernumber": "custom_key", "email": "email",
              "mobilephone": "mobile_phone"}


UNRESOLVABLE = "unresolvable"


@dataclass(frozen=True)
class Unreadable:
    """A lookup Voyado did not answer (5xx or 429 after the retries): nothing can be judged from it."""
    detail: str


def contact_of(client: EngageClient, payload: Mapping[str, Any],
               cache: dict[tuple[str, str], str | None | Unreadable]) -> str | None | Unreadable:
    """The contact a receipt went to: its ContactId, else the contact its match key finds now (None: none,
    or several; `UNRESOLVABLE`: a key type no lookup serves, such as CardId; `Unreadable`: no answer)."""
    contact = payload.get("contact")
    if not isinstance(contact, Mapping) or not contact.get("matchKey"):
        return UNRESOLVABLE
    kind, key = str(contact.get("matchKeyType", "")).lower(), str(contact["matchKey"])
    if kind == "contactid":
        return key
    if kind not in _LOOKUP_BY:
        return UNRESOLVABLE
    if (kind, key) not in cache:
        try:
            cache[(kind, key)] = client.find_contact_id(**{_LOOKUP_BY[kind]: key})
        except ConflictError:  # several contacts carry the key: none of them is the receipt's for sure
            cache[(kind, key)] = None
        except ApiError as exc:
            cache[(kind, key)] = Unreadable(scrub(f"{exc.status}:{exc.code or type(exc).__name__}"))
    return cache[(kind, key)]


def sampled(contact_id: str, sample: float) -> bool:
    """A stable choice per contact (a rerun reads back the same contacts)."""
    if sample >= 1:
        return True
    return int(hashlib.sha256(contact_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < sample


def difference(payload: Mapping[str, Any], held: HeldReceipt) -> str | None:
    """How what Voyado holds differs from the receipt as sent (None: it holds it as sent)."""
    found = []
    total = Decimal(payload["totalGrossPrice"])
    if held.total is None or held.total != total:
        found.append(f"total {held.total} != sent {total}")
    if held.currency and held.currency != payload.get("currency"):
        found.append(f"currency {held.currency} != sent {payload.get('currency')}")
    if held.receipt_number and payload.get("receiptNumber") and held.receipt_number != payload["receiptNumber"]:
        found.append("receiptNumber differs")
    if held.created and payload.get("createdDate"):
        try:
            if datetime.fromisoformat(held.created) != datetime.fromisoformat(payload["createdDate"]):
                found.append(f"createdDate {held.created} != sent {payload['createdDate']}")
        except ValueError:
            found.append(f"createdDate {held.created!r} is not ISO-8601")
    quantity = sum(abs(int(i.get("quantity") or 0)) for i in payload.get("items") or ())
    if held.item_count is not None and held.item_count != quantity:
        found.append(f"{held.item_count} items != sent {quantity}")
    return "; ".join(found) or None


def read_back(client: EngageClient, budget: RateBudget, sent: Mapping[str, Mapping[str, Any]],
              accepted_at: Mapping[str, datetime], *, now: datetime | None = None,
              grace: timedelta = timedelta(minutes=30), sample: float = 1.0, workers: int = 4) -> dict[str, Verdict]:
    """A verdict per key of ``sent`` (key -> the payload as sent)."""
    now = now or datetime.now(timezone.utc)
    by_contact: dict[str, list[str]] = {}
    verdicts: dict[str, Verdict] = {}
    cache: dict[tuple[str, str], str | None | Unreadable] = {}
    for key, payload in sent.items():
        contact = contact_of(client, payload, cache)
        if isinstance(contact, Unreadable):
            verdicts[key] = Verdict(key, "unreadable", f"its contact could not be looked up ({contact.detail})")
        elif contact == UNRESOLVABLE:
            verdicts[key] = Verdict(key, "unverifiable", "its match key type cannot be looked up")
        elif contact is None:
            # A key that finds no contact now cannot have reached one: Engage parked the receipt.
            verdicts[key] = Verdict(key, "missing", "its contact key finds no Voyado contact")
        elif not sampled(contact, sample):
            verdicts[key] = Verdict(key, "unverifiable", "not in this run's read-back sample")
        else:
            by_contact.setdefault(contact, []).append(key)

    def fetch(contact: str) -> tuple[str, dict[str, HeldReceipt] | str]:
        try:
            with budget.slot():
                return contact, {h.unique_receipt_id: h for h in client.contact_transactions(contact)}
        except ApiError as exc:  # one unreadable contact must not sink the read-back
            return contact, scrub(f"{exc.status}:{exc.code or type(exc).__name__}")

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(by_contact) or 1)),
                            thread_name_prefix="voyado-readback") as pool:
        for contact, held in pool.map(fetch, sorted(by_contact)):
            for key in by_contact[contact]:
                if isinstance(held, str):
                    verdicts[key] = Verdict(key, "unreadable", f"the contact's transactions could not be read ({held})")
                elif key in held:
                    why = difference(sent[key], held[key])
                    verdicts[key] = Verdict(key, "mismatch" if why else "held", why, held[key])
                elif key in accepted_at and now - accepted_at[key] < grace:
                    verdicts[key] = Verdict(key, "pending", "accepted recently; Engage processes receipts later")
                else:
                    verdicts[key] = Verdict(key, "missing", "Voyado does not hold it under its contact (Engage may "
                                                            "have parked it: see its integration log)")
    return verdicts


def confirm(engine: sa.Engine, client: EngageClient, budget: RateBudget, items: Mapping[str, SyncItem], *,
            run_id: str, grace: timedelta = timedelta(minutes=30), sample: float = 1.0,
            workers: int = 4) -> dict[str, Verdict]:
    """Read ``items`` (key -> the item as sent) back from Voyado and write the verdicts (`record`)."""
    endpoint = next(iter(items.values())).endpoint if items else ""
    with engine.connect() as conn:
        states = ledger.key_states(conn, endpoint, items)
        # Only an item not read back yet may still be processing; one held before and gone now is lost.
        awaiting = [k for k, state in states.items() if state.awaiting_read_back]
        accepted = ledger.accepted_at(conn, endpoint, awaiting)
    # What Voyado was never told about (refused, or never sent) is a dead letter already, not a read-back.
    told = {k: it.payload for k, it in items.items() if k in states and states[k].latest_hash == it.hash
            and states[k].latest_outcome is not Outcome.IN_FLIGHT}
    verdicts = read_back(client, budget, told, accepted, grace=grace, sample=sample, workers=workers)
    verdicts.update({k: Verdict(k, "not_sent", "Voyado was not sent this version") for k in items if k not in told})
    record(engine, verdicts, items, run_id=run_id)
    return verdicts


def contacts_held(client: EngageClient, budget: RateBudget, contact_ids: list[str], *,
                  workers: int = 4) -> dict[str, str]:
    """``held`` / ``missing`` (Voyado answers 404: deleted, or never there) / ``unreadable (...)`` per
    contact id, as ``GET /api/v3/contacts/{id}`` answers now."""
    def one(contact: str) -> tuple[str, str]:
        try:
            with budget.slot():
                client.get_contact(contact)
            return contact, "held"
        except NotFoundError:
            return contact, "missing"
        except ApiError as exc:
            return contact, scrub(f"unreadable ({exc.status}:{exc.code or type(exc).__name__})")

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(contact_ids) or 1)),
                            thread_name_prefix="voyado-contact-readback") as pool:
        return dict(pool.map(one, sorted(set(contact_ids))))


def record(engine: sa.Engine, verdicts: Mapping[str, Verdict], items: Mapping[str, SyncItem], *,
           run_id: str) -> None:
    """Write each judged verdict to the ledger (``held`` / ``not_held``) and the dead letters."""
    rows, failures, settled = [], [], []
    for key, v in verdicts.items():
        if v.verdict not in ("held", "missing", "mismatch"):
            continue
        item, held = items[key], v.verdict == "held"
        outcome = Outcome.HELD if held else Outcome.NOT_HELD
        # The held row keeps the version Voyado holds: a later correction credits exactly that.
        rows.append({"endpoint": item.endpoint, "key": key, "payload_hash": item.hash, "outcome": outcome.value,
                     "partition": item.partition, "run_id": run_id, "error": None if held else v.detail,
                     "redacted_payload": redact(item.payload)})
        if held:
            settled.append((item.endpoint, key))
        else:
            failures.append({"endpoint": item.endpoint, "key": key, "partition": item.partition,
                             "source": item.source, "payload": item.payload, "payload_hash": item.hash,
                             "outcome": outcome.value, "status_code": None, "reason": f"not_held_{v.verdict}",
                             "error": v.detail, "run_id": run_id})
    with engine.begin() as conn:
        ledger.insert_rows(conn, rows)
        dlq.record_failures(conn, failures)
        for endpoint in {e for e, _ in settled}:
            dlq.mark_replayed(conn, endpoint, [k for e, k in settled if e == endpoint], run_id)
