"""Voyado Engage contacts as the API returns them (``IApiContact``), plus each contact's loyalty
account (points, tier).

Most registered shoppers and every store member exist in Voyado (externalId = their Commercetools
customer id where one exists, memberNumber, email, mobilePhone in E.164). A few people have two
contacts (a duplicate created from the webshop with the second email and no member number); a person
whose phone number was later recycled still has the old number in Voyado."""

from __future__ import annotations

from typing import Any

from voyado_sync.sandbox.generator.common import MARKETS, STORES_BY_COUNTRY, Clock, new_id, pick
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.people import Person

TIERS = ((15_000, "platinum"), (5_000, "gold"), (0, "silver"))


def tier_of(points: int) -> str:
    return next(t for floor, t in TIERS if points >= floor)


def build_contacts(cfg: GeneratorConfig, persons: list[Person]) -> tuple[list[dict[str, Any]], list[str]]:
    """(contacts, true person_id of each)"""
    rng = cfg.rng("voyado")
    clock = Clock(cfg.window_start, cfg.window_end)
    contacts: list[dict[str, Any]] = []
    truth: list[str] = []
    for p in persons:
        if p.kind == "store" or p.member_number:
            present = True
        elif p.kind == "registered":
            present = rng.random() < cfg.voyado_share
        else:  # guests: some signed up for the newsletter only
            present = rng.random() < 0.3
        if not present:
            continue
        contacts.append(_contact(rng, clock, p, primary=True))
        truth.append(p.person_id)
        if rng.random() < cfg.voyado_duplicate_share or (p.email2 and rng.random() < 0.5):
            contacts.append(_contact(rng, clock, p, primary=False))
            truth.append(p.person_id)
    # Make sure the duplicate scenario exists even in small populations.
    if len(set(truth)) == len(truth) and contacts:
        k = next((i for i, c in enumerate(contacts) if c["attributes"].get("email")), 0)
        person = next(p for p in persons if p.person_id == truth[k])
        contacts.append(_contact(rng, clock, person, primary=False))
        truth.append(person.person_id)
    return contacts, truth


def _contact(rng, clock: Clock, p: Person, primary: bool) -> dict[str, Any]:
    market = MARKETS[p.country]
    created = clock.random_ms(rng)
    modified = clock.later(rng, created, 24 * 3_600_000)
    store = pick(rng, STORES_BY_COUNTRY[p.country]) if STORES_BY_COUNTRY.get(p.country) else None
    source = "POS" if p.kind == "store" else "e-com"
    phone = (p.old_phone or p.any_phone) if primary else p.phone
    email = p.email if primary else (p.email2 or p.email.upper())
    attrs: dict[str, Any] = {"firstName": p.first_name, "lastName": p.last_name}
    if p.kind != "store" or rng.random() < 0.5 or not primary:
        attrs["email"] = email
    if phone is not None and (p.kind == "store" or rng.random() < 0.8):
        attrs["mobilePhone"] = phone.e164
    member = p.member_number is not None and primary
    if member:
        attrs["memberNumber"] = p.member_number
    if primary and p.customer_ids:
        attrs["externalId"] = p.customer_ids[0]
    attrs.update({"countryCode": p.country, "street": p.street, "zipCode": p.postal_code, "city": p.city,
                  "country": {"SE": "Sverige", "NO": "Norge", "DK": "Danmark", "FI": "Suomi",
                              "DE": "Deutschland"}[p.country]})
    if rng.random() < 0.7:
        attrs["birthDay"] = p.birth_date
    attrs["gender"] = p.gender
    if store and source == "POS":
        attrs["createdInStore"] = store
        attrs["store"] = store
    attrs["contactType"] = "Member" if member or p.kind == "registered" else "Contact"
    newsletter = rng.random() < 0.6
    sms = "mobilePhone" in attrs and rng.random() < 0.35
    consent_date = Clock.local_iso(created, market.tz)
    consents = [{"id": "newsletter", "value": newsletter, "date": consent_date, "source": source,
                 "comment": "" if rng.random() < 0.8 else "Signed up at checkout"}]
    if rng.random() < 0.4:  # the tenant's second consent (Engage sandbox default definitions)
        consents.append({"id": "profiling", "value": rng.random() < 0.7, "date": consent_date, "source": source,
                         "comment": ""})
    points = int(rng.paretovariate(1.3) * 800) - 800 if member else 0
    return {
        "id": new_id(rng),
        "attributes": attrs,
        "preferences": {"acceptsEmail": newsletter, "acceptsSms": sms, "acceptsPostal": rng.random() < 0.2},
        "consents": consents,
        "meta": {"createdOn": Clock.local_iso(created, market.tz), "modifiedOn": Clock.local_iso(modified, market.tz),
                 "source": source},
        "loyalty": {"points": max(0, min(points, 250_000)), "tier": tier_of(max(0, points)), "definitionId": 1},
    }
