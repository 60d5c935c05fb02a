"""Which Messages a change produces (reference §3.2) and how a Message document looks.

Update actions know their messages (see `actions`); changes made "in the shop" through ``app.update`` or
the admin surface are diffed here instead, old document against new, so a simulated live shop produces
the same message types a real one would. Changes with no message in the real API (most category,
channel, cart and type edits) produce none, as there.
"""

from __future__ import annotations

import uuid
from typing import Any

Payload = dict[str, Any]
Emitted = list[tuple[str, Payload]]

CREATED: dict[str, tuple[str, str]] = {  # resource -> (message type, payload field holding the document)
    "customers": ("CustomerCreated", "customer"),
    "orders": ("OrderCreated", "order"),
    "product-projections": ("ProductCreated", "productProjection"),
    "categories": ("CategoryCreated", "category"),
    "inventory": ("InventoryEntryCreated", "inventoryEntry"),
    "payments": ("PaymentCreated", "payment"),
    "stores": ("StoreCreated", ""),
}

_IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "customers": ("key", "externalId", "customerNumber"),
    "orders": ("orderNumber",),
    "product-projections": ("key", "slug"),
    "categories": ("key", "externalId", "slug"),
    "inventory": ("key", "sku"),
    "payments": ("key",),
    "stores": ("key",),
    "channels": ("key",),
    "carts": ("key",),
}


def user_provided_identifiers(resource: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {f: doc[f] for f in _IDENTIFIERS.get(resource, ("key",)) if doc.get(f) is not None}


def build_message(*, type_id: str, resource_id: str, resource_version: int, sequence_number: int,
                  identifiers: dict[str, Any], message_type: str, payload: Payload, created_at: str,
                  client_id: str) -> dict[str, Any]:
    by = {"clientId": client_id, "isPlatformClient": False}
    # Field order as in the official message example.
    return {"id": str(uuid.uuid4()), "version": 1, "sequenceNumber": sequence_number,
            "resource": {"typeId": type_id, "id": resource_id}, "resourceVersion": resource_version,
            "resourceUserProvidedIdentifiers": identifiers, "type": message_type, **payload,
            "createdAt": created_at, "lastModifiedAt": created_at, "lastModifiedBy": by, "createdBy": dict(by)}


def created(resource: str, doc: dict[str, Any]) -> Emitted:
    if resource not in CREATED:
        return []
    message_type, field = CREATED[resource]
    if resource == "stores":
        payload = {k: doc[k] for k in ("name", "languages", "countries", "distributionChannels",
                                       "supplyChannels", "productSelections", "custom") if k in doc}
        return [(message_type, payload)]
    return [(message_type, {field: doc})]


def deleted(resource: str, doc: dict[str, Any]) -> Emitted:
    if resource == "customers":
        return [("CustomerDeleted", {})]
    if resource == "orders":
        return [("OrderDeleted", {"order": doc})]
    if resource == "product-projections":
        return [("ProductDeleted", {"removedImageUrls": [], "currentProjection": doc})]
    if resource == "inventory":
        return [("InventoryEntryDeleted", {k: doc[k] for k in ("sku", "supplyChannel") if k in doc})]
    if resource == "stores":
        return [("StoreDeleted", {})]
    return []


def custom_field_messages(prefix: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> Emitted:
    """Messages for a change of ``custom`` (``prefix`` is ``Customer``/``Order``...)."""
    old, new = old or {}, new or {}
    old_type = (old.get("type") or {}).get("id")
    new_type = (new.get("type") or {}).get("id")
    if old_type != new_type:
        if new_type is None:
            return [(f"{prefix}CustomTypeRemoved", {"previousTypeId": old_type} if old_type else {})]
        payload: Payload = {"customFields": new}
        if old_type:
            payload["previousTypeId"] = old_type
        return [(f"{prefix}CustomTypeSet", payload)]
    out: Emitted = []
    old_fields, new_fields = old.get("fields") or {}, new.get("fields") or {}
    for name, value in new_fields.items():
        if name not in old_fields:
            out.append((f"{prefix}CustomFieldAdded", {"name": name, "value": value}))
        elif old_fields[name] != value:
            out.append((f"{prefix}CustomFieldChanged", {"name": name, "value": value,
                                                        "previousValue": old_fields[name]}))
    out.extend((f"{prefix}CustomFieldRemoved", {"name": name}) for name in old_fields if name not in new_fields)
    return out


def _by_id(items: Any) -> dict[Any, Any]:
    return {i.get("id"): i for i in items or [] if isinstance(i, dict)}


def _customer(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    out: Emitted = []
    simple = {"firstName": "CustomerFirstNameSet", "lastName": "CustomerLastNameSet",
              "externalId": "CustomerExternalIdSet", "dateOfBirth": "CustomerDateOfBirthSet",
              "companyName": "CustomerCompanyNameSet", "title": "CustomerTitleSet",
              "customerGroup": "CustomerGroupSet", "stores": "CustomerStoresSet"}
    if old.get("email") != new.get("email"):
        out.append(("CustomerEmailChanged", {"email": new.get("email"), "oldEmail": old.get("email")}))
    for field, message_type in simple.items():
        if old.get(field) != new.get(field):
            out.append((message_type, {field: new[field]} if new.get(field) is not None else {}))
    if new.get("isEmailVerified") and not old.get("isEmailVerified"):
        out.append(("CustomerEmailVerified", {}))
    old_addr, new_addr = _by_id(old.get("addresses")), _by_id(new.get("addresses"))
    for addr_id, addr in new_addr.items():
        if addr_id not in old_addr:
            out.append(("CustomerAddressAdded", {"address": addr}))
        elif old_addr[addr_id] != addr:
            out.append(("CustomerAddressChanged", {"address": addr}))
    out.extend(("CustomerAddressRemoved", {"address": a}) for i, a in old_addr.items() if i not in new_addr)
    return out + custom_field_messages("Customer", old.get("custom"), new.get("custom"))


def _order(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    out: Emitted = []
    for field, message_type in (("orderState", "OrderStateChanged"), ("paymentState", "OrderPaymentStateChanged"),
                                ("shipmentState", "OrderShipmentStateChanged")):
        if old.get(field) != new.get(field):
            old_field = "old" + field[0].upper() + field[1:]
            payload: Payload = {field: new.get(field)}
            if field == "orderState":
                payload = {"orderId": new["id"], **payload}
            if old.get(field) is not None:
                payload[old_field] = old[field]
            out.append((message_type, payload))
    old_returns, new_returns = old.get("returnInfo") or [], new.get("returnInfo") or []
    if old_returns != new_returns:
        if new_returns[:len(old_returns)] == old_returns:
            out.extend(("ReturnInfoAdded", {"returnInfo": r}) for r in new_returns[len(old_returns):])
        else:
            out.append(("ReturnInfoSet", {"returnInfo": new_returns}))
    if old.get("customerEmail") != new.get("customerEmail"):
        payload = {"email": new.get("customerEmail")}
        if old.get("customerEmail") is not None:
            payload["oldEmail"] = old["customerEmail"]
        out.append(("OrderCustomerEmailSet", payload))
    if old.get("customerId") != new.get("customerId"):
        payload = {}
        if new.get("customerId"):
            payload["customer"] = {"typeId": "customer", "id": new["customerId"]}
        if old.get("customerId"):
            payload["oldCustomer"] = {"typeId": "customer", "id": old["customerId"]}
        out.append(("OrderCustomerSet", payload))
    if old.get("store") != new.get("store"):
        out.append(("OrderStoreSet", {"store": new.get("store")} if new.get("store") else {}))
    old_items, new_items = _by_id(old.get("lineItems")), _by_id(new.get("lineItems"))
    for item_id, item in new_items.items():
        if item_id not in old_items:
            out.append(("OrderLineItemAdded", {"lineItem": item, "addedQuantity": item.get("quantity", 1)}))
    for item_id, item in old_items.items():
        if item_id not in new_items:
            out.append(("OrderLineItemRemoved", {"lineItemId": item_id, "removedQuantity": item.get("quantity", 1),
                                                 "newQuantity": 0, "newState": [],
                                                 "newTotalPrice": new.get("totalPrice")}))
    old_pay = {p.get("id") for p in (old.get("paymentInfo") or {}).get("payments", [])}
    for ref in (new.get("paymentInfo") or {}).get("payments", []):
        if ref.get("id") not in old_pay:
            out.append(("OrderPaymentAdded", {"payment": ref}))
    return out + custom_field_messages("Order", old.get("custom"), new.get("custom"))


def _inventory(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    if (old.get("quantityOnStock"), old.get("availableQuantity")) == \
            (new.get("quantityOnStock"), new.get("availableQuantity")):
        return []
    payload: Payload = {"oldQuantityOnStock": old.get("quantityOnStock"),
                        "newQuantityOnStock": new.get("quantityOnStock"),
                        "oldAvailableQuantity": old.get("availableQuantity"),
                        "newAvailableQuantity": new.get("availableQuantity")}
    if new.get("supplyChannel"):
        payload["supplyChannel"] = new["supplyChannel"]
    out: Emitted = [("InventoryEntryQuantitySet", payload)]
    if (new.get("availableQuantity") or 0) <= 0 < (old.get("availableQuantity") or 0):
        out.append(("InventoryEntryOutOfStock", {k: new[k] for k in ("sku", "supplyChannel") if k in new}))
    return out


def _payment(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    out: Emitted = []
    old_status, new_status = old.get("paymentStatus") or {}, new.get("paymentStatus") or {}
    if old_status.get("interfaceCode") != new_status.get("interfaceCode"):
        out.append(("PaymentStatusInterfaceCodeSet", {"paymentId": new["id"],
                                                      "interfaceCode": new_status.get("interfaceCode")}))
    if old_status.get("state") != new_status.get("state") and new_status.get("state"):
        out.append(("PaymentStatusStateTransition", {"state": new_status["state"], "force": False}))
    old_tx = _by_id(old.get("transactions"))
    for tx_id, tx in _by_id(new.get("transactions")).items():
        if tx_id not in old_tx:
            out.append(("PaymentTransactionAdded", {"transaction": tx}))
        elif old_tx[tx_id].get("state") != tx.get("state"):
            out.append(("PaymentTransactionStateChanged", {"transactionId": tx_id, "state": tx.get("state")}))
    return out


def _category(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    if old.get("slug") != new.get("slug"):
        return [("CategorySlugChanged", {"slug": new.get("slug"), "oldSlug": old.get("slug")})]
    return []


def _product(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    out: Emitted = []
    if old.get("slug") != new.get("slug"):
        out.append(("ProductSlugChanged", {"slug": new.get("slug"), "oldSlug": old.get("slug")}))
    if old.get("published") and not new.get("published"):
        out.append(("ProductUnpublished", {}))
    elif new.get("published"):
        out.append(("ProductPublished", {"removedImageUrls": [], "productProjection": new, "scope": "All"}))
    return out


def _store(old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    out: Emitted = []
    if old.get("name") != new.get("name"):
        out.append(("StoreNameSet", {"name": new.get("name")} if new.get("name") else {}))
    old_c = {c.get("code") for c in old.get("countries") or []}
    new_c = {c.get("code") for c in new.get("countries") or []}
    if old_c != new_c:
        out.append(("StoreCountriesChanged", {"addedCountries": [{"code": c} for c in sorted(new_c - old_c)],
                                              "removedCountries": [{"code": c} for c in sorted(old_c - new_c)]}))
    for field, message_type in (("distributionChannels", "StoreDistributionChannelsChanged"),
                                ("supplyChannels", "StoreSupplyChannelsChanged")):
        old_ch, new_ch = _by_id(old.get(field)), _by_id(new.get(field))
        if old_ch.keys() != new_ch.keys():
            out.append((message_type, {
                f"added{field[0].upper()}{field[1:]}": [v for k, v in new_ch.items() if k not in old_ch],
                f"removed{field[0].upper()}{field[1:]}": [v for k, v in old_ch.items() if k not in new_ch]}))
    return out


_DIFFS = {"customers": _customer, "orders": _order, "inventory": _inventory, "payments": _payment,
          "categories": _category, "product-projections": _product, "stores": _store}


def changed(resource: str, old: dict[str, Any], new: dict[str, Any]) -> Emitted:
    """Messages a real project would emit for the change ``old`` -> ``new`` of one document."""
    diff = _DIFFS.get(resource)
    return diff(old, new) if diff else []
