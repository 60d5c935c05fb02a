"""Voyado contacts → Commercetools customer custom fields: consent, preferences, suppression and loyalty
where the checkout and the shop's own targeting can read them (product brief items 4 and 5).

Voyado owns these facts; Commercetools gets a read-only copy in fields prefixed ``voyado`` (`FIELDS`),
among them the point balance checkout shows (loyalty's system of record keeps the balance in Voyado).
The customer is the contact's ``externalId`` (contacts are created with externalId = Commercetools
customer id), else the one identity resolution maps the contact to. Suppression is compliant by
default: a contact is ``voyadoMarketingSuppressed`` unless the configured marketing consent is
explicitly true (missing = not given).

`field_actions` diffs what a customer holds against what it should hold, so it can run again on a
freshly read customer after a 409 and yields nothing once the customer is up to date. It never sets a
custom *type* on a customer that has one (that would wipe the merchant's own fields): the fields are
set on the type the customer already has, which the shell extends with `field_definitions` first.
Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from voyado_sync.timestamps import iso_ms
from voyado_sync.mapping.config import WritebackRule

FIELDS: dict[str, dict[str, Any]] = {
    "voyadoContactId": {"name": "String"},
    "voyadoMemberNumber": {"name": "String"},
    "voyadoContactType": {"name": "String"},
    "voyadoAcceptsEmail": {"name": "Boolean"},
    "voyadoAcceptsSms": {"name": "Boolean"},
    "voyadoAcceptsPostal": {"name": "Boolean"},
    "voyadoConsents": {"name": "Set", "elementType": {"name": "String"}},
    "voyadoMarketingSuppressed": {"name": "Boolean"},
    "voyadoLoyaltyTier": {"name": "String"},
    "voyadoModifiedOn": {"name": "DateTime"},
    "voyadoPointBalance": {"name": "Number"},
}


def field_definitions() -> list[dict[str, Any]]:
    """Commercetools FieldDefinition drafts for `FIELDS`."""
    return [{"name": name, "type": t, "required": False, "label": {"en": f"{name[6:]} (from Voyado)"},
             **({"inputHint": "SingleLine"} if t["name"] == "String" else {})} for name, t in FIELDS.items()]


def type_draft(rule: WritebackRule) -> dict[str, Any]:
    return {"key": rule.type_key, "name": {"en": "Voyado (consent, preferences, loyalty)"},
            "resourceTypeIds": ["customer"], "fieldDefinitions": field_definitions()}


def missing_definitions(type_doc: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Our field definitions a type lacks, and our names it defines with another type (unusable)."""
    have = {d.get("name"): d.get("type") for d in type_doc.get("fieldDefinitions") or () if isinstance(d, dict)}
    missing = [d for d in field_definitions() if d["name"] not in have]
    clashes = [n for n, t in FIELDS.items() if n in have and have[n] != t]
    return missing, clashes


def _path(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _instant(value: Any) -> str | None:
    """An ISO timestamp in Commercetools' DateTime form (UTC, milliseconds), or None if unreadable."""
    try:
        stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return iso_ms(stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc))


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") and not isinstance(value, (dict, list)) else None


def marketing_allowed(contact: Mapping[str, Any], rule: WritebackRule) -> bool:
    """The configured marketing consent is explicitly given (missing, false or malformed: not allowed)."""
    return any(isinstance(c, Mapping) and str(c.get("id")) == rule.marketing_consent and c.get("value") is True
               for c in contact.get("consents") or ())


def tier_of(contact: Mapping[str, Any], rule: WritebackRule) -> str | None:
    return _text(_path(contact, rule.tier_path)) if rule.tier_path else None


def desired_fields(contact: Mapping[str, Any], rule: WritebackRule, balance: int | None = None) -> dict[str, Any]:
    """Field name → value (None: the field is removed) for one Voyado contact document. The point
    balance is read apart (point accounts); when it could not be read it is left out, not removed."""
    attrs = contact.get("attributes") if isinstance(contact.get("attributes"), Mapping) else contact
    prefs = contact.get("preferences") if isinstance(contact.get("preferences"), Mapping) else {}
    meta = contact.get("meta") if isinstance(contact.get("meta"), Mapping) else {}
    granted = sorted({str(c["id"]) for c in contact.get("consents") or ()
                      if isinstance(c, Mapping) and c.get("id") is not None and c.get("value") is True})
    return {
        "voyadoContactId": _text(contact.get("id")),
        "voyadoMemberNumber": _text(attrs.get("memberNumber")),
        "voyadoContactType": _text(contact.get("contactType") or meta.get("contactType") or attrs.get("contactType")),
        "voyadoAcceptsEmail": _bool(prefs.get("acceptsEmail")),
        "voyadoAcceptsSms": _bool(prefs.get("acceptsSms")),
        "voyadoAcceptsPostal": _bool(prefs.get("acceptsPostal")),
        "voyadoConsents": granted,
        "voyadoMarketingSuppressed": not marketing_allowed(contact, rule),
        "voyadoLoyaltyTier": tier_of(contact, rule),
        "voyadoModifiedOn": _instant(meta.get("modifiedOn") or meta.get("createdOn")),
        **({"voyadoPointBalance": balance} if balance is not None else {}),
    }


def customer_targets(contacts: Iterable[Mapping[str, Any]], contact_map: Mapping[str, str],
                     rule: WritebackRule, balances: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """One row per contact: the customer it writes to (``key``), ``status`` ``update`` / ``skipped`` /
    ``rejected`` with the reason, and the payload ``{"customerId", "fields"}``. Two contacts that claim
    one customer are both rejected: which one is right is for identity resolution to settle."""
    rows: list[dict[str, Any]] = []
    claims: dict[str, list[str]] = {}
    for c in contacts:
        cid = _text(c.get("id"))
        attrs = c.get("attributes") if isinstance(c.get("attributes"), Mapping) else c
        customer = _text(attrs.get("externalId")) or (contact_map.get(cid) if cid else None)
        row = {"contact_id": cid, "key": customer, "status": "update", "reason": None, "payload": None}
        if not cid:
            row.update(status="rejected", reason="contact without id")
        elif not customer:
            row.update(status="skipped", reason="no Commercetools customer")
        else:
            row["payload"] = {"customerId": customer, "fields": desired_fields(c, rule, (balances or {}).get(cid))}
            claims.setdefault(customer, []).append(cid)
        rows.append(row)
    for row in rows:
        owners = claims.get(row["key"] or "", [])
        if row["status"] == "update" and len(owners) > 1:
            row.update(status="rejected", payload=None,
                       reason=f"customer claimed by {len(owners)} Voyado contacts: {', '.join(sorted(owners))}")
    for row in rows:
        if row["status"] != "update":
            row["key"] = f"unmapped:contact:{row['contact_id']}"
    return rows


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list) or isinstance(new, list):
        return sorted(old or []) == sorted(new or [])
    return old == new


def field_actions(customer: Mapping[str, Any], fields: Mapping[str, Any], rule: WritebackRule,
                  usable_type_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Update actions that bring ``customer`` to ``fields`` ([] when it already holds them). Raises
    `ValueError` when the customer's custom type cannot take our fields."""
    custom = customer.get("custom") if isinstance(customer.get("custom"), Mapping) else None
    if not custom:
        present = {k: v for k, v in fields.items() if v not in (None, [])}
        return [{"action": "setCustomType", "type": {"typeId": "type", "key": rule.type_key}, "fields": present}]
    type_id = (custom.get("type") or {}).get("id")
    if type_id not in set(usable_type_ids):
        raise ValueError(f"customer has custom type {type_id} that cannot hold the voyado fields "
                         f"(writeback.other_type = {rule.other_type})")
    held = custom.get("fields") or {}
    actions = []
    for name, value in fields.items():
        if value in (None, []):
            if name in held:
                actions.append({"action": "setCustomField", "name": name})
        elif not _same(held.get(name), value):
            actions.append({"action": "setCustomField", "name": name, "value": value})
    return actions

