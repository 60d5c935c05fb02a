"""The whole chain through the real sandboxes, driven the way production drives it: the daily job for a
closed day, then a change in the shop picked up by the delta sensor and run by the daemon's logic."""

import json
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone

import dagster as dg
import pytest

from voyado_sync.partitions import daily_partitions, last_closed_partition_key
from voyado_sync.sandbox.generator import GeneratorConfig
from voyado_sync.sandbox.http import FaultRule
from voyado_sync.sandbox.run import stage_dataset, start_sandboxes
from voyado_sync.storage import PartitionStore

pytestmark = pytest.mark.slow
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@pytest.fixture
def world(sync_home, monkeypatch, tmp_path):
    day = last_closed_partition_key()
    dataset = stage_dataset(GeneratorConfig(seed=7, persons=40, orders=90, pos_receipts=20, days=2,
                                            anchor_date=date.fromisoformat(day)),
                            tmp_path / "generated", sync_home / "pos_drop")
    with start_sandboxes(dataset=dataset, seed=7) as boxes:
        for k, v in boxes.env().items():
            monkeypatch.setenv(k, v)
        from voyado_sync.definitions import defs

        with dg.instance_for_test() as instance:
            yield {"day": day, "boxes": boxes, "defs": defs(), "instance": instance,
                   "store": PartitionStore(sync_home / "data")}


def run_daily(world, key, **kwargs):
    job = world["defs"].resolve_job_def("daily_sync")
    return job.execute_in_process(partition_key=key, instance=world["instance"], run_config=QUIET,
                                  raise_on_error=False, **kwargs)


def checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def expected_receipts(world, key) -> set[str]:
    frame = world["store"].read("voyado/receipts_payload", [key])
    return set(frame.loc[frame["status"] == "receipt", "unique_receipt_id"])


def test_daily_job_then_sensor_change_reaches_voyado(world):
    day, boxes, instance = world["day"], world["boxes"], world["instance"]
    # The shop's change below is dated 6 minutes back (older than the safety lag); the daily run's own
    # write-backs to customers must be older still, as they would be in real time.
    boxes.ct.clock = lambda: datetime.now(timezone.utc) - timedelta(minutes=10)
    result = run_daily(world, day)
    assert result.success
    assert checks(result)["reconciled_with_commercetools"] is True
    expected = expected_receipts(world, day)
    assert expected and expected <= set(boxes.engage_app.receipts)

    # A shop that is live: an order not yet paid gets paid today.
    pending = next(o for o in boxes.ct.all("orders") if o.get("paymentState") != "Paid"
                   and o.get("orderState") != "Cancelled" and o.get("customerId"))
    uid = f"ct-order-{pending['id']}"
    assert uid not in boxes.engage_app.receipts

    sensor = world["defs"].resolve_sensor_def("commercetools_delta_sensor")

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, definitions=world["defs"], cursor=cursor,
                                     resources={"commercetools": world["defs"].resources["commercetools"]}) as ctx:
            return sensor(ctx)

    first = tick(None)
    assert not first.run_requests  # the first tick starts at the newest message
    # The change happened a few minutes ago: older than the extraction's safety lag, still today.
    now = datetime.now(timezone.utc)
    if now.time() < time(0, 7):
        pytest.skip("too close to midnight UTC for a same-day change older than the safety lag")
    changed_at = now - timedelta(minutes=6)
    boxes.ct.clock = lambda: changed_at
    for ref in pending["paymentInfo"]["payments"]:  # the PSP captures what was authorized
        def capture(payment):
            auth = next(t for t in payment["transactions"] if t["type"] == "Authorization")
            payment["transactions"].append({**auth, "id": f"{auth['id']}-capture", "type": "Charge",
                                            "state": "Success"})
        boxes.ct.update("payments", ref["id"], capture, client_id="shop-psp")
    boxes.ct.update("orders", pending["id"], {"paymentState": "Paid"}, client_id="shop-frontend")
    changed = tick(first.cursor)
    assert changed.run_requests, changed.skip_reason
    (request,) = changed.run_requests
    today = daily_partitions.get_last_partition_key()
    assert request.partition_key == today
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"commercetools/orders", "voyado/receipts_sync", "identity/contact_map"} <= selected

    # What the daemon does with the request: launch the job for that partition and selection.
    run = run_daily(world, request.partition_key, asset_selection=request.asset_selection)
    assert run.success
    mapped = world["store"].read("voyado/receipts_payload", [today]).set_index("key")
    assert mapped.loc[uid, "status"] == "receipt", mapped.loc[uid, "reason"]
    assert uid in boxes.engage_app.receipts
    assert checks(run)["reconciled_with_commercetools"] is True

    # Idle afterwards: no new run, and rerunning the day sends nothing twice.
    assert not tick(changed.cursor).run_requests
    effects_before = len(boxes.engage_app.effects("receipt"))
    assert run_daily(world, day).success
    assert len(boxes.engage_app.effects("receipt")) == effects_before


def test_faults_everywhere_still_leave_voyado_with_exactly_the_expected_receipts(world):
    day, boxes = world["day"], world["boxes"]
    chaos = {"429": 0.08, "503": 0.08, "reset": 0.04, "truncate": 0.04}
    boxes.ct.faults.configure(seed=3, rules=[FaultRule(pattern="GET /", probabilities=chaos, retry_after=0.01)])
    boxes.engage_app.faults.configure(seed=4, rules=[FaultRule(pattern="POST /api/v3/receipts",
                                                               probabilities=chaos, retry_after=0.01)])
    result = run_daily(world, day)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert boxes.ct.faults.injected and boxes.engage_app.faults.injected
    expected = expected_receipts(world, day)
    receipt_effects = Counter(e["key"] for e in boxes.engage_app.effects("receipt"))
    assert set(receipt_effects) == expected
    assert max(receipt_effects.values()) == 1
    assert checks(result)["reconciled_with_commercetools"] is True
    # Every uniqueReceiptId Voyado holds carries the amounts we mapped, to the cent.
    frame = world["store"].read("voyado/receipts_payload", [day]).set_index("unique_receipt_id")
    for uid, held in boxes.engage_app.receipts.items():
        mapped = json.loads(frame.loc[uid, "payload"])
        assert str(held["receipt"]["totalGrossPrice"]) == str(mapped["totalGrossPrice"])


def test_registered_customers_become_contacts_through_the_bulk_endpoint_without_duplicates(world, monkeypatch):
    monkeypatch.setenv("VOYADO_CONTACTS_BULK_MIN", "1")  # every store group goes through the bulk endpoint
    day, boxes = world["day"], world["boxes"]
    assert run_daily(world, day).success
    payload = world["store"].read("voyado/contacts_payload", [day])
    creates = set(payload.loc[payload["action"] == "create", "key"])
    assert creates
    book = boxes.engage_app.contacts
    # Every registered customer we decided to create is now exactly one Voyado contact with that externalId,
    # except those Voyado refused (e.g. the email belongs to another contact): those are dead letters.
    from voyado_sync.state.db import get_engine
    from voyado_sync.settings import get_settings
    from voyado_sync.sync.dead_letters import list_dead_letters

    from voyado_sync.state import contact_links

    state = get_engine(get_settings().state_db_url)
    parked = {d.key for d in list_dead_letters(state)}
    for customer in {k for k in creates - parked if not k.startswith("profile:")}:
        assert len(book.find("externalId", customer)) == 1, customer
    # Guests and POS-only shoppers got a contact of the shopper type, recorded for their profile.
    shoppers = payload[payload["key"].str.startswith("profile:") & ~payload["key"].isin(parked)]
    assert len(shoppers)
    linked = contact_links.contacts_of(state, shoppers["profile_id"])
    assert set(linked) == set(shoppers["profile_id"])
    assert {book.get(c).contact_type for c in linked.values()} <= {"Contact", "Member"}
    kinds = Counter(e["kind"] for e in boxes.engage_app.effects())
    assert kinds["contacts_bulk"] >= 1
    # A rerun creates nobody twice.
    before = len(book.by_id)
    assert run_daily(world, day).success
    assert len(book.by_id) == before


def test_an_order_with_inconsistent_money_is_dead_lettered_the_rest_sent_and_reconciliation_says_so(world):
    import copy

    from voyado_sync.settings import get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.sync.dead_letters import list_dead_letters

    day, boxes = world["day"], world["boxes"]
    sale = next(o for o in boxes.ct.all("orders") if o.get("paymentState") == "Paid"
                and o.get("orderState") != "Cancelled" and o["lastModifiedAt"][:10] == day)
    bad = copy.deepcopy(sale)
    bad["taxedPrice"]["totalGross"]["centAmount"] += 1  # one cent the lines and payments do not explain
    boxes.ct.put("orders", [bad])  # same lastModifiedAt: still in this day's partition
    result = run_daily(world, day)
    # Every other receipt goes; the reconciliation then fails the push step, and so the run: loud.
    assert not result.success
    assert {e.step_key for e in result.get_step_failure_events()} == {"voyado__receipts_sync"}
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    consistent = evaluations["receipts_consistent"]  # every sendable receipt holds; the bad one is routed
    assert consistent.passed and consistent.metadata["routed_to_dead_letters"].value == 1
    uid = f"ct-order-{sale['id']}"
    frame = world["store"].read("voyado/receipts_payload", [day]).set_index("key")
    assert frame.loc[uid, "status"] == "rejected" and "totalGross" in frame.loc[uid, "reason"]
    assert uid not in boxes.engage_app.receipts
    parked = {d.key: d for d in list_dead_letters(get_engine(get_settings().state_db_url))}
    assert uid in parked and parked[uid].reason == "local_validation"
    assert expected_receipts(world, day) <= set(boxes.engage_app.receipts)  # the others were sent
    # Voyado now holds one order less than Commercetools sold: reconciliation must say so.
    assert evaluations["reconciled_with_commercetools"].passed is False


def test_reconciliation_reads_voyado_back_and_fails_when_voyado_lost_or_altered_a_receipt(world):
    """The check compares Commercetools with what Voyado answers it holds, not with our ledger: a receipt
    Voyado lost or altered fails it, the ledger learns it, and the next run sends the lost one again."""
    import httpx

    from voyado_sync.settings import get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.sync.dead_letters import list_dead_letters
    from voyado_sync.sync.ledger import key_states
    from voyado_sync.sync.models import Outcome

    day, boxes = world["day"], world["boxes"]
    first = run_daily(world, day)
    assert first.success and checks(first)["reconciled_with_commercetools"] is True
    held = sorted(expected_receipts(world, day))
    lost, altered = held[0], held[1]
    admin = f"{boxes.engage.url}/__admin/engage/receipts"
    assert httpx.delete(f"{admin}/{lost}").json() == {"forgotten": True}
    sync_only = [dg.AssetKey(["voyado", "receipts_sync"])]
    again = run_daily(world, day, asset_selection=sync_only)
    assert not again.success and checks(again)["reconciled_with_commercetools"] is False
    state = get_engine(get_settings().state_db_url)
    with state.connect() as conn:
        assert key_states(conn, "receipts", [lost])[lost].latest_outcome is Outcome.NOT_HELD
    assert [d.key for d in list_dead_letters(state, endpoint="receipts")] == [lost]
    # The next run sends it again (Voyado does not hold it): Voyado and the ledger agree once more.
    healed = run_daily(world, day, asset_selection=sync_only)
    assert healed.success and checks(healed)["reconciled_with_commercetools"] is True
    assert lost in boxes.engage_app.receipts and list_dead_letters(state, endpoint="receipts") == []
    # Altered in Voyado (a different total): held differently, which fails the check too.
    total = boxes.engage_app.receipts[altered]["receipt"]["totalGrossPrice"]
    httpx.patch(f"{admin}/{altered}", json={"totalGrossPrice": total + 1})
    tampered = run_daily(world, day, asset_selection=sync_only)
    assert checks(tampered)["reconciled_with_commercetools"] is False
    (dead,) = list_dead_letters(state, endpoint="receipts")
    assert dead.key == altered and dead.reason == "not_held_mismatch" and "total" in dead.error


def test_a_receipt_changed_after_voyado_holds_it_is_credited_and_sent_again_as_a_new_revision(world):
    """Engage never updates a receipt: a change to a delivered order goes out as a credit of what Voyado
    holds plus the corrected revision, and Voyado and the ledger agree afterwards; a rerun sends nothing."""
    from decimal import Decimal

    from voyado_sync.settings import get_settings
    from voyado_sync.state.db import get_engine
    from voyado_sync.sync.ledger import key_states
    from voyado_sync.sync.models import Outcome

    day, boxes = world["day"], world["boxes"]
    assert run_daily(world, day).success
    held = boxes.engage_app.receipts
    order = next(o for o in boxes.ct.all("orders") if f"ct-order-{o['id']}" in held
                 and o["lastModifiedAt"][:10] == day)
    base = f"ct-order-{order['id']}"
    boxes.ct.clock = lambda: datetime.fromisoformat(f"{day}T23:30:00+00:00")  # still this day's change
    boxes.ct.update("orders", order["id"], {"orderNumber": f"{order.get('orderNumber')}-FIX"},
                    client_id="shop-backoffice")
    corrected = run_daily(world, day)
    assert corrected.success and checks(corrected)["reconciled_with_commercetools"] is True
    md = corrected.asset_materializations_for_node("voyado__receipts_sync")[0].metadata
    assert md["receipts_corrected"].value == 1
    chain = [base, f"{base}~credit", f"{base}~r2"]
    held = boxes.engage_app.receipts
    assert set(chain) <= set(held)
    totals = [Decimal(str(held[k]["receipt"]["totalGrossPrice"])) for k in chain]
    assert totals[1] == -totals[0] and totals[2] == totals[0]  # nets to the corrected receipt
    assert held[f"{base}~r2"]["receipt"]["receiptNumber"].endswith("-FIX")
    state = get_engine(get_settings().state_db_url)
    with state.connect() as conn:
        states = key_states(conn, "receipts", chain)
    assert {s.latest_outcome for s in states.values()} == {Outcome.HELD}
    effects = len(boxes.engage_app.effects("receipt"))
    assert run_daily(world, day).success and len(boxes.engage_app.effects("receipt")) == effects


def test_every_shopper_has_a_contact_voyado_holds_and_the_check_sees_one_go_missing(world):
    from voyado_sync.settings import get_settings
    from voyado_sync.state import contact_links
    from voyado_sync.state.db import get_engine

    day, boxes = world["day"], world["boxes"]
    first = run_daily(world, day)
    assert first.success and checks(first)["shoppers_have_contacts"] is True
    payload = world["store"].read("voyado/contacts_payload", [day])
    shopper = payload[payload["key"].str.startswith("profile:")].iloc[0]
    contact = contact_links.contacts_of(get_engine(get_settings().state_db_url), [shopper["profile_id"]])
    (contact_id,) = contact.values()
    # Somebody deletes the contact in Voyado: the read-back sees it.
    boxes.engage_app.contacts.require(contact_id)
    import httpx

    httpx.delete(f"{boxes.engage.url}/api/v2/contacts/{contact_id}", headers={
        "apikey": "sandbox-key", "Content-Type": "application/json"}).raise_for_status()
    again = run_daily(world, day, asset_selection=[dg.AssetKey(["voyado", "contacts_sync"])])
    assert checks(again)["shoppers_have_contacts"] is False
