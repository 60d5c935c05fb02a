"""The ground truth covers every record, and every identity scenario issue 5 lists is planted."""

from __future__ import annotations

from collections import defaultdict

import phonenumbers
import pytest

from voyado_sync.sandbox.generator.people import GARBAGE_EMAILS, GARBAGE_PHONES

E164 = phonenumbers.PhoneNumberFormat.E164


def e164(raw, region):
    if not raw or not raw.strip():
        return None
    try:
        n = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(n, E164) if phonenumbers.is_valid_number(n) else None


def record_phones(ds):
    """(source, record_id) → set of valid E.164 phones on the record."""
    out = defaultdict(set)
    for c in ds.customers:
        for a in c["addresses"]:
            for f in ("mobile", "phone"):
                if (p := e164(a.get(f), a["country"])):
                    out[("ct_customer", c["id"])].add(p)
    for o in ds.orders:
        for a in (o["billingAddress"], o["shippingAddress"]):
            for f in ("mobile", "phone"):
                if (p := e164(a.get(f), o["billingAddress"]["country"])):
                    out[("ct_order", o["id"])].add(p)
    for r in ds.pos_receipts:
        if (p := e164(r["customer"]["phone"], r["customer"]["country"])):
            out[("pos_receipt", r["receipt_id"])].add(p)
    for c in ds.voyado_contacts:
        if (p := e164(c["attributes"].get("mobilePhone"), None)):
            out[("voyado_contact", c["id"])].add(p)
    return out


@pytest.fixture(scope="module")
def truth(ds):
    return {(s, r): p for s, r, p in ds.ground_truth.itertuples(index=False)}


@pytest.fixture(scope="module")
def persons(ds):
    return {p["person_id"]: p for p in ds.persons}


def test_ground_truth_covers_every_record_exactly_once(ds, truth, persons):
    expected = ([("ct_customer", c["id"]) for c in ds.customers] + [("ct_order", o["id"]) for o in ds.orders]
                + [("pos_receipt", r["receipt_id"]) for r in ds.pos_receipts]
                + [("voyado_contact", c["id"]) for c in ds.voyado_contacts])
    assert len(ds.ground_truth) == len(expected) == len(truth)
    assert set(truth) == set(expected)
    assert set(truth.values()) <= set(persons)
    assert list(ds.ground_truth.columns) == ["source", "record_id", "person_id"]
    for c in ds.customers:
        assert c["id"] in persons[truth[("ct_customer", c["id"])]]["customer_ids"]
    for o in ds.orders:
        if "customerId" in o:
            assert truth[("ct_order", o["id"])] == truth[("ct_customer", o["customerId"])]


def test_one_person_with_two_web_accounts(ds, truth):
    accounts = defaultdict(list)
    for c in ds.customers:
        accounts[truth[("ct_customer", c["id"])]].append(c["email"].strip().lower())
    doubles = [emails for emails in accounts.values() if len(emails) == 2]
    assert doubles and all(a != b for a, b in doubles)


def test_households_share_a_phone_and_numbers_get_recycled(ds, truth, persons):
    phones = record_phones(ds)
    owners = defaultdict(set)
    for rec, ps in phones.items():
        for p in ps:
            owners[p].add(truth[rec])
    shared = {p: who for p, who in owners.items() if len(who) > 1}
    households = defaultdict(set)
    for p in persons.values():
        if p["household_id"]:
            households[p["household_id"]].add(p["person_id"])
    assert any(len(m) >= 2 for m in households.values())
    family_phones = {p for p, who in shared.items()
                     if len({persons[x]["household_id"] for x in who}) == 1 and persons[next(iter(who))]["household_id"]}
    assert family_phones, "no household phone seen on records of two family members"
    recycled = [p for p in persons.values() if p["old_phone"]]
    assert recycled
    seen_recycled = [p for p in recycled if p["old_phone"] in shared
                     and any(persons[x]["phone"] == p["old_phone"] for x in shared[p["old_phone"]] if x != p["person_id"])]
    assert seen_recycled, "no recycled number seen on records of both its old and its new owner"


def test_guests_store_only_shoppers_and_members(ds, truth, persons):
    guest_orders = [o for o in ds.orders if "customerId" not in o]
    assert guest_orders and all(o["customerEmail"] is not None for o in guest_orders)
    guest_people = {truth[("ct_order", o["id"])] for o in guest_orders}
    assert any(persons[p]["kind"] == "guest" for p in guest_people)
    assert any(persons[p]["kind"] == "registered" for p in guest_people)  # guest checkout, account elsewhere
    share = len(guest_orders) / len(ds.orders)
    assert 0.15 < share < 0.35
    pos_people = {truth[("pos_receipt", r["receipt_id"])] for r in ds.pos_receipts}
    store_only = [p for p in pos_people if persons[p]["kind"] == "store"]
    assert store_only and all(not persons[p]["customer_ids"] for p in store_only)
    kinds = {tuple(k for k in ("member_number", "card_id", "phone", "email") if r["customer"][k])
             for r in ds.pos_receipts}
    assert ("member_number",) in kinds and ("card_id",) in kinds and ("phone",) in kinds and () in kinds


def test_formatting_noise_and_garbage(ds, persons):
    emails = [c["email"] for c in ds.customers] + [o["customerEmail"] for o in ds.orders]
    assert any(e != e.strip() for e in emails) and any(e.strip() != e.strip().lower() for e in emails)
    phones = [a.get("mobile") for c in ds.customers for a in c["addresses"] if a.get("mobile")]
    phones += [o["billingAddress"].get("mobile") for o in ds.orders if o["billingAddress"].get("mobile")]
    assert any(p.startswith("+") and " " in p for p in phones)   # +46 70 123 45 67
    assert any(p.startswith("00") for p in phones)                # 0046701234567
    assert any(p[0] == "0" and p[1] != "0" for p in phones)       # 070-123 45 67
    assert any(p[0].isdigit() and p[0] != "0" for p in phones)    # Norwegian/Danish national: 412 34 567
    garbage_phones = set(GARBAGE_PHONES)
    garbage_emails = set(GARBAGE_EMAILS)
    seen_garbage_phone = [p for p in phones if p in garbage_phones]
    seen_garbage_email = [e for e in emails if e in garbage_emails or "@" not in e or e.count("@") > 1
                          or "." not in e.partition("@")[2]]
    pos_garbage = [r for r in ds.pos_receipts if r["customer"]["phone"] in garbage_phones
                   or r["customer"]["email"] in garbage_emails]
    assert seen_garbage_phone and seen_garbage_email and pos_garbage
    canonical = {p["email"] for p in persons.values()} | {p["email2"] for p in persons.values() if p["email2"]}
    assert not canonical & garbage_emails
    assert not any(e.strip().lower() in canonical for e in seen_garbage_email)


def test_canonical_identifiers_are_valid(ds, persons):
    for p in persons.values():
        for f in ("phone", "home_phone", "old_phone"):
            if p[f]:
                assert e164(p[f], None) == p[f], (p["person_id"], f, p[f])
        assert p["email"] == p["email"].strip().lower() and p["email"].count("@") == 1
    emails = [p["email"] for p in persons.values()] + [p["email2"] for p in persons.values() if p["email2"]]
    assert len(emails) == len(set(emails))


def test_voyado_contacts(ds, truth, persons):
    contacts = ds.voyado_contacts
    assert contacts
    per_person = defaultdict(list)
    for c in contacts:
        per_person[truth[("voyado_contact", c["id"])]].append(c)
        a = c["attributes"]
        assert set(c) == {"id", "attributes", "preferences", "consents", "meta", "loyalty"}
        assert a["contactType"] in ("Member", "Contact") and a["countryCode"] in ("SE", "NO", "DK", "FI", "DE")
        if "mobilePhone" in a:
            assert e164(a["mobilePhone"], None) == a["mobilePhone"]
        if "externalId" in a:
            assert truth[("ct_customer", a["externalId"])] == truth[("voyado_contact", c["id"])]
        assert set(c["preferences"]) == {"acceptsEmail", "acceptsSms", "acceptsPostal"}
        assert all(set(x) == {"id", "value", "date", "source", "comment"} for x in c["consents"])
        assert c["loyalty"]["tier"] in ("silver", "gold", "platinum") and c["loyalty"]["points"] >= 0
        assert c["loyalty"]["definitionId"] == 1
    assert any(len(cs) > 1 for cs in per_person.values())  # duplicate contacts for one person
    registered = [p for p in persons.values() if p["kind"] == "registered"]
    in_voyado = [p for p in registered if p["person_id"] in per_person]
    assert len(in_voyado) / len(registered) > 0.7
    store = [p for p in persons.values() if p["kind"] == "store"]
    assert all(p["person_id"] in per_person for p in store)
    members = {c["attributes"]["memberNumber"] for c in contacts if "memberNumber" in c["attributes"]}
    pos_members = {r["customer"]["member_number"] for r in ds.pos_receipts if r["customer"]["member_number"]}
    assert pos_members and pos_members <= members
    assert {t for cs in per_person.values() for c in cs for t in [c["loyalty"]["tier"]]} >= {"silver", "gold"}
