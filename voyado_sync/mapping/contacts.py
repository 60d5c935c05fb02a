"""Identity profile -> Voyado contact create payload, or the PATCH diff against the stored contact (pure;
reference: voyado-api.md §2.1-2.4).

A *profile* is a golden identity row (``voyado_sync.identity.golden``) or any mapping with these keys:
``ct_customer_id`` (-> ``externalId``), ``first_name``, ``last_name``, ``email``, ``mobile_phone``
(or ``phone``), ``country`` (-> ``countryCode``), ``street``, ``zip_code``, ``city``, ``birth_day``
(``YYYY-MM-DD``), ``gender``; optional ``voyado_contact_id``.

Rules:
- Values are normalized (trimmed; email lower-case and syntactically valid; phone E.164 using the
  profile's country; countryCode upper-case ISO-2; birthDay ``YYYY-MM-DD``). An empty, null or invalid
  value is **left out**: PATCH overwrites whatever is present, including ``""`` and ``null``, so the
  sync never sends either (a stored value is never blanked).
- **Create**: the attributes plus ``contactType`` (``contacts.contact_type``) as body; ``source`` and
  ``storeExternalId`` (the profile country's web store unless given) as query parameters (v3).
- **PATCH**: only attributes whose normalized value differs from the stored one. ``externalId`` is
  write-once: set when Voyado has none, never replaced (another system may own the link).
  ``contactType`` is never patched (v3 changes it only via updateContactType).
- ``preferences`` and ``consents`` are owned by Voyado: never in a create or PATCH from this sync,
  even if a profile carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from collections.abc import Mapping
from typing import Any, Literal

import phonenumbers

from voyado_sync.identity.normalize import is_email
from voyado_sync.mapping.config import MappingConfig, cached_config

_FIELDS = {  # profile key -> Voyado attribute
    "first_name": "firstName", "last_name": "lastName", "email": "email", "mobile_phone": "mobilePhone",
    "phone": "mobilePhone", "country": "countryCode", "street": "street", "zip_code": "zipCode", "city": "city",
    "birth_day": "birthDay", "gender": "gender", "ct_customer_id": "externalId",
}
NEVER_WRITTEN = frozenset({"preferences", "consents", "contactType", "memberNumber", "id"})
WRITE_ONCE = frozenset({"externalId", "createdInStore"})
_GENDERS = {"male": "Male", "m": "Male", "female": "Female", "f": "Female", "other": "Other"}


@dataclass(frozen=True)
class ContactRequest:
    """What to send for one profile: ``create`` (body + query params), ``update`` (PATCH body for
    ``contact_id``) or ``none`` (nothing changed)."""

    action: Literal["create", "update", "none"]
    body: dict[str, Any]
    params: dict[str, str]
    contact_id: str | None = None


def _clean(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v != v:  # NaN from pandas
        return None
    s = str(v).strip()
    return s or None


def normalize_email(v: Any) -> str | None:
    s = _clean(v)
    return s.lower() if s and is_email(s) else None


def normalize_phone(v: Any, country: Any = None) -> str | None:
    s = _clean(v)
    if not s:
        return None
    try:
        num = phonenumbers.parse(s, (_clean(country) or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _birthday(v: Any) -> str | None:
    if isinstance(v, (date, datetime)):
        return v.strftime("%Y-%m-%d")
    s = _clean(v)
    if not s:
        return None
    try:
        return date.fromisoformat(s[:10]).isoformat()
    except ValueError:
        return None


def _normalize(attr: str, v: Any, country: Any = None) -> str | None:
    if attr == "email":
        return normalize_email(v)
    if attr == "mobilePhone":
        return normalize_phone(v, country)
    if attr == "countryCode":
        s = _clean(v)
        return s.upper() if s and len(s) == 2 and s.isalpha() else None
    if attr == "birthDay":
        return _birthday(v)
    if attr == "gender":
        s = _clean(v)
        return _GENDERS.get(s.lower()) if s else None
    return _clean(v)


def contact_attributes(profile: Mapping[str, Any]) -> dict[str, str]:
    """Voyado attributes of a profile, normalized, with empty/invalid values left out."""
    country = profile.get("country")
    out: dict[str, str] = {}
    for key, attr in _FIELDS.items():
        if attr in out or key not in profile:
            continue
        v = _normalize(attr, profile.get(key), country)
        if v is not None:
            out[attr] = v
    return out


def is_shopper(profile: Mapping[str, Any]) -> bool:
    """A profile with a sale record (a Commercetools order or a POS receipt) among its sources."""
    sources = str(profile.get("sources") or "")
    return any(part.split("=")[0] in ("ct_order", "pos_receipt") for part in sources.split(","))


def create_request(profile: Mapping[str, Any], config: MappingConfig | None = None,
                   store_external_id: str | None = None) -> ContactRequest:
    """A registered customer becomes a ``contacts.contact_type`` contact with its customer id as
    ``externalId``; any other shopper a ``contacts.shopper_contact_type`` contact, found again by email or
    phone. Consent and preferences are never written (Voyado owns them; none is invented)."""
    cfg = config or cached_config()
    rule = cfg.rules.contacts
    attributes = contact_attributes(profile)
    kind = rule.contact_type if attributes.get("externalId") else rule.shopper_contact_type
    body: dict[str, Any] = {**attributes, "contactType": kind}
    if store_external_id is None:
        row = cfg.store("country", (_clean(profile.get("country")) or "").upper())
        store_external_id = row.store_external_id if row else None
    params = {"source": rule.source}
    if store_external_id:
        params["storeExternalId"] = store_external_id
    return ContactRequest("create", body, params)


def _stored_attributes(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes of an ``IApiContact`` (``{"id", "attributes": {...}}``) or of a flat attribute dict."""
    attrs = stored.get("attributes")
    return dict(attrs) if isinstance(attrs, Mapping) else dict(stored)


def patch_diff(desired: Mapping[str, str], stored: Mapping[str, Any]) -> dict[str, str]:
    """Only the attributes to change: never empty values, never Voyado-owned fields, write-once fields
    only when Voyado has no value."""
    current = _stored_attributes(stored)
    country = current.get("countryCode") or desired.get("countryCode")
    diff: dict[str, str] = {}
    for attr, value in desired.items():
        if attr in NEVER_WRITTEN or value is None or value == "":
            continue
        have = current.get(attr)
        if attr in WRITE_ONCE and _clean(have):
            continue
        if _normalize(attr, have, country) != value:
            diff[attr] = value
    return diff


def contact_request(profile: Mapping[str, Any], stored: Mapping[str, Any] | None,
                    config: MappingConfig | None = None, store_external_id: str | None = None) -> ContactRequest:
    """Create when the profile has no Voyado contact (``stored`` is None), else the PATCH diff."""
    if stored is None:
        return create_request(profile, config, store_external_id)
    contact_id = _clean(stored.get("id")) or _clean(profile.get("voyado_contact_id"))
    diff = patch_diff(contact_attributes(profile), stored)
    return ContactRequest("update" if diff else "none", diff, {}, contact_id)
