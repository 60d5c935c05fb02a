"""Which Voyado contact a Commercetools customer or a shopper's email belongs to: one answer for every
asset that addresses a contact (receipts, point transactions, campaign triggers, the write-back).

Two sources agree by construction and are combined with identity winning: the contact's own
``externalId`` (contacts this sync creates carry the Commercetools customer id there), and identity
resolution, which also joins contacts created elsewhere (POS, forms) to the shop's customers and
guests by email, phone or member number."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from voyado_sync.storage import PartitionStore


@dataclass(frozen=True)
class ContactLookup:
    by_customer: Mapping[str, str] = field(default_factory=dict)  # Commercetools customer id -> contact id
    by_email: Mapping[str, str] = field(default_factory=dict)  # golden email (normalized) -> contact id

    def customer_of_contact(self) -> dict[str, str]:
        """Contact id -> a Commercetools customer id it belongs to."""
        return {contact: customer for customer, contact in self.by_customer.items()}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def contact_lookup(contact_map: pd.DataFrame, profiles: pd.DataFrame, contacts: pd.DataFrame) -> ContactLookup:
    """From identity's contact map (profile -> the contact that wins) and profiles (customer ids, golden
    email), and Voyado's contacts (``id``, ``externalId``)."""
    by_customer: dict[str, str] = {}
    by_email: dict[str, str] = {}
    if not contacts.empty and {"id", "externalId"} <= set(contacts.columns):
        for cid, ext in zip(contacts["id"], contacts["externalId"]):
            if _text(cid) and _text(ext):
                by_customer[ext] = cid
    if contact_map.empty or profiles.empty or "voyado_contact_id" not in contact_map or "profile_id" not in profiles:
        return ContactLookup(by_customer, by_email)
    contact_of = {p: c for p, c in zip(contact_map["profile_id"], contact_map["voyado_contact_id"]) if _text(c)}
    for row in profiles.itertuples(index=False):
        contact = contact_of.get(row.profile_id)
        if not contact:
            continue
        customers = getattr(row, "ct_customer_ids", None)
        for customer in customers if customers is not None and not isinstance(customers, str) else ():
            if _text(customer):
                by_customer[customer] = contact
        email = _text(getattr(row, "email", None))
        if email:
            by_email[email] = contact
    return ContactLookup(by_customer, by_email)


def read_contact_lookup(store: PartitionStore, partition_key: str) -> ContactLookup:
    """The partition's identity resolution plus every contact read from Voyado so far."""
    return contact_lookup(store.read("identity/contact_map", [partition_key]),
                          store.read("identity/profiles", [partition_key]),
                          store.read("voyado/contacts", columns=["id", "externalId"]))
