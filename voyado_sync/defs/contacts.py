"""Identity profiles → Voyado contacts: the payload asset (create or PATCH diff per profile) and the
push asset. Every shopper with a sale gets its contact before its receipts go: a registered customer as
a member (externalId = customer id), a guest or POS-only shopper as ``contacts.shopper_contact_type``,
located by email or phone first. The contact id Voyado answers (created or located) is recorded for the
profile (`voyado_sync.state.contact_links`), so the same run's receipts match it by ContactId. Consent and
preferences are owned by Voyado and never written here."""

import json
from collections import defaultdict
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.documents import latest_documents
from voyado_sync.mapping.contacts import contact_request, is_shopper
from voyado_sync.state import contact_links
from voyado_sync.seam import Batch, Built, PayloadSpec, PushSpec, Step, push_assets, rate_budget
from voyado_sync.sync.readback import contacts_held
from voyado_sync.settings import get_settings
from voyado_sync.sync.endpoints import Api
from voyado_sync.sync.models import Outcome, SyncItem, SyncReport

PAYLOAD_DATASET = "voyado/contacts_payload"
# key + payload (the exact SyncItem payload) follow the convention replay reads dead letters' payloads by.
COLUMNS = ["profile_id", "key", "action", "contact_id", "body", "params", "payload"]


def _value(row: Any, name: str) -> Any:
    value = row.get(name)
    return None if value is None or (isinstance(value, float) and value != value) else value


def contact_requests(profiles: pd.DataFrame, stored: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per profile to create (a registered customer, or a shopper with a sale and an email or phone
    to be found again by) or to PATCH (its contact changed in the shop). A profile with neither is left
    alone: a contact without a sale would be recruiting without consent. A profile whose contact id is
    unknown to the contacts dataset is left alone too (a known id we cannot read is not created again)."""
    config = mapping_config()
    rows = []
    for profile in profiles.to_dict("records"):
        customer = _value(profile, "ct_customer_id")
        contact_id = _value(profile, "voyado_contact_id")
        if not customer and not contact_id and not is_shopper(profile):
            continue
        profile = {k: _value(profile, k) for k in profile}
        if contact_id:
            current = stored.get(contact_id)
            if current is None:
                continue
            req = contact_request(profile, current, config)
        else:
            req = contact_request(profile, None, config)
        if req.action == "none" or (req.action == "create" and not customer and not (
                req.body.get("email") or req.body.get("mobilePhone"))):
            continue
        key = (customer or f"profile:{profile.get('profile_id')}") if req.action == "create" else \
            f"contact:{req.contact_id}"
        payload = req.body if req.action == "create" else {"contactId": req.contact_id, "changes": req.body}
        rows.append((profile.get("profile_id"), key, req.action, req.contact_id, json.dumps(req.body, sort_keys=True),
                     json.dumps(req.params, sort_keys=True), json.dumps(payload, sort_keys=True)))
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def build_payload(step: Step) -> Built:
    """Contact creates (registered customers without a Voyado contact) and PATCH diffs (only changed
    fields, never blanking a stored value) for the profiles touched in the partition."""
    profiles = step.store.read("identity/profiles", [step.partition_key])
    stored = {doc["id"]: doc for doc in latest_documents(step.store, "voyado/contacts")}
    frame = contact_requests(profiles, stored)
    actions = frame["action"].value_counts() if not frame.empty else pd.Series(dtype=int)
    return Built(frame, metadata={
        "profiles": dg.MetadataValue.int(len(profiles)),
        "creates": dg.MetadataValue.int(int(actions.get("create", 0))),
        "updates": dg.MetadataValue.int(int(actions.get("update", 0))),
        "changed_fields": dg.MetadataValue.json(
            pd.Series([f for b in frame.loc[frame["action"] == "update", "body"] for f in json.loads(b)])
            .value_counts().to_dict() if not frame.empty else {}),
    })


def bulk_min() -> int:
    """From this many creates for one store on, use the bulk endpoint (≤ 4 000 per request) instead of
    one request per contact; an initial load of a shop is thousands of creates."""
    return get_settings().contacts_bulk_min


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Creates and updates Voyado contacts through the sync engine (externalId = Commercetools customer
    id; a create interrupted mid-request is looked up before it is resent). Creates go per recruiting
    store, in bulk from `bulk_min` on, then the updates."""
    key = step.partition_key
    creates: dict[str | None, list[SyncItem]] = defaultdict(list)
    updates: list[SyncItem] = []
    for row in frame.itertuples(index=False):
        payload = json.loads(row.payload)
        if row.action == "create":
            store_id = json.loads(row.params).get("storeExternalId")
            creates[store_id].append(SyncItem(row.key, "contacts_create", payload, key, PAYLOAD_DATASET))
        else:
            updates.append(SyncItem(row.key, "contacts_update", payload, key, PAYLOAD_DATASET))
    rules = mapping_config().rules.contacts
    batches = []
    for store_id, items in sorted(creates.items(), key=lambda kv: kv[0] or ""):
        if len(items) >= bulk_min():
            # The bulk endpoint takes no storeExternalId: the recruiting store travels as createdInStore.
            rows = [SyncItem(it.key, "contacts_bulk_create",
                             {**it.payload, **({"createdInStore": store_id} if store_id else {})}, key, PAYLOAD_DATASET)
                    for it in items]
            batches.append(Batch("contacts_bulk_create", rows, {"contact_type": rules.contact_type}))
        else:
            batches.append(Batch("contacts_create", items,
                                 {"source": rules.source, "store_external_id": store_id}))
    return batches + [Batch("contacts_update", updates)]


CONTACTS_HELD = "shoppers_have_contacts"


def shoppers_check(step: Step) -> dg.AssetCheckResult:
    """Read back from Voyado that every shopper of the partition (a profile with a sale and an email or
    phone to be found by) has a contact it holds: the contact identity chose, or the one created or
    located for the profile."""
    profiles = step.store.read("identity/profiles", [step.partition_key])
    rows = [p for p in profiles.to_dict("records") if is_shopper(p)
            and (_value(p, "email") or _value(p, "mobile_phone") or _value(p, "voyado_contact_id"))]
    engine = step.state_db.engine()
    linked = contact_links.contacts_of(engine, [p["profile_id"] for p in rows])
    contact_of = {p["profile_id"]: _value(p, "voyado_contact_id") or linked.get(p["profile_id"]) for p in rows}
    engage = step.resource("engage")
    answers = contacts_held(engage.client(), rate_budget(engine, engage),
                            [c for c in contact_of.values() if c], workers=engage.max_concurrency)
    without = sorted(p for p, c in contact_of.items() if not c)
    lost = sorted(p for p, c in contact_of.items() if c and answers.get(c) != "held")
    return dg.AssetCheckResult(
        check_name=CONTACTS_HELD, passed=not without and not lost, severity=dg.AssetCheckSeverity.WARN,
        description=None if not (without or lost) else (
            f"{len(without)} shoppers have no contact (see the dead letters), {len(lost)} have one Voyado "
            f"does not hold (deleted, or unreadable)"),
        metadata={"shoppers": len(rows), "contacts_read_back": len(answers), "without_contact": len(without),
                  "contact_not_held": len(lost), "profiles": dg.MetadataValue.json((without + lost)[:20])})


def delivered(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list]:
    """What Voyado gained, not what was attempted (a create that finds its contact already there is a
    duplicate, a create refused because another contact owns the email is a dead letter), and the
    contact Voyado answered for each profile, recorded for the receipts that follow."""
    creates = frame[frame["action"] == "create"] if not frame.empty else frame
    answered = report.remote_ids
    links = {profile: (answered[key][0], "located" if answered[key][1] == Outcome.DUPLICATE.value else "created")
             for key, profile in zip(creates.get("key", []), creates.get("profile_id", []))
             if key in answered and isinstance(profile, str)}
    checks = [dg.AssetCheckResult(check_name=CONTACTS_HELD, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                  description="dry run: nothing was sent, nothing read back")]
    if not step.dry_run:
        contact_links.record(step.state_db.engine(), links)
        checks = [shoppers_check(step)]
    return {**{name: dg.MetadataValue.int(report.count_in(endpoints, Outcome.SENT, Outcome.RETRIED))
               for name, endpoints in (("contacts_created", ("contacts_create", "contacts_bulk_create")),
                                       ("contacts_updated", ("contacts_update",)))},
            "contacts_located": dg.MetadataValue.int(sum(1 for _, via in links.values() if via == "located")),
            "shopper_creates": dg.MetadataValue.int(int(creates["key"].str.startswith("profile:").sum())
                                                    if len(creates) else 0)}, checks


SPEC = PushSpec(
    key=("voyado", "contacts_sync"), api=Api.ENGAGE, dataset=PAYLOAD_DATASET, plan=plan, summarize=delivered,
    checks=[dg.AssetCheckSpec(CONTACTS_HELD, asset=dg.AssetKey(["voyado", "contacts_sync"]),
                              description="Every shopper of the partition (a profile with a sale and an email or "
                                          "phone) has a contact Voyado holds, read back from Voyado.")],
    payload=PayloadSpec(build_payload,
                        deps=[dg.AssetKey(["identity", "profiles"]), dg.AssetKey(["voyado", "contacts"])]),
)

contacts_payload, contacts_sync = push_assets(SPEC)
