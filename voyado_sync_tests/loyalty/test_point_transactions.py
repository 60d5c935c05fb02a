"""Points at checkout → Voyado point transactions (pure): redemptions always, earn only when
Commercetools is the system of record; held back until the order is a sale and has a contact."""

from __future__ import annotations

from voyado_sync.mapping.config import LoyaltyRule, SaleRule
from voyado_sync.mapping.loyalty import point_transactions

SALE = SaleRule()


def order(oid, cust="cust-1", paid=True, **fields):
    return {"id": oid, "orderNumber": f"N{oid}", "customerId": cust, "createdAt": "2026-11-20T10:00:00.000Z",
            "orderState": "Open", "paymentState": "Paid" if paid else "Pending",
            "custom": {"type": {"typeId": "type", "id": "t"}, "fields": fields}}


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_voyado_system_of_record_books_redemptions_only():
    rows = by_key(point_transactions(
        [order("1", loyaltyPointsRedeemed=200, loyaltyPointsEarned=60), order("2", loyaltyPointsRedeemed=0),
         order("3")], {"cust-1": "c-1"}, LoyaltyRule(), SALE))
    assert list(rows) == ["ct-points:1:burn"]
    assert rows["ct-points:1:burn"]["payload"] == {
        "contactId": "c-1", "amount": -200, "definitionId": 1, "timeStamp": "2026-11-20T10:00:00.000Z",
        "source": "e-com", "description": "Redeemed in order N1"}


def test_commercetools_system_of_record_books_earn_too():
    rule = LoyaltyRule(system_of_record="commercetools", definition_id=7, source="webshop")
    rows = by_key(point_transactions([order("1", loyaltyPointsRedeemed=200.0, loyaltyPointsEarned=60)],
                                     {"cust-1": "c-1"}, rule, SALE))
    assert rows["ct-points:1:earn"]["payload"]["amount"] == 60 and rows["ct-points:1:burn"]["payload"]["amount"] == -200
    assert rows["ct-points:1:earn"]["payload"]["definitionId"] == 7
    assert rows["ct-points:1:earn"]["payload"]["description"] == "Earned in order N1"


def test_held_and_rejected_say_why():
    rows = by_key(point_transactions(
        [order("1", paid=False, loyaltyPointsRedeemed=10), order("2", cust=None, loyaltyPointsRedeemed=10),
         order("3", cust="cust-9", loyaltyPointsRedeemed=10), order("4", loyaltyPointsRedeemed=2.5),
         order("5", loyaltyPointsRedeemed=-3), order("6", loyaltyPointsRedeemed="10")],
        {"cust-1": "c-1"}, LoyaltyRule(), SALE))
    assert rows["ct-points:1:burn"]["status"] == "held" and "not a sale yet" in rows["ct-points:1:burn"]["reason"]
    assert rows["ct-points:2:burn"]["reason"] == "guest order"
    assert rows["ct-points:3:burn"]["reason"] == "no Voyado contact"
    for k in ("4", "5", "6"):
        assert rows[f"ct-points:{k}:burn"]["status"] == "rejected"
        assert "not a whole number of points" in rows[f"ct-points:{k}:burn"]["reason"]
    assert all(r["payload"] is None for r in rows.values())


def test_a_cancelled_order_gives_back_only_what_was_booked_once():
    rule = LoyaltyRule(system_of_record="commercetools")
    cancelled = [dict(order("1", loyaltyPointsRedeemed=200, loyaltyPointsEarned=60), orderState="Cancelled",
                      lastModifiedAt="2026-11-21T09:00:00.000Z"),
                 dict(order("2", loyaltyPointsRedeemed=50), orderState="Cancelled")]
    rows = by_key(point_transactions(cancelled, {"cust-1": "c-1"}, rule, SALE, booked={"ct-points:1:burn",
                                                                                       "ct-points:1:earn"}))
    assert set(rows) == {"ct-points:1:burn:reversal", "ct-points:1:earn:reversal"}   # order 2 was never booked
    assert rows["ct-points:1:burn:reversal"]["payload"]["amount"] == 200
    assert rows["ct-points:1:earn:reversal"]["payload"]["amount"] == -60
    assert rows["ct-points:1:burn:reversal"]["payload"]["description"] == "Order N1 cancelled"
    assert rows["ct-points:1:burn:reversal"]["payload"]["timeStamp"] == "2026-11-21T09:00:00.000Z"
    assert point_transactions(cancelled, {"cust-1": "c-1"}, rule, SALE) == []
