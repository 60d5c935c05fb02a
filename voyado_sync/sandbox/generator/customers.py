"""Commercetools customers for the registered people (two accounts for the two-account person).

Phones live on addresses (a customer has no top-level phone): the own mobile in ``mobile``, the
household landline in ``phone``, spelled in mixed formats; now and then a garbage value instead."""

from __future__ import annotations

from typing import Any

from voyado_sync.sandbox.generator.catalog import Catalog
from voyado_sync.sandbox.generator.common import PHYSICAL_STORES, STORES_BY_COUNTRY, Clock, new_id, pick
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.people import Noise, Person


def address_id(rng) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(alphabet[rng.randrange(62)] for _ in range(8))


def home_address(p: Person, noise: Noise, *, with_email: str | None, old_phone: bool = False) -> dict[str, Any]:
    """The person's home address as a Commercetools Address (no id), phones noisy, sometimes garbage."""
    street, _, number = p.street.rpartition(" ")
    a: dict[str, Any] = {"firstName": p.first_name, "lastName": p.last_name, "streetName": street,
                         "streetNumber": number, "postalCode": p.postal_code, "city": p.city, "country": p.country}
    if p.company:
        a["company"] = p.company
    mobile = p.old_phone if (old_phone and p.old_phone) else p.phone
    if noise.garbage():
        a["mobile"] = noise.garbage_phone()
    elif mobile is not None:
        a["mobile"] = noise.phone(mobile)
    if p.home_phone is not None and noise.rng.random() < 0.7:
        a["phone"] = noise.phone(p.home_phone)
    if with_email is not None:
        a["email"] = with_email
    return a


def build_customers(cfg: GeneratorConfig, persons: list[Person], cat: Catalog) -> list[dict[str, Any]]:
    rng = cfg.rng("customers")
    noise = Noise(rng, cfg.garbage_share)
    clock = Clock(cfg.window_start, cfg.window_end)
    mid = (clock.start_ms + clock.end_ms) // 2
    client = {"clientId": cat.ids["client-storefront"], "isPlatformClient": False}
    docs: list[dict[str, Any]] = []
    number = 100_000
    for p in persons:
        p.customer_ids = []
        if p.kind != "registered":
            continue
        accounts = [p.email] + ([p.email2] if p.email2 else [])
        for k, email in enumerate(accounts):
            number += 1
            cid = new_id(rng)
            p.customer_ids.append(cid)
            created = clock.random_ms(rng, lo=mid if k else None, hi=None if k else mid)
            modified = clock.later(rng, created, 30 * 3_600_000)
            # A person whose number was recycled signed up while still holding the old one.
            addr = home_address(p, noise, with_email=noise.email(email) if rng.random() < 0.3 else None,
                                old_phone=created < mid and k == 0)
            addr["id"] = address_id(rng)
            addresses = [addr]
            if rng.random() < 0.15:
                work = {"id": address_id(rng), "firstName": p.first_name, "lastName": p.last_name,
                        "streetName": "Företagsvägen" if p.country == "SE" else "Hauptstraße",
                        "streetNumber": str(rng.randint(1, 40)), "postalCode": p.postal_code, "city": p.city,
                        "country": p.country, "additionalAddressInfo": "work"}
                addresses.append(work)
            doc: dict[str, Any] = {
                "id": cid, "version": rng.randint(1, 6),
                "createdAt": clock.iso(created), "lastModifiedAt": clock.iso(modified),
                "lastModifiedBy": client, "createdBy": client,
            }
            if rng.random() < 0.9:
                doc["customerNumber"] = f"CN{number}"
            if rng.random() < 0.3:
                doc["key"] = f"cust-{number}"
            if rng.random() < 0.25:
                doc["externalId"] = f"LEG-{rng.randrange(10 ** 6):06d}"
            doc.update({"email": noise.email(email), "password": f"****{new_id(rng)[:4]}=",
                        "firstName": p.first_name, "lastName": p.last_name})
            if rng.random() < 0.6:
                doc["dateOfBirth"] = p.birth_date
            if rng.random() < 0.3:
                doc["salutation"] = {"Female": "Ms", "Male": "Mr"}.get(p.gender, "")
            if p.company:
                doc["companyName"] = p.company
                doc["vatId"] = p.vat_id
            doc["locale"] = p.market.locale
            doc["addresses"] = addresses
            doc["defaultShippingAddressId"] = addresses[0]["id"]
            doc["shippingAddressIds"] = [a["id"] for a in addresses]
            doc["defaultBillingAddressId"] = addresses[0]["id"]
            doc["billingAddressIds"] = [addresses[0]["id"]]
            doc["isEmailVerified"] = rng.random() < 0.7
            if p.company:
                doc["customerGroup"] = cat.ref("customer-group", "b2b")
                doc["customerGroupAssignments"] = [{"customerGroup": cat.ref("customer-group", "b2b")}]
            else:
                doc["customerGroupAssignments"] = []
            if rng.random() < 0.25:
                stores = STORES_BY_COUNTRY[p.country]
                doc["custom"] = {"type": cat.ref("type", "type-customer-crm"), "fields": {
                    "legacyCrmId": f"CRM{rng.randrange(10 ** 7):07d}",
                    "preferredStore": pick(rng, stores) if stores else next(iter(PHYSICAL_STORES)),
                    "signupSource": pick(rng, ("web", "store", "app"))}}
            doc["stores"] = [{"typeId": "store", "key": p.market.store}] if rng.random() < 0.2 else []
            doc["authenticationMode"] = "Password"
            docs.append(doc)
    return docs
