"""Behaviour → Voyado automations (product brief item 6), pure: which custom triggers to fire, which carts
to track and which stock levels to publish for one day, and why anything was held back.

* **First purchase** (custom trigger): a customer's first order that counts as a sale. Only when the
  extracted order history covers the customer's whole life (created on or after ``history_start``);
  otherwise an older, unseen order may exist and the event is held back with that reason.
* **Tier change** (custom trigger): a contact's loyalty tier differs from the tier last seen before
  the day. The first sighting of a contact is not a change.
* **Abandoned cart**: Voyado decides abandonment itself (reference §8), so every changed cart of a
  known contact is tracked, and a cart that became an order is tracked *empty* so no reminder goes out.
* **Back in stock**: Voyado fires its own subscriptions when a stock level above 0 arrives (reference
  §9), so the day's changed stock levels of the configured supply channel are published.

Marketing gate: a trigger or tracked cart goes only to a contact whose configured marketing consent is
explicitly given (`marketing_allowed`); an unknown contact counts as not consenting. Back-in-stock
levels carry no contact (the subscription itself is the contact's request).

Event keys are deterministic, so the ledger fires each trigger at most once whatever reruns happen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from voyado_sync.mapping.config import CampaignRule, SaleRule, WritebackRule
from voyado_sync.mapping.customer_fields import marketing_allowed, tier_of
from voyado_sync.mapping.order import not_a_sale
from voyado_sync.money import MoneyError, amount

CART_DONE = frozenset({"Ordered", "Merged"})


@dataclass
class CampaignDay:
    """What the shell reads for one partition (documents as Commercetools / Voyado give them)."""

    orders: list[dict[str, Any]]                   # the day's orders (latest version each)
    earlier_buyers: set[str]                       # customer ids with a sale before the day
    history_start: datetime | None                 # start of the oldest extracted orders partition
    customers_created: dict[str, datetime]         # customer id -> createdAt
    carts: list[dict[str, Any]]                    # the day's carts (latest version each)
    inventory: list[dict[str, Any]]                # the day's inventory entries (latest version each)
    contacts_today: list[dict[str, Any]]           # Voyado contacts changed in the day
    previous_tiers: dict[str, str]                 # contact id -> tier last seen before the day
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # contact id -> latest document
    contact_of_customer: dict[str, str] = field(default_factory=dict)  # customer id -> contact id
    channel_ids: dict[str, str] = field(default_factory=dict)          # channel key -> id


def _row(kind: str, key: str, endpoint: str, status: str, reason: str | None = None,
         payload: dict[str, Any] | None = None, contact: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "key": key, "endpoint": endpoint, "status": status, "reason": reason,
            "contact_id": contact, "payload": payload}


def _gate(day: CampaignDay, contact: str | None, writeback: WritebackRule) -> str | None:
    """Why no marketing may reach ``contact`` (None: it may)."""
    if not contact:
        return "no Voyado contact"
    doc = day.contacts.get(contact)
    if doc is None:
        return "contact unknown: consent not established"
    if not marketing_allowed(doc, writeback):
        return "marketing suppressed (consent not given)"
    return None


def _created(doc: Mapping[str, Any]) -> str:
    return str(doc.get("createdAt") or "")


def first_purchases(day: CampaignDay, rule: CampaignRule, sale: SaleRule, writeback: WritebackRule) -> list[dict]:
    trigger = rule.first_purchase_trigger
    if not trigger:
        return []
    first: dict[str, dict[str, Any]] = {}
    for o in sorted(day.orders, key=lambda o: (_created(o), str(o.get("id")))):
        cust = o.get("customerId")
        if isinstance(cust, str) and cust and cust not in first and not_a_sale(o, sale) is None:
            first[cust] = o
    rows = []
    for cust, order in sorted(first.items()):
        if cust in day.earlier_buyers:
            continue
        key = f"first_purchase:{cust}"
        contact = day.contact_of_customer.get(cust)
        created = day.customers_created.get(cust)
        if day.history_start is None or created is None or created < day.history_start:
            rows.append(_row("first_purchase", key, "triggers", "held",
                             "customer older than the extracted order history: an earlier purchase may exist",
                             contact=contact))
            continue
        why = _gate(day, contact, writeback)
        if why:
            rows.append(_row("first_purchase", key, "triggers", "held", why, contact=contact))
            continue
        data = {"orderId": str(order.get("id")), "orderNumber": str(order.get("orderNumber") or "")}
        try:
            total = order.get("totalPrice")
            data.update(total=str(amount(total)), currency=str(total["currencyCode"]))
        except (MoneyError, KeyError, TypeError):
            pass
        rows.append(_row("first_purchase", key, "triggers", "send", None,
                         {"triggerId": trigger, "contactId": contact, "data": data}, contact))
    return rows


def tier_changes(day: CampaignDay, rule: CampaignRule, writeback: WritebackRule) -> list[dict]:
    trigger = rule.tier_change_trigger
    if not trigger or not writeback.tier_path:
        return []
    rows = []
    for c in sorted(day.contacts_today, key=lambda c: str(c.get("id"))):
        cid, tier = c.get("id"), tier_of(c, writeback)
        old = day.previous_tiers.get(cid) if cid else None
        if not tier or not old or tier == old:
            continue
        meta = c.get("meta") if isinstance(c.get("meta"), Mapping) else {}
        key = f"tier_change:{cid}:{old}->{tier}:{meta.get('modifiedOn') or ''}"
        why = _gate(day, cid, writeback)
        payload = {"triggerId": trigger, "contactId": cid, "data": {"oldTier": old, "newTier": tier}}
        rows.append(_row("tier_change", key, "triggers", "held" if why else "send", why,
                         None if why else payload, cid))
    return rows


def tracked_carts(day: CampaignDay, rule: CampaignRule, writeback: WritebackRule) -> list[dict]:
    if not rule.track_carts:
        return []
    rows = []
    for cart in sorted(day.carts, key=lambda c: str(c.get("id"))):
        cid = cart.get("id")
        key = f"cart:{cid}"
        cust = cart.get("customerId")
        if not isinstance(cust, str) or not cust:
            rows.append(_row("cart", key, "carts", "held", "anonymous cart"))
            continue
        contact = day.contact_of_customer.get(cust)
        why = _gate(day, contact, writeback)
        if why:
            rows.append(_row("cart", key, "carts", "held", why, contact=contact))
            continue
        done = cart.get("cartState") in CART_DONE
        items = [] if done else [
            {"sku": li["variant"]["sku"], "quantity": int(li.get("quantity") or 0)}
            for li in cart.get("lineItems") or ()
            if isinstance(li, Mapping) and isinstance(li.get("variant"), Mapping) and li["variant"].get("sku")]
        payload = {"cartReference": str(cid), "time": cart.get("lastModifiedAt") or cart.get("createdAt"),
                   "contactId": contact, "items": items}
        if cart.get("locale"):
            payload["language"] = cart["locale"]
        rows.append(_row("cart", key, "carts", "send", "emptied: the cart became an order" if done else None,
                         payload, contact))
    return rows


def stock_levels(day: CampaignDay, rule: CampaignRule) -> list[dict]:
    if not rule.publish_stock:
        return []
    channel = day.channel_ids.get(rule.stock_channel) if rule.stock_channel else None
    if rule.stock_channel and channel is None:
        return [_row("stock", f"stock:channel:{rule.stock_channel}", "stock_levels", "held",
                     f"stock channel {rule.stock_channel!r} is not a known channel key")]
    rows = []
    for e in sorted(day.inventory, key=lambda e: str(e.get("sku"))):
        sc = e.get("supplyChannel")
        sc_id = sc.get("id") if isinstance(sc, Mapping) else None
        qty = e.get("availableQuantity")
        if sc_id != channel or not isinstance(e.get("sku"), str) or not isinstance(qty, int):
            continue
        rows.append(_row("stock", f"stock:{e['sku']}", "stock_levels", "send", None,
                         {"sku": e["sku"], "quantity": max(qty, 0)}))
    return rows


def campaign_events(day: CampaignDay, rule: CampaignRule, sale: SaleRule, writeback: WritebackRule) -> list[dict]:
    """Every event of the day, ``send`` or ``held`` with the reason, in a stable order."""
    return (first_purchases(day, rule, sale, writeback) + tier_changes(day, rule, writeback)
            + tracked_carts(day, rule, writeback) + stock_levels(day, rule))

