"""Which Voyado contact a Commercetools customer, a shopper's email or a sale record (an order, a POS
receipt) belongs to: one answer for every asset that addresses a contact (receipts, point transactions,
campaign triggers, the write-back).

Three sources, in this order of authority: identity resolution (the contact it chose for the profile:
it also joins contacts created elsewhere, POS or forms, to the shop's customers and guests), the contacts
this sync created or located for a profile (`voyado_sync.state.contact_links`: Voyado's own answer, known
before identity reads the new contact back), and the contact's own ``externalId`` (contacts this sync
creates for customers carry the Commercetools customer id there)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from voyado_sync.state import contact_links
from voyado_sync.state.identity import IdentityStateStore
from voyado_sync.storage import PartitionStore


@dataclass(frozen=True)
class ContactLookup:
    by_customer: Mapping[str, str] = field(default_factory=dict)  # Commercetools customer id -> contact id
    by_email: Mapping[str, str] = field(default_factory=dict)  # golden email (normalized) -> contact id
    by_record: Mapping[str, str] = field(default_factory=dict)  # identity record key -> contact id

    def customer_of_contact(self) -> dict[str, str]:
        """Contact id -> a Commercetools customer id it belongs to."""
        return {contact: customer for customer, contact in self.by_customer.items()}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def contact_lookup(contact_map: pd.DataFrame, profiles: pd.DataFrame, contacts: pd.DataFrame,
                   links: Mapping[str, str] | None = None) -> ContactLookup:
    """From identity's contact map (profile -> the contact that wins) and profiles (customer ids, golden
    email), the contacts this sync created or located per profile (``links``), and Voyado's contacts
    (``id``, ``externalId``)."""
    by_customer: dict[str, str] = {}
    by_email: dict[str, str] = {}
    if not contacts.empty and {"id", "externalId"} <= set(contacts.columns):
        for cid, ext in zip(contacts["id"], contacts["externalId"]):
            if _text(cid) and _text(ext):
                by_customer[ext] = cid
    if profiles.empty or "profile_id" not in profiles:
        return ContactLookup(by_customer, by_email)
    contact_of = dict(links or {})
    if not contact_map.empty and "voyado_contact_id" in contact_map:
        contact_of.update({p: c for p, c in zip(contact_map["profile_id"], contact_map["voyado_contact_id"])
                           if _text(c)})
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


def read_contact_lookup(store: PartitionStore, partition_key: str, state_engine: sa.Engine | None = None,
                        record_keys: Iterable[str] = ()) -> ContactLookup:
    """The partition's identity resolution, every contact read from Voyado so far and, with the state
    database, the contacts created or located for its profiles and the contact of each given record."""
    profiles = store.read("identity/profiles", [partition_key])
    links: dict[str, str] = {}
    by_record: dict[str, str] = {}
    if state_engine is not None:
        ids = list(profiles["profile_id"]) if "profile_id" in profiles else []
        of_records = IdentityStateStore(state_engine).contacts_of_records(record_keys)
        links = contact_links.contacts_of(state_engine, ids + [p for p, _ in of_records.values()])
        by_record = {key: contact or links[profile] for key, (profile, contact) in of_records.items()
                     if contact or profile in links}
    lookup = contact_lookup(store.read("identity/contact_map", [partition_key]), profiles,
                            store.read("voyado/contacts", columns=["id", "externalId"]), links)
    return ContactLookup(lookup.by_customer, lookup.by_email, by_record)
