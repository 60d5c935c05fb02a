"""Campaign assets end to end: Commercetools and Voyado documents in the partition store →
voyado/campaign_payload → voyado/campaign_sync over real HTTP into the Engage sandbox, ledger in real
PostgreSQL. Triggers fire once (a rerun fires nothing), a non-consenting contact gets nothing, an
ordered cart is tracked empty, and back-in-stock levels are published."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from voyado_sync.defs.campaigns import campaign_payload, campaign_sync
from voyado_sync.defs.voyado_sources import contact_row
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.resources.voyado import EngageResource
from voyado_sync.storage import PartitionStore
from voyado_sync_tests.sync.factories import API_KEY, contact_id

EARLIER, DAY = "2026-11-19", "2026-11-20"


def _write(store, dataset, day, docs, **columns):
    store.write_frame(dataset, day, pd.DataFrame({"id": [d["id"] for d in docs], "raw": [json.dumps(d) for d in docs],
                                                  **columns}))


def _write_contacts(store, day, docs):
    store.write_frame("voyado/contacts", day, pd.DataFrame([contact_row(d) for d in docs]))


def _contact(i, consent=True, tier="silver"):
    return {"id": contact_id(i), "attributes": {"externalId": f"ct-customer-{i}"},
            "consents": [{"id": "newsletter", "value": consent}], "loyalty": {"tier": tier},
            "meta": {"modifiedOn": f"{DAY}T09:00:00Z"}}


def _order(oid, cust, paid=True, day=DAY):
    return {"id": oid, "version": 1, "orderNumber": oid, "customerId": cust, "createdAt": f"{day}T10:00:00.000Z",
            "orderState": "Open", "paymentState": "Paid" if paid else "Pending",
            "totalPrice": {"type": "centPrecision", "currencyCode": "SEK", "centAmount": 12345, "fractionDigits": 2}}


def _stage(store: PartitionStore) -> None:
    customers = [{"id": f"ct-customer-{i}"} for i in range(5)]
    created = pd.to_datetime([f"{EARLIER}T08:00:00Z"] * 5)
    _write(store, "commercetools/customers", EARLIER, customers, created_at=created)
    earlier = [_order("o-old", "ct-customer-2")]
    _write(store, "commercetools/orders", EARLIER, earlier, customer_id=["ct-customer-2"], order_state=["Open"],
           payment_state=["Paid"], shipment_state=[None])
    today = [_order("o-1", "ct-customer-1"), _order("o-2", "ct-customer-2"), _order("o-3", "ct-customer-3"),
             _order("o-4", "ct-customer-4", paid=False)]
    _write(store, "commercetools/orders", DAY, today)
    line = {"variant": {"sku": "SKU-1"}, "quantity": 1}
    _write(store, "commercetools/carts", DAY, [
        {"id": "cart-1", "version": 3, "customerId": "ct-customer-1", "cartState": "Active", "lineItems": [line],
         "lastModifiedAt": f"{DAY}T11:00:00.000Z"},
        {"id": "cart-2", "version": 2, "customerId": "ct-customer-1", "cartState": "Ordered", "lineItems": [line],
         "lastModifiedAt": f"{DAY}T12:00:00.000Z"},
        {"id": "cart-3", "version": 1, "customerId": "ct-customer-3", "cartState": "Active", "lineItems": [line],
         "lastModifiedAt": f"{DAY}T12:00:00.000Z"}])
    _write(store, "commercetools/inventory", DAY, [{"id": "inv-1", "version": 2, "sku": "SKU-1", "availableQuantity": 5}])
    _write_contacts(store, EARLIER, [_contact(i) for i in range(5)])
    _write_contacts(store, DAY, [_contact(1, tier="gold"), _contact(3, consent=False, tier="gold")])


def _run(resources, instance):
    result = dg.materialize([campaign_payload, campaign_sync], partition_key=DAY, resources=resources,
                            instance=instance, raise_on_error=False)
    assert result.success
    return (result.asset_materializations_for_node("voyado__campaign_payload")[0].metadata,
            result.asset_materializations_for_node("voyado__campaign_sync")[0].metadata)


def test_campaign_events_through_engage(tmp_path, pg_url, sync_home, engage):
    store = PartitionStore(tmp_path / "parquet")
    _stage(store)
    resources = {"engage": EngageResource(base_url=engage.url, api_key=API_KEY), "state_db": StateDatabase(url=pg_url),
                 "partition_store": PartitionStoreResource(base_dir=str(tmp_path / "parquet"))}
    with dg.instance_for_test() as instance:
        payload, sync = _run(resources, instance)
        events = payload["events"].value
        # Customer 1: first purchase + gold tier; 2 bought before; 3 withdrew consent; 4 has not paid.
        assert events["first_purchase/send"] == 1 and events["first_purchase/held"] == 1
        assert events["tier_change/send"] == 1 and events["tier_change/held"] == 1
        assert events["cart/send"] == 2 and events["cart/held"] == 1 and events["stock/send"] == 1
        assert payload["suppressed"].value == 3
        fired = {(t["triggerId"], t["contactId"]) for t in engage.app.triggers}
        assert fired == {("first-purchase", contact_id(1)), ("tier-change", contact_id(1))}
        first = next(t for t in engage.app.triggers if t["triggerId"] == "first-purchase")
        assert first["data"] == {"orderId": "o-1", "orderNumber": "o-1", "total": "123.45", "currency": "SEK"}
        carts = engage.app.carts
        assert set(carts) == {"cart-1", "cart-2"} and carts["cart-2"]["items"] == []
        assert carts["cart-1"]["items"] == [{"sku": "SKU-1", "quantity": 1}]
        assert [v["quantity"] for k, v in engage.app.stock_levels.items() if k[0] == "SKU-1"] == [5]
        assert sync["items/triggers"].value == 2 and sync["outcome/sent"].value == 5

        # A rerun (or a backfill) fires nothing again.
        _, again = _run(resources, instance)
        assert len(engage.app.triggers) == 2 and again["outcome/sent"].value == 0
        assert again["outcome/unchanged_skipped"].value == 5
