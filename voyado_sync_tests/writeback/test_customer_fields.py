"""Voyado contacts → Commercetools customer custom fields (pure): what a contact says, which customer it
writes to, and the smallest set of actions that brings a customer there."""

from __future__ import annotations

import pytest

from voyado_sync.mapping.config import WritebackRule
from voyado_sync.mapping.customer_fields import (FIELDS, customer_targets, desired_fields, field_actions,
                                                 missing_definitions)

RULE = WritebackRule()


def contact(cid="c1", external="cust-1", consents=(("newsletter", True),), **extra):
    doc = {"id": cid, "attributes": {"externalId": external, "memberNumber": "M1", "contactType": "Member"},
           "preferences": {"acceptsEmail": True, "acceptsSms": False},
           "consents": [{"id": k, "value": v, "date": "2026-11-25T15:22:59+01:00", "source": "e-com"} for k, v in consents],
           "meta": {"modifiedOn": "2026-11-25T16:20:55.123+01:00"}, "loyalty": {"tier": "gold"}}
    doc.update(extra)
    return doc


def test_desired_fields_say_what_voyado_knows():
    f = desired_fields(contact(consents=(("newsletter", True), ("profiling", False), ("sms", True))), RULE, 1200)
    assert set(f) == set(FIELDS) and f["voyadoPointBalance"] == 1200
    assert "voyadoPointBalance" not in desired_fields(contact(), RULE)   # unread: left as it is, not removed
    assert f["voyadoContactId"] == "c1" and f["voyadoMemberNumber"] == "M1" and f["voyadoContactType"] == "Member"
    assert (f["voyadoAcceptsEmail"], f["voyadoAcceptsSms"], f["voyadoAcceptsPostal"]) == (True, False, None)
    assert f["voyadoConsents"] == ["newsletter", "sms"] and f["voyadoMarketingSuppressed"] is False
    assert f["voyadoLoyaltyTier"] == "gold"
    assert f["voyadoModifiedOn"] == "2026-11-25T15:20:55.123Z"  # Commercetools DateTime, UTC


@pytest.mark.parametrize("consents", [(), (("newsletter", False),), (("other", True),), (("newsletter", "yes"),)])
def test_marketing_is_suppressed_unless_the_consent_is_explicitly_true(consents):
    assert desired_fields(contact(consents=consents), RULE)["voyadoMarketingSuppressed"] is True


def test_tier_path_is_configuration():
    assert desired_fields(contact(), RULE.model_copy(update={"tier_path": None}))["voyadoLoyaltyTier"] is None
    other = RULE.model_copy(update={"tier_path": "attributes.memberNumber"})
    assert desired_fields(contact(), other)["voyadoLoyaltyTier"] == "M1"


def test_targets_external_id_then_identity_then_refusals():
    rows = {r["contact_id"]: r for r in customer_targets(
        [contact("c1", "cust-1"), contact("c2", None), contact("c3", None), contact("c4", "cust-9"),
         contact("c5", "cust-9"), {"attributes": {}}],
        {"c2": "cust-2"}, RULE)}
    assert rows["c1"]["key"] == "cust-1" and rows["c1"]["status"] == "update"
    assert rows["c1"]["payload"]["customerId"] == "cust-1"
    assert rows["c2"]["key"] == "cust-2" and rows["c2"]["status"] == "update"
    assert (rows["c3"]["status"], rows["c3"]["reason"], rows["c3"]["key"]) == (
        "skipped", "no Commercetools customer", "unmapped:contact:c3")
    for cid in ("c4", "c5"):
        assert rows[cid]["status"] == "rejected" and "claimed by 2 Voyado contacts: c4, c5" in rows[cid]["reason"]
        assert rows[cid]["payload"] is None
    assert rows[None]["status"] == "rejected" and rows[None]["reason"] == "contact without id"


def test_actions_set_a_type_only_on_a_customer_without_one():
    fields = desired_fields(contact(), RULE)
    (action,) = field_actions({"id": "cust-1", "version": 3}, fields, RULE, [])
    assert action["action"] == "setCustomType" and action["type"] == {"typeId": "type", "key": RULE.type_key}
    assert "voyadoAcceptsPostal" not in action["fields"] and action["fields"]["voyadoConsents"] == ["newsletter"]


def test_actions_are_a_diff_on_the_type_the_customer_has():
    fields = desired_fields(contact(), RULE)
    held = {k: v for k, v in fields.items() if v is not None}
    held["voyadoConsents"] = list(reversed(held["voyadoConsents"]))
    customer = {"custom": {"type": {"typeId": "type", "id": "legacy"}, "fields": {**held, "legacyCrmId": "L-1"}}}
    assert field_actions(customer, fields, RULE, ["legacy"]) == []   # up to date: nothing to send
    changed = dict(fields, voyadoLoyaltyTier="platinum", voyadoMemberNumber=None)
    assert field_actions(customer, changed, RULE, ["legacy"]) == [
        {"action": "setCustomField", "name": "voyadoMemberNumber"},            # removed in Voyado
        {"action": "setCustomField", "name": "voyadoLoyaltyTier", "value": "platinum"}]
    with pytest.raises(ValueError, match="custom type legacy"):
        field_actions(customer, changed, RULE, ["ours"])


def test_missing_definitions_and_clashes():
    missing, clashes = missing_definitions({"fieldDefinitions": [
        {"name": "legacyCrmId", "type": {"name": "String"}}, {"name": "voyadoContactId", "type": {"name": "String"}},
        {"name": "voyadoLoyaltyTier", "type": {"name": "Enum", "values": []}}]})
    assert "voyadoContactId" not in [d["name"] for d in missing] and len(missing) == len(FIELDS) - 2
    assert clashes == ["voyadoLoyaltyTier"]
