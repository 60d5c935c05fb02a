"""Points redeemed (and, when Commercetools is the system of record, earned) at checkout → Voyado point
transactions (reference §6.1), pure.

The points of an order are read from its custom fields (``burn_field`` / ``earn_field``, Numbers). With
``system_of_record: voyado`` Voyado earns points itself from the receipts it receives, so only
redemptions are booked (as negative amounts); with ``commercetools`` the shop's earn is booked too. A
transaction needs the customer's Voyado contact: a guest or an unknown customer is held back with the
reason, a value that is not a whole positive number is rejected. Keys are per order and kind
(``ct-points:<order id>:burn``), so a rerun books nothing twice. A cancelled order's booked
transactions are reversed once (returns of single items are not: the points a partial return should
give back are a merchant rule this sync does not guess).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from voyado_sync.mapping.config import LoyaltyRule, SaleRule
from voyado_sync.mapping.order import not_a_sale


def _points(value: Any) -> int | None:
    """A whole number of points ≥ 0 (Commercetools Numbers arrive as int or float), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        return None
    return int(value)


def point_transactions(orders: Iterable[Mapping[str, Any]], contact_of_customer: Mapping[str, str],
                       rule: LoyaltyRule, sale: SaleRule, booked: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``booked``: keys of transactions Voyado already holds. A cancelled order whose transactions were
    booked gets each one reversed once (``...:burn:reversal`` gives the redeemed points back); one that
    was never booked gets nothing."""
    kinds = [("burn", rule.burn_field, -1)]
    if rule.system_of_record == "commercetools":
        kinds.append(("earn", rule.earn_field, 1))
    booked = set(booked)
    rows = []
    for o in sorted(orders, key=lambda o: str(o.get("id"))):
        fields = ((o.get("custom") or {}).get("fields") or {}) if isinstance(o.get("custom"), Mapping) else {}
        for kind, name, sign in kinds:
            if not name or fields.get(name) in (None, 0):
                continue
            key = f"ct-points:{o.get('id')}:{kind}"
            if o.get("orderState") == "Cancelled":
                if key in booked and (points := _points(fields[name])) is not None \
                        and contact_of_customer.get(o.get("customerId")):
                    number = o.get("orderNumber") or o.get("id")
                    rows.append({"key": f"{key}:reversal", "order_id": o.get("id"), "kind": f"{kind}_reversal",
                                 "status": "send", "reason": None, "payload": {
                                     "contactId": contact_of_customer[o["customerId"]], "amount": -sign * points,
                                     "definitionId": rule.definition_id,
                                     "timeStamp": o.get("lastModifiedAt") or o.get("createdAt"),
                                     "source": rule.source, "description": f"Order {number} cancelled"}})
                continue
            row = {"key": key, "order_id": o.get("id"), "kind": kind, "status": "send", "reason": None,
                   "payload": None}
            points, customer = _points(fields[name]), o.get("customerId")
            contact = contact_of_customer.get(customer) if isinstance(customer, str) else None
            if points is None:
                row.update(status="rejected", reason=f"{name} is not a whole number of points >= 0: {fields[name]!r}")
            elif (why := not_a_sale(o, sale)) is not None:
                row.update(status="held", reason=why)
            elif not contact:
                row.update(status="held", reason="guest order" if not customer else "no Voyado contact")
            else:
                number = o.get("orderNumber") or o.get("id")
                row["payload"] = {"contactId": contact, "amount": sign * points, "definitionId": rule.definition_id,
                                  "timeStamp": o.get("completedAt") or o.get("createdAt"), "source": rule.source,
                                  "description": f"{'Redeemed' if kind == 'burn' else 'Earned'} in order {number}"}
            rows.append(row)
    return rows
