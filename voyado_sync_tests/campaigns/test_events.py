"""Behaviour → Voyado automations (pure): first purchase, tier change, tracked carts and stock levels,
each held back with a reason when the contact has not given marketing consent (or is unknown)."""

from __future__ import annotations

from datetime import datetime, timezone

from voyado_sync.mapping.campaigns import CampaignDay, campaign_events
from voyado_sync.mapping.config import CampaignRule, SaleRule, WritebackRule

RULE, SALE, WB = CampaignRule(), SaleRule(), WritebackRule()
HISTORY = datetime(2026, 1, 1, tzinfo=timezone.utc)


def contact(cid, consent=True, tier="silver"):
    return {"id": cid, "attributes": {}, "consents": [{"id": "newsletter", "value": consent}],
            "loyalty": {"tier": tier}, "meta": {"modifiedOn": "2026-11-20T10:00:00Z"}}


def order(oid, cust, created="2026-11-20T10:00:00.000Z", paid=True, cents=59900):
    return {"id": oid, "orderNumber": f"N-{oid}", "customerId": cust, "createdAt": created, "orderState": "Open",
            "paymentState": "Paid" if paid else "Pending",
            "totalPrice": {"type": "centPrecision", "currencyCode": "SEK", "centAmount": cents, "fractionDigits": 2}}


def day(**kw):
    base = dict(orders=[], earlier_buyers=set(), history_start=HISTORY, customers_created={}, carts=[], inventory=[],
                contacts_today=[], previous_tiers={}, contacts={}, contact_of_customer={}, channel_ids={})
    base.update(kw)
    return CampaignDay(**base)


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_first_purchase_once_per_new_customer_and_only_with_consent():
    created = datetime(2026, 6, 1, tzinfo=timezone.utc)
    d = day(orders=[order("o2", "A", "2026-11-20T12:00:00.000Z"), order("o1", "A"), order("o3", "B"),
                    order("o4", "C"), order("o5", "D", paid=False), order("o6", "E"), order("o7", "F"),
                    order("o8", "G")],
            earlier_buyers={"B"},
            customers_created={"A": created, "B": created, "C": datetime(2025, 5, 1, tzinfo=timezone.utc),
                               "D": created, "E": created, "F": created, "G": created},
            contact_of_customer={"A": "va", "C": "vc", "E": "ve", "F": "vf"},
            contacts={"va": contact("va"), "vc": contact("vc"), "ve": contact("ve", consent=False)})
    rows = by_key(campaign_events(d, RULE, SALE, WB))
    a = rows.pop("first_purchase:A")
    assert a["status"] == "send" and a["payload"] == {
        "triggerId": "first-purchase", "contactId": "va",
        "data": {"orderId": "o1", "orderNumber": "N-o1", "total": "599.00", "currency": "SEK"}}
    assert "first_purchase:B" not in rows and "first_purchase:D" not in rows   # earlier buyer; not a sale yet
    assert rows["first_purchase:C"]["status"] == "held" and "order history" in rows["first_purchase:C"]["reason"]
    assert rows["first_purchase:E"]["reason"] == "marketing suppressed (consent not given)"
    assert rows["first_purchase:F"]["reason"] == "contact unknown: consent not established"
    assert rows["first_purchase:G"]["reason"] == "no Voyado contact"
    assert all(r["payload"] is None for r in rows.values())
    assert not [r for r in campaign_events(d, RULE.model_copy(update={"first_purchase_trigger": None}), SALE, WB)
                if r["kind"] == "first_purchase"]


def test_tier_change_needs_a_previous_tier_and_consent():
    d = day(contacts_today=[contact("v1", tier="gold"), contact("v2", tier="gold"), contact("v3", tier="gold"),
                            contact("v4", consent=False, tier="gold")],
            previous_tiers={"v1": "silver", "v3": "gold", "v4": "silver"},
            contacts={c: contact(c, consent=c != "v4") for c in ("v1", "v2", "v3", "v4")})
    rows = [r for r in campaign_events(d, RULE, SALE, WB) if r["kind"] == "tier_change"]
    assert [(r["contact_id"], r["status"]) for r in rows] == [("v1", "send"), ("v4", "held")]
    assert rows[0]["payload"]["data"] == {"oldTier": "silver", "newTier": "gold"}
    assert rows[0]["key"] == "tier_change:v1:silver->gold:2026-11-20T10:00:00Z"


def test_carts_are_tracked_for_consenting_contacts_and_emptied_once_ordered():
    line = {"variant": {"sku": "SKU-1"}, "quantity": 2}
    d = day(carts=[{"id": "c1", "customerId": "A", "cartState": "Active", "lineItems": [line], "locale": "sv-SE",
                    "lastModifiedAt": "2026-11-20T10:00:00.000Z"},
                   {"id": "c2", "customerId": "A", "cartState": "Ordered", "lineItems": [line],
                    "lastModifiedAt": "2026-11-20T11:00:00.000Z"},
                   {"id": "c3", "anonymousId": "x", "cartState": "Active", "lineItems": [line]},
                   {"id": "c4", "customerId": "B", "cartState": "Active", "lineItems": [line]}],
            contact_of_customer={"A": "va", "B": "vb"}, contacts={"va": contact("va"), "vb": contact("vb", False)})
    rows = by_key(r for r in campaign_events(d, RULE, SALE, WB) if r["kind"] == "cart")
    assert rows["cart:c1"]["payload"] == {"cartReference": "c1", "time": "2026-11-20T10:00:00.000Z", "contactId": "va",
                                          "items": [{"sku": "SKU-1", "quantity": 2}], "language": "sv-SE"}
    assert rows["cart:c2"]["payload"]["items"] == [] and rows["cart:c2"]["status"] == "send"
    assert (rows["cart:c3"]["status"], rows["cart:c3"]["reason"]) == ("held", "anonymous cart")
    assert rows["cart:c4"]["status"] == "held" and rows["cart:c4"]["payload"] is None


def test_stock_levels_of_the_configured_channel():
    inv = [{"sku": "S1", "availableQuantity": 4}, {"sku": "S2", "availableQuantity": -2},
           {"sku": "S1", "availableQuantity": 9, "supplyChannel": {"typeId": "channel", "id": "wh"}}]
    rows = [r for r in campaign_events(day(inventory=inv, channel_ids={"WH": "wh"}), RULE, SALE, WB)]
    assert [(r["key"], r["payload"]) for r in rows] == [("stock:S1", {"sku": "S1", "quantity": 4}),
                                                       ("stock:S2", {"sku": "S2", "quantity": 0})]
    wh = campaign_events(day(inventory=inv, channel_ids={"WH": "wh"}), RULE.model_copy(update={"stock_channel": "WH"}),
                         SALE, WB)
    assert [r["payload"] for r in wh] == [{"sku": "S1", "quantity": 9}]
    unknown = campaign_events(day(inventory=inv), RULE.model_copy(update={"stock_channel": "NOPE"}), SALE, WB)
    assert [(r["status"], r["reason"]) for r in unknown] == [("held", "stock channel 'NOPE' is not a known channel key")]
