"""One hand-written scenario per rule, through extraction from raw documents to profiles."""

from __future__ import annotations

import json

from voyado_sync.identity.rules import IdentityRules, Unmerge, load_rules
from voyado_sync.privacy import hash_value

from .helpers import RULES, contact, customer, decisions_of, order, profile_of, receipt, run, together


def test_person_with_two_emails_joins_through_the_account():
    r = run([customer("c1", "anna@mail.se", "0701234567")],
            [order("o1", "c1", "anna.work@corp.se"), order("o2", None, "anna.work@corp.se")])
    assert together(r, "ct_customer:c1", "ct_order:o1", "ct_order:o2")
    prof = r.profiles.iloc[0]
    assert prof["email"] == "anna@mail.se"  # the customer record outranks orders (source priority)
    assert sorted(prof["emails"]) == ["anna.work@corp.se", "anna@mail.se"]


def test_shared_family_phone_never_merges_two_people():
    r = run([customer("c1", "mum@mail.se", "070-123 45 67"), customer("c2", "kid@mail.se", "+46701234567")],
            receipts=[receipt("r1", phone="0701234567")])
    assert not together(r, "ct_customer:c1", "ct_customer:c2")
    # The phone-only receipt could be either person's: it stays on its own.
    assert not together(r, "ct_customer:c1", "pos_receipt:r1")
    assert not together(r, "ct_customer:c2", "pos_receipt:r1")
    conflict = decisions_of(r, "conflict")
    assert list(conflict["rule"]) == ["no_bridge:email"]  # a phone never joins two people with own emails
    assert list(conflict["value_hash"]) == [hash_value("+46701234567", "phone")]
    sides = json.loads(conflict.iloc[0]["evidence"])["sides"]
    assert {tuple(s["sources"]) for s in sides} == {("ct_customer",), ("pos_receipt",)}
    assert (r.edges.loc[r.edges["id_type"] == "phone", "outcome"] == "preserved_conflict").all()


def test_person_with_two_web_accounts_is_one_profile_and_a_third_account_is_a_conflict():
    accounts = [customer("c1", "anna@mail.se"), customer("c2", "anna.alt@mail.se"), customer("c3", "anna3@mail.se")]
    # Logged in as c1 with the second account's email; later as c2 with the third account's email.
    orders = [order("o1", "c1", "anna.alt@mail.se"), order("o2", "c2", "anna3@mail.se")]
    r = run(accounts, orders)
    assert together(r, "ct_customer:c1", "ct_customer:c2", "ct_order:o1")
    assert not together(r, "ct_customer:c1", "ct_customer:c3")
    conflict = decisions_of(r, "conflict")
    assert list(conflict["rule"]) == ["limit:ct_customer_id"]
    assert list(conflict["value_hash"]) == [hash_value("anna3@mail.se", "email")]
    assert sorted(r.profiles.loc[r.profiles["ct_customer_ids"].map(len) == 2, "ct_customer_ids"].iloc[0]) == ["c1", "c2"]
    # One account per profile is one setting away.
    strict = IdentityRules(**{**RULES.model_dump(), "limits": {**RULES.limits, "ct_customer_id": 1}})
    r1 = run(accounts, orders, rules=strict)
    assert not together(r1, "ct_customer:c1", "ct_customer:c2")
    assert set(decisions_of(r1, "conflict")["rule"]) == {"limit:ct_customer_id"}


def test_recycled_phone_does_not_join_the_new_owner_to_the_old_one():
    r = run(orders=[order("o-old", None, "old@mail.se", "0709999999", at="2021-01-01T00:00:00Z"),
                    order("o-new", None, "new@mail.se", "0709999999", at="2025-06-01T00:00:00Z")])
    assert not together(r, "ct_order:o-old", "ct_order:o-new")
    assert decisions_of(r, "conflict")["rule"].tolist() == ["no_bridge:email"]


def test_guest_then_registered_merges_and_keeps_the_older_id():
    first = run(orders=[order("o1", None, "Guest@Mail.se ")])
    guest_pid = profile_of(first)["ct_order:o1"]
    second = run([customer("c9", "guest@mail.se")], [order("o2", "c9", "guest@mail.se")], graph=first.graph)
    assert together(second, "ct_order:o1", "ct_customer:c9", "ct_order:o2")
    assert profile_of(second)["ct_customer:c9"] == guest_pid  # the guest profile is older: its id survives


def test_pos_member_with_phone_only_joins_through_the_member_number():
    r = run(receipts=[receipt("r1", member="M1", phone="070-555 12 12"), receipt("r2", phone="0705551212")],
            contacts=[contact("V1", "member@mail.se", member="m1")])
    assert together(r, "pos_receipt:r1", "pos_receipt:r2", "voyado_contact:V1")
    assert r.profiles.iloc[0]["mobile_phone"] == "+46705551212"


def test_blocked_and_garbage_values_never_link_and_are_counted_with_reason():
    r = run(orders=[order("o1", None, "noreply@shop.se", "000-000"), order("o2", None, "noreply@shop.se", "000-000"),
                    order("o3", None, "foo@", "12"), order("o4", None, "  ", "n/a"), order("o5", None, "x@example.com")])
    assert len(set(profile_of(r).values())) == 5
    reasons = dict(zip(r.edges["raw_value"].astype(str), r.edges["rule"].astype(str)))
    assert reasons["noreply@shop.se"] == "placeholder_email"
    assert reasons["000-000"] == "all_zeros"
    assert reasons["foo@"] == "malformed_email"
    assert reasons["12"].startswith("phone_")
    assert reasons["n/a"] == "placeholder"
    assert reasons["x@example.com"] == "test_domain"
    refused = r.decisions[r.decisions["decision"].isin(["blocked", "invalid"])]
    assert refused["record_count"].sum() == len(r.edges)  # every refused occurrence is counted once
    assert "noreply" not in r.decisions.to_json()


def test_duplicate_voyado_contacts_are_reported_never_merged():
    r = run(contacts=[contact("V1", "same@mail.se"), contact("V2", "same@mail.se")])
    assert not together(r, "voyado_contact:V1", "voyado_contact:V2")
    cm = r.contact_map.set_index("voyado_contact_id")
    assert cm.loc["v1", "status"] == "conflict" and cm.loc["v1", "other_contact_ids"] == ["v2"]
    assert cm.loc["v2", "status"] == "conflict" and cm.loc["v2", "other_contact_ids"] == ["v1"]


def test_existing_contact_wins_and_profile_without_contact_is_created():
    r = run([customer("c1", "a@mail.se"), customer("c2", "b@mail.se")], contacts=[contact("V1", "a@mail.se")])
    cm = r.contact_map.set_index("profile_id")["status"].to_dict()
    assert sorted(cm.values()) == ["create", "existing"]


def test_unmerge_by_records_splits_and_anchor_keeps_its_id():
    docs = dict(customers=[customer("c1", "pat@mail.se")], orders=[order("o1", None, "pat@mail.se"),
                                                                  order("o2", None, "pat@mail.se")])
    first = run(**docs)
    pid = profile_of(first)["ct_customer:c1"]
    rules = IdentityRules(**{**RULES.model_dump(), "unmerge": [Unmerge(records=["ct_customer:c1", "ct_order:o2"],
                                                                       reason="ticket 7")]})
    second = run(**docs, rules=rules, graph=first.graph)
    p = profile_of(second)
    assert p["ct_customer:c1"] == pid and p["ct_order:o2"] != pid
    assert decisions_of(second, "conflict")["rule"].tolist() == ["manual_unmerge"]
    split = decisions_of(second, "profile_split")
    assert split["profile_id"].tolist() == [p["ct_order:o2"]]
    assert json.loads(split.iloc[0]["evidence"])["from"] == [pid]


def test_unmerge_by_identifier_blocks_the_value():
    rules = IdentityRules(**{**RULES.model_dump(), "unmerge": [Unmerge(id_type="phone", value="+46701112233")]})
    r = run(orders=[order("o1", None, None, "0701112233"), order("o2", None, None, "070-111 22 33")], rules=rules)
    assert not together(r, "ct_order:o1", "ct_order:o2")
    assert set(r.edges["rule"].astype(str)) == {"manual_unmerge"}


def test_shared_threshold_keeps_a_shop_phone_as_attribute():
    customers = [customer(f"c{i}", f"p{i}@mail.se", "0701230000") for i in range(5)]
    r = run(customers)
    assert len(set(profile_of(r).values())) == 5
    assert set(r.edges.loc[r.edges["id_type"] == "phone", "outcome"]) == {"shared"}
    assert len(decisions_of(r, "shared")) == 1
    assert all(list(p) == ["+46701230000"] for p in r.profiles["phones"])


def test_default_rules_file_loads_and_documents_limits():
    rules = load_rules()
    assert rules.limits == {"ct_customer_id": 2, "voyado_contact_id": 1, "member_number": 1, "email": 3, "phone": 3}
    assert rules.priority[0] == "ct_customer_id" and rules.priority[-1] == "phone"
