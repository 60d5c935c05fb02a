"""`Dataset` (everything one generator run produces) and `generate()` / `iter_orders()`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from voyado_sync.sandbox.generator.catalog import build_catalog
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.customers import build_customers
from voyado_sync.sandbox.generator.orders import OrderFactory
from voyado_sync.sandbox.generator.people import Person, build_persons
from voyado_sync.sandbox.generator.pos import build_receipts
from voyado_sync.sandbox.generator.voyado import build_contacts

GROUND_TRUTH_COLUMNS = ["source", "record_id", "person_id"]
# Dataset attribute → file name (<resource>.ndjson) of the Commercetools resources.
CT_FILES = {"customers": "customers", "orders": "orders", "payments": "payments", "products": "product-projections",
            "categories": "categories", "inventory": "inventory", "stores": "stores", "channels": "channels",
            "carts": "carts", "types": "types"}


@dataclass
class Dataset:
    config: GeneratorConfig
    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)  # product projections
    categories: list[dict[str, Any]] = field(default_factory=list)
    inventory: list[dict[str, Any]] = field(default_factory=list)
    stores: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    carts: list[dict[str, Any]] = field(default_factory=list)
    types: list[dict[str, Any]] = field(default_factory=list)
    pos_receipts: list[dict[str, Any]] = field(default_factory=list)
    voyado_contacts: list[dict[str, Any]] = field(default_factory=list)
    ground_truth: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GROUND_TRUTH_COLUMNS))
    persons: list[dict[str, Any]] = field(default_factory=list)  # the true people (truth side, not a source)

    def counts(self) -> dict[str, int]:
        return {f.name: len(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "config"}

    def person_of(self, source: str, record_id: str) -> str:
        gt = self.ground_truth
        hit = gt.loc[(gt["source"] == source) & (gt["record_id"] == record_id), "person_id"]
        if hit.empty:
            raise KeyError(f"no ground truth for {source}:{record_id}")
        return str(hit.iloc[0])


def person_record(p: Person) -> dict[str, Any]:
    """The truth about one person, flattened for persons.ndjson (canonical identifiers)."""
    return {"person_id": p.person_id, "kind": p.kind, "country": p.country, "first_name": p.first_name,
            "last_name": p.last_name, "email": p.email, "email2": p.email2,
            "phone": p.phone.e164 if p.phone else None, "home_phone": p.home_phone.e164 if p.home_phone else None,
            "old_phone": p.old_phone.e164 if p.old_phone else None, "household_id": p.household_id,
            "member_number": p.member_number, "card_id": p.card_id, "omni": p.omni, "company": p.company,
            "customer_ids": list(p.customer_ids)}


def generate(cfg: GeneratorConfig | None = None) -> Dataset:
    """A complete, internally consistent dataset for ``cfg`` (deterministic for a given config)."""
    cfg = cfg or GeneratorConfig()
    persons = build_persons(cfg)
    cat = build_catalog(cfg)
    customers = build_customers(cfg, persons, cat)
    factory = OrderFactory(cfg, persons, cat)
    orders, payments, truth = [], [], []
    for c in customers:
        truth.append(("ct_customer", c["id"], None))
    owner = {cid: p.person_id for p in persons for cid in p.customer_ids}
    truth = [(s, rid, owner[rid]) for s, rid, _ in truth]
    for _ in range(cfg.orders):
        order, pays, pid = factory.order()
        orders.append(_detached(order))
        payments.extend(_detached(p) for p in pays)
        truth.append(("ct_order", order["id"], pid))
    carts = [_detached(factory.cart()[0]) for _ in range(cfg.cart_count)]
    receipts, receipt_truth = build_receipts(cfg, persons, cat)
    truth.extend(("pos_receipt", r["receipt_id"], pid) for r, pid in zip(receipts, receipt_truth))
    contacts, contact_truth = build_contacts(cfg, persons)
    truth.extend(("voyado_contact", c["id"], pid) for c, pid in zip(contacts, contact_truth))
    return Dataset(config=cfg, customers=customers, orders=orders, payments=payments, products=cat.products,
                   categories=cat.categories, inventory=cat.inventory, stores=cat.stores, channels=cat.channels,
                   carts=carts, types=cat.types, pos_receipts=receipts, voyado_contacts=contacts,
                   ground_truth=pd.DataFrame(truth, columns=GROUND_TRUTH_COLUMNS),
                   persons=[person_record(p) for p in persons])


def _detached(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep, plain-JSON copy: the factory shares read-only product snapshots and references between
    documents for speed; a dataset handed to callers must let them mutate one document safely."""
    return json.loads(json.dumps(doc))


def iter_orders(cfg: GeneratorConfig, n: int | None = None, *, with_truth: bool = False,
                stream: str = "orders") -> Iterator[Any]:
    """Stream ``n`` orders (default ``cfg.orders``) without holding them: for benchmarks at 100 000+.

    The first ``cfg.orders`` orders equal ``generate(cfg).orders``. Every order is a fresh top-level dict;
    nested product snapshots are shared between orders, so treat them as read-only. With
    ``with_truth=True`` yields ``(order, person_id)``."""
    persons = build_persons(cfg)
    cat = build_catalog(cfg)
    build_customers(cfg, persons, cat)  # assigns the customer ids orders refer to
    factory = OrderFactory(cfg, persons, cat, stream, want_payments=False)
    for _ in range(cfg.orders if n is None else n):
        order, _payments, pid = factory.order()
        yield (order, pid) if with_truth else order
