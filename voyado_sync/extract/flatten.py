"""Commercetools documents → typed rows (plus the raw JSON), or a reject with the reason.

One row function per dataset turns a document into typed columns; `flatten_page` applies it to a page and
never raises: a document with a missing required field, an unexpected top-level field, or a value of the
wrong shape becomes a reject row (id if readable, reason, raw JSON) and the page goes on. The ``raw``
column is the document re-serialised with sorted keys, so re-extracting an unchanged window produces
byte-identical rows. Money is `Decimal` from ``centAmount``/``fractionDigits`` (voyado_sync.money)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import msgspec
import pyarrow as pa

from voyado_sync.timestamps import parse_ts
from voyado_sync.money import MoneyError, amount

if TYPE_CHECKING:
    from voyado_sync.extract.datasets import Dataset

MONEY = pa.decimal128(38, 12)
TS = pa.timestamp("ms", tz="UTC")
STRINGS = pa.list_(pa.string())
_MONEY_SCALE = 12

COMMON_COLUMNS: list[pa.Field] = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("version", pa.int64()),
    pa.field("key", pa.string()),
    pa.field("created_at", TS),
    pa.field("last_modified_at", TS),
    pa.field("created_by_client_id", pa.string()),
    pa.field("last_modified_by_client_id", pa.string()),
]
RAW = pa.field("raw", pa.string(), nullable=False)

REJECT_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("version", pa.int64()),
    pa.field("last_modified_at", pa.string()),
    pa.field("reason", pa.string(), nullable=False),
    pa.field("raw", pa.string(), nullable=False),
])


class FlattenError(ValueError):
    """A document field is missing or has an unexpected shape; the message is the reject reason."""


_SORTED = msgspec.json.Encoder(order="sorted")
# Where msgspec and json.dumps spell a decoded document differently: a float Python writes with an
# exponent, >= 1e16 or < 1e-4 (msgspec: "1e16", "1e-7" - an exponent right before the end of a number -
# and "0.00001"), and NaN/infinity (msgspec: null). Separate literal searches: one pattern with
# alternatives scans several times slower. Text that only looks like one (a null, "e5," in a name) just
# takes the exact way.
_EXPONENT = re.compile(rb"e-?[0-9]+[,}\]]")


def raw_json(doc: Any) -> str:
    """A decoded JSON document (dicts, lists, strings, numbers, booleans, null: what the API's pages and
    the POS files decode to) as compact JSON with sorted keys, the ``raw`` column, byte for byte as
    ``json.dumps`` writes it. msgspec writes it (in C) unless the text shows a spelling where the two
    differ; then ``json.dumps`` does, which also stringifies any other object (``default=str``)."""
    try:
        text = _SORTED.encode(doc)
    except (TypeError, ValueError, OverflowError):  # an object JSON has no type for, a lone surrogate
        pass
    else:
        if b"null" not in text and b"0.0000" not in text and _EXPONENT.search(text) is None:
            return text.decode()
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# --- small typed accessors: each raises FlattenError naming the field ---------------------------------
def _obj(value: Any, where: str, optional: bool = True) -> dict[str, Any]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise FlattenError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _checked(value: Any, where: str, ok: bool, expected: str, show_value: bool = False) -> Any:
    """``value`` when absent or of the expected shape, else the reject reason naming the field."""
    if value is None or ok:
        return value
    got = repr(value) if show_value else type(value).__name__
    raise FlattenError(f"{where}: expected {expected}, got {got}")


def _list(value: Any, where: str) -> list[Any]:
    return _checked(value, where, isinstance(value, list), "an array") or []


def _str(value: Any, where: str) -> str | None:
    return _checked(value, where, isinstance(value, str), "a string")


def _int(value: Any, where: str) -> int | None:
    return _checked(value, where, isinstance(value, int) and not isinstance(value, bool), "an integer", True)


def _bool(value: Any, where: str) -> bool | None:
    return _checked(value, where, isinstance(value, bool), "a boolean", True)


def _texts(doc: Mapping[str, Any], *fields: str) -> dict[str, str | None]:
    """String fields under their column names (``customerNumber`` -> ``customer_number``)."""
    return {_column(f): _str(doc.get(f), f) for f in fields}


@lru_cache(maxsize=None)
def _column(field: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def _ts(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_ts(value)
    except (TypeError, ValueError, AttributeError) as exc:
        raise FlattenError(f"{where}: not a DateTime ({value!r})") from exc


def _ref_id(value: Any, where: str) -> str | None:
    return _str(_obj(value, where).get("id"), f"{where}.id")


def _ref_key(value: Any, where: str) -> str | None:
    return _str(_obj(value, where).get("key"), f"{where}.key")


def _money(value: Any, where: str) -> tuple[Decimal | None, str | None]:
    if value is None:
        return None, None
    m = _obj(value, where)
    try:
        d = amount(m)
    except MoneyError as exc:
        raise FlattenError(f"{where}: {exc}") from exc
    if -d.as_tuple().exponent > _MONEY_SCALE:  # type: ignore[operator]
        raise FlattenError(f"{where}: more than {_MONEY_SCALE} fraction digits")
    return d, _str(m.get("currencyCode"), f"{where}.currencyCode")


def _json(value: Any) -> str | None:
    return None if value is None else raw_json(value)


def _custom(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    custom = _obj(doc.get("custom"), "custom")
    return _ref_id(custom.get("type"), "custom.type"), _json(custom.get("fields"))


def common(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _str(doc.get("id"), "id"),
        "version": _int(doc.get("version"), "version"),
        "key": _str(doc.get("key"), "key"),
        "created_at": _ts(doc.get("createdAt"), "createdAt"),
        "last_modified_at": _ts(doc.get("lastModifiedAt"), "lastModifiedAt"),
        "created_by_client_id": _str(_obj(doc.get("createdBy"), "createdBy").get("clientId"), "createdBy.clientId"),
        "last_modified_by_client_id": _str(_obj(doc.get("lastModifiedBy"), "lastModifiedBy").get("clientId"),
                                           "lastModifiedBy.clientId"),
    }


# --- customers ---------------------------------------------------------------------------------------
CUSTOMER_COLUMNS = [
    pa.field("customer_number", pa.string()), pa.field("external_id", pa.string()), pa.field("email", pa.string()),
    pa.field("first_name", pa.string()), pa.field("last_name", pa.string()), pa.field("date_of_birth", pa.string()),
    pa.field("company_name", pa.string()), pa.field("locale", pa.string()),
    pa.field("phone", pa.string()), pa.field("mobile", pa.string()), pa.field("country", pa.string()),
    pa.field("address_phones", STRINGS), pa.field("customer_group_id", pa.string()),
    pa.field("store_keys", STRINGS), pa.field("is_email_verified", pa.bool_()),
    pa.field("authentication_mode", pa.string()), pa.field("custom_type_id", pa.string()),
    pa.field("custom_fields", pa.string()),
]


def customer_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    addresses = [_obj(a, f"addresses[{i}]", optional=False) for i, a in enumerate(_list(doc.get("addresses"), "addresses"))]
    by_id = {a.get("id"): a for a in addresses}
    default = (by_id.get(doc.get("defaultShippingAddressId")) or by_id.get(doc.get("defaultBillingAddressId"))
               or (addresses[0] if addresses else {}))
    phones = [p for a in addresses for p in (a.get("phone"), a.get("mobile")) if isinstance(p, str) and p.strip()]
    custom_type, custom_fields = _custom(doc)
    return {
        **_texts(doc, "customerNumber", "externalId", "email", "firstName", "lastName", "dateOfBirth", "companyName",
                 "locale"),
        "phone": _str(default.get("phone"), "address.phone"),
        "mobile": _str(default.get("mobile"), "address.mobile"),
        "country": _str(default.get("country"), "address.country"),
        "address_phones": phones,
        "customer_group_id": _ref_id(doc.get("customerGroup"), "customerGroup"),
        "store_keys": [_ref_key(s, f"stores[{i}]") for i, s in enumerate(_list(doc.get("stores"), "stores"))],
        "is_email_verified": _bool(doc.get("isEmailVerified"), "isEmailVerified"),
        "authentication_mode": _str(doc.get("authenticationMode"), "authenticationMode"),
        "custom_type_id": custom_type,
        "custom_fields": custom_fields,
    }


# --- orders and carts --------------------------------------------------------------------------------
LINE_ITEM = pa.struct([
    pa.field("line_item_id", pa.string()), pa.field("sku", pa.string()), pa.field("product_id", pa.string()),
    pa.field("variant_id", pa.int64()), pa.field("quantity", pa.int64()), pa.field("total_amount", MONEY),
    pa.field("currency", pa.string()), pa.field("custom", pa.bool_()),
])
RETURN_ITEM = pa.struct([
    pa.field("return_item_id", pa.string()), pa.field("line_item_id", pa.string()),
    pa.field("quantity", pa.int64()), pa.field("shipment_state", pa.string()),
    pa.field("payment_state", pa.string()), pa.field("return_date", TS),
])
PAYMENT = pa.struct([
    pa.field("payment_id", pa.string()), pa.field("method", pa.string()), pa.field("amount", MONEY),
    pa.field("currency", pa.string()), pa.field("expanded", pa.bool_()),
])


def _line_items(doc: Mapping[str, Any]) -> tuple[list[dict], list[str]]:
    rows, currencies = [], []
    for i, li in enumerate(_list(doc.get("lineItems"), "lineItems")):
        li = _obj(li, f"lineItems[{i}]", optional=False)
        variant = _obj(li.get("variant"), f"lineItems[{i}].variant")
        total, cur = _money(li.get("totalPrice"), f"lineItems[{i}].totalPrice")
        rows.append({"line_item_id": _str(li.get("id"), f"lineItems[{i}].id"),
                     "sku": _str(variant.get("sku"), f"lineItems[{i}].variant.sku"),
                     "product_id": _str(li.get("productId"), f"lineItems[{i}].productId"),
                     "variant_id": _int(variant.get("id"), f"lineItems[{i}].variant.id"),
                     "quantity": _int(li.get("quantity"), f"lineItems[{i}].quantity"),
                     "total_amount": total, "currency": cur, "custom": False})
        currencies.append(cur)
    for i, cli in enumerate(_list(doc.get("customLineItems"), "customLineItems")):
        cli = _obj(cli, f"customLineItems[{i}]", optional=False)
        total, cur = _money(cli.get("totalPrice"), f"customLineItems[{i}].totalPrice")
        rows.append({"line_item_id": _str(cli.get("id"), f"customLineItems[{i}].id"), "sku": None,
                     "product_id": None, "variant_id": None,
                     "quantity": _int(cli.get("quantity"), f"customLineItems[{i}].quantity"),
                     "total_amount": total, "currency": cur, "custom": True})
        currencies.append(cur)
    return rows, [c for c in currencies if c]


def _payments(doc: Mapping[str, Any]) -> list[dict]:
    out = []
    info = _obj(doc.get("paymentInfo"), "paymentInfo")
    for i, ref in enumerate(_list(info.get("payments"), "paymentInfo.payments")):
        ref = _obj(ref, f"paymentInfo.payments[{i}]", optional=False)
        obj = _obj(ref.get("obj"), f"paymentInfo.payments[{i}].obj")
        planned, cur = _money(obj.get("amountPlanned"), f"paymentInfo.payments[{i}].obj.amountPlanned")
        method = _obj(obj.get("paymentMethodInfo"), "paymentMethodInfo").get("method")
        out.append({"payment_id": _str(ref.get("id"), f"paymentInfo.payments[{i}].id"),
                    "method": _str(method, "paymentMethodInfo.method"), "amount": planned, "currency": cur,
                    "expanded": bool(obj)})
    return out


def _basket(doc: Mapping[str, Any]) -> dict[str, Any]:
    lines, currencies = _line_items(doc)
    total, currency = _money(doc.get("totalPrice"), "totalPrice")
    taxed = _obj(doc.get("taxedPrice"), "taxedPrice")
    gross, _ = _money(taxed.get("totalGross"), "taxedPrice.totalGross")
    net, _ = _money(taxed.get("totalNet"), "taxedPrice.totalNet")
    return {
        **_texts(doc, "customerId", "customerEmail", "anonymousId"),
        "store_key": _ref_key(doc.get("store"), "store"),
        **_texts(doc, "country", "locale"),
        "currency": currency, "total_amount": total, "total_gross": gross, "total_net": net,
        "tax_mode": _str(doc.get("taxMode"), "taxMode"),
        "line_item_count": sum(1 for li in lines if not li["custom"]),
        "custom_line_item_count": sum(1 for li in lines if li["custom"]),
        "line_items": lines,
        "missing_sku_count": sum(1 for li in lines if not li["custom"] and not li["sku"]),
        "currencies": sorted(set(currencies + ([currency] if currency else []))),
    }


BASKET_COLUMNS = [
    pa.field("customer_id", pa.string()), pa.field("customer_email", pa.string()),
    pa.field("anonymous_id", pa.string()), pa.field("store_key", pa.string()), pa.field("country", pa.string()),
    pa.field("locale", pa.string()), pa.field("currency", pa.string()), pa.field("total_amount", MONEY),
    pa.field("total_gross", MONEY), pa.field("total_net", MONEY), pa.field("tax_mode", pa.string()),
    pa.field("line_item_count", pa.int64()), pa.field("custom_line_item_count", pa.int64()),
    pa.field("line_items", pa.list_(LINE_ITEM)), pa.field("missing_sku_count", pa.int64()),
    pa.field("currencies", STRINGS),
]
ORDER_COLUMNS = [
    pa.field("order_number", pa.string()), *BASKET_COLUMNS,
    pa.field("order_state", pa.string()), pa.field("payment_state", pa.string()),
    pa.field("shipment_state", pa.string()), pa.field("origin", pa.string()),
    pa.field("completed_at", TS), pa.field("purchased_at", TS),
    pa.field("return_items", pa.list_(RETURN_ITEM)), pa.field("returned_quantity", pa.int64()),
    pa.field("payments", pa.list_(PAYMENT)),
]


def order_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    row = _basket(doc)
    returns = []
    for i, info in enumerate(_list(doc.get("returnInfo"), "returnInfo")):
        info = _obj(info, f"returnInfo[{i}]", optional=False)
        date = _ts(info.get("returnDate"), f"returnInfo[{i}].returnDate")
        for j, item in enumerate(_list(info.get("items"), f"returnInfo[{i}].items")):
            item = _obj(item, f"returnInfo[{i}].items[{j}]", optional=False)
            where = f"returnInfo[{i}].items[{j}]"
            returns.append({"return_item_id": _str(item.get("id"), f"{where}.id"),
                            "line_item_id": _str(item.get("lineItemId") or item.get("customLineItemId"),
                                                 f"{where}.lineItemId"),
                            "quantity": _int(item.get("quantity"), f"{where}.quantity"),
                            "shipment_state": _str(item.get("shipmentState"), f"{where}.shipmentState"),
                            "payment_state": _str(item.get("paymentState"), f"{where}.paymentState"),
                            "return_date": date})
    payments = _payments(doc)
    completed = _ts(doc.get("completedAt"), "completedAt")
    row.update({
        **_texts(doc, "orderNumber", "orderState", "paymentState", "shipmentState", "origin"),
        "completed_at": completed,
        "purchased_at": completed or _ts(doc.get("createdAt"), "createdAt"),
        "return_items": returns,
        "returned_quantity": sum(r["quantity"] or 0 for r in returns),
        "payments": payments,
        "currencies": sorted(set(row["currencies"]) | {p["currency"] for p in payments if p["currency"]}),
    })
    return row


CART_COLUMNS = [*BASKET_COLUMNS, pa.field("cart_state", pa.string()), pa.field("origin", pa.string())]


def cart_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    row = _basket(doc)
    row.update({"cart_state": _str(doc.get("cartState"), "cartState"), "origin": _str(doc.get("origin"), "origin")})
    return row


# --- payments ----------------------------------------------------------------------------------------
TRANSACTION = pa.struct([
    pa.field("transaction_id", pa.string()), pa.field("type", pa.string()), pa.field("state", pa.string()),
    pa.field("amount", MONEY), pa.field("currency", pa.string()), pa.field("timestamp", TS),
])
PAYMENT_COLUMNS = [
    pa.field("customer_id", pa.string()), pa.field("interface_id", pa.string()),
    pa.field("amount_planned", MONEY), pa.field("currency", pa.string()),
    pa.field("payment_interface", pa.string()), pa.field("method", pa.string()),
    pa.field("status_interface_code", pa.string()), pa.field("transactions", pa.list_(TRANSACTION)),
    pa.field("currencies", STRINGS),
]


def payment_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    planned, currency = _money(doc.get("amountPlanned"), "amountPlanned")
    method = _obj(doc.get("paymentMethodInfo"), "paymentMethodInfo")
    txs = []
    for i, tx in enumerate(_list(doc.get("transactions"), "transactions")):
        tx = _obj(tx, f"transactions[{i}]", optional=False)
        amt, cur = _money(tx.get("amount"), f"transactions[{i}].amount")
        txs.append({"transaction_id": _str(tx.get("id"), f"transactions[{i}].id"),
                    "type": _str(tx.get("type"), f"transactions[{i}].type"),
                    "state": _str(tx.get("state"), f"transactions[{i}].state"), "amount": amt, "currency": cur,
                    "timestamp": _ts(tx.get("timestamp"), f"transactions[{i}].timestamp")})
    return {
        "customer_id": _ref_id(doc.get("customer"), "customer"),
        "interface_id": _str(doc.get("interfaceId"), "interfaceId"),
        "amount_planned": planned, "currency": currency,
        "payment_interface": _str(method.get("paymentInterface"), "paymentMethodInfo.paymentInterface"),
        "method": _str(method.get("method"), "paymentMethodInfo.method"),
        "status_interface_code": _str(_obj(doc.get("paymentStatus"), "paymentStatus").get("interfaceCode"),
                                      "paymentStatus.interfaceCode"),
        "transactions": txs,
        "currencies": sorted({c for c in [currency, *(t["currency"] for t in txs)] if c}),
    }


# --- product projections ------------------------------------------------------------------------------
PRICE = pa.struct([
    pa.field("sku", pa.string()), pa.field("variant_id", pa.int64()), pa.field("price_id", pa.string()),
    pa.field("amount", MONEY), pa.field("currency", pa.string()), pa.field("country", pa.string()),
    pa.field("channel_id", pa.string()), pa.field("customer_group_id", pa.string()),
    pa.field("valid_from", TS), pa.field("valid_until", TS), pa.field("discounted_amount", MONEY),
])
AVAILABILITY = pa.struct([
    pa.field("sku", pa.string()), pa.field("channel_id", pa.string()), pa.field("is_on_stock", pa.bool_()),
    pa.field("available_quantity", pa.int64()), pa.field("restockable_in_days", pa.int64()),
])
IMAGE = pa.struct([pa.field("sku", pa.string()), pa.field("url", pa.string())])
PRODUCT_COLUMNS = [
    pa.field("product_type_id", pa.string()), pa.field("name", pa.string()), pa.field("slug", pa.string()),
    pa.field("description", pa.string()), pa.field("category_ids", STRINGS), pa.field("published", pa.bool_()),
    pa.field("master_sku", pa.string()), pa.field("skus", STRINGS), pa.field("variant_count", pa.int64()),
    pa.field("prices", pa.list_(PRICE)), pa.field("availability", pa.list_(AVAILABILITY)),
    pa.field("images", pa.list_(IMAGE)), pa.field("currencies", STRINGS),
]


def _availability(sku: str | None, avail: dict[str, Any], where: str) -> list[dict]:
    def one(channel: str | None, a: dict[str, Any], w: str) -> dict:
        return {"sku": sku, "channel_id": channel, "is_on_stock": _bool(a.get("isOnStock"), f"{w}.isOnStock"),
                "available_quantity": _int(a.get("availableQuantity"), f"{w}.availableQuantity"),
                "restockable_in_days": _int(a.get("restockableInDays"), f"{w}.restockableInDays")}

    out = [one(None, avail, where)] if any(k in avail for k in ("isOnStock", "availableQuantity")) else []
    for channel, a in sorted(_obj(avail.get("channels"), f"{where}.channels").items()):
        out.append(one(channel, _obj(a, f"{where}.channels.{channel}", optional=False), f"{where}.channels.{channel}"))
    return out


def product_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    master = _obj(doc.get("masterVariant"), "masterVariant", optional=False)
    variants = [master] + [_obj(v, f"variants[{i}]", optional=False)
                           for i, v in enumerate(_list(doc.get("variants"), "variants"))]
    prices, availability, images = [], [], []
    for i, v in enumerate(variants):
        where = "masterVariant" if i == 0 else f"variants[{i - 1}]"
        sku = _str(v.get("sku"), f"{where}.sku")
        for j, p in enumerate(_list(v.get("prices"), f"{where}.prices")):
            p = _obj(p, f"{where}.prices[{j}]", optional=False)
            amt, cur = _money(p.get("value"), f"{where}.prices[{j}].value")
            disc, _ = _money(_obj(p.get("discounted"), "discounted").get("value"), f"{where}.prices[{j}].discounted")
            prices.append({"sku": sku, "variant_id": _int(v.get("id"), f"{where}.id"),
                           "price_id": _str(p.get("id"), f"{where}.prices[{j}].id"), "amount": amt, "currency": cur,
                           "country": _str(p.get("country"), f"{where}.prices[{j}].country"),
                           "channel_id": _ref_id(p.get("channel"), f"{where}.prices[{j}].channel"),
                           "customer_group_id": _ref_id(p.get("customerGroup"), f"{where}.prices[{j}].customerGroup"),
                           "valid_from": _ts(p.get("validFrom"), "validFrom"),
                           "valid_until": _ts(p.get("validUntil"), "validUntil"), "discounted_amount": disc})
        availability += _availability(sku, _obj(v.get("availability"), f"{where}.availability"),
                                      f"{where}.availability")
        for j, img in enumerate(_list(v.get("images"), f"{where}.images")):
            images.append({"sku": sku, "url": _str(_obj(img, f"{where}.images[{j}]").get("url"), "url")})
    skus = [v.get("sku") for v in variants if isinstance(v.get("sku"), str)]
    return {
        "product_type_id": _ref_id(doc.get("productType"), "productType"),
        "name": _json(doc.get("name")), "slug": _json(doc.get("slug")), "description": _json(doc.get("description")),
        "category_ids": [_ref_id(c, f"categories[{i}]") for i, c in enumerate(_list(doc.get("categories"), "categories"))],
        "published": _bool(doc.get("published"), "published"),
        "master_sku": _str(master.get("sku"), "masterVariant.sku"), "skus": skus, "variant_count": len(variants),
        "prices": prices, "availability": availability, "images": images,
        "currencies": sorted({p["currency"] for p in prices if p["currency"]}),
    }


# --- categories, inventory, stores, channels ----------------------------------------------------------
CATEGORY_COLUMNS = [
    pa.field("name", pa.string()), pa.field("slug", pa.string()), pa.field("external_id", pa.string()),
    pa.field("parent_id", pa.string()), pa.field("ancestor_ids", STRINGS), pa.field("path_ids", STRINGS),
    pa.field("path_names", STRINGS), pa.field("depth", pa.int64()), pa.field("order_hint", pa.string()),
]


def _label(localized: Any) -> str | None:
    """One display string of a LocalizedString: English when present, else the first locale in order."""
    if not isinstance(localized, dict) or not localized:
        return None
    value = localized.get("en") or localized[sorted(localized)[0]]
    return value if isinstance(value, str) else None


def category_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    ancestors = [_obj(a, f"ancestors[{i}]", optional=False)
                 for i, a in enumerate(_list(doc.get("ancestors"), "ancestors"))]
    ancestor_ids = [_ref_id(a, f"ancestors[{i}]") for i, a in enumerate(ancestors)]
    names = [_label(_obj(a.get("obj"), "obj").get("name")) or a.get("id") for a in ancestors]
    return {
        "name": _json(doc.get("name")), "slug": _json(doc.get("slug")),
        "external_id": _str(doc.get("externalId"), "externalId"),
        "parent_id": _ref_id(doc.get("parent"), "parent"), "ancestor_ids": ancestor_ids,
        "path_ids": [*ancestor_ids, doc.get("id")], "path_names": [*names, _label(doc.get("name")) or doc.get("id")],
        "depth": len(ancestor_ids), "order_hint": _str(doc.get("orderHint"), "orderHint"),
    }


INVENTORY_COLUMNS = [
    pa.field("sku", pa.string()), pa.field("supply_channel_id", pa.string()),
    pa.field("quantity_on_stock", pa.int64()), pa.field("available_quantity", pa.int64()),
    pa.field("restockable_in_days", pa.int64()), pa.field("expected_delivery", TS),
]


def inventory_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "sku": _str(doc.get("sku"), "sku"), "supply_channel_id": _ref_id(doc.get("supplyChannel"), "supplyChannel"),
        "quantity_on_stock": _int(doc.get("quantityOnStock"), "quantityOnStock"),
        "available_quantity": _int(doc.get("availableQuantity"), "availableQuantity"),
        "restockable_in_days": _int(doc.get("restockableInDays"), "restockableInDays"),
        "expected_delivery": _ts(doc.get("expectedDelivery"), "expectedDelivery"),
    }


STORE_COLUMNS = [
    pa.field("name", pa.string()), pa.field("languages", STRINGS), pa.field("countries", STRINGS),
    pa.field("distribution_channel_ids", STRINGS), pa.field("supply_channel_ids", STRINGS),
]


def store_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": _json(doc.get("name")),
        "languages": [_str(x, "languages[]") for x in _list(doc.get("languages"), "languages")],
        "countries": [_str(_obj(c, "countries[]").get("code"), "countries[].code")
                      for c in _list(doc.get("countries"), "countries")],
        "distribution_channel_ids": [_ref_id(c, "distributionChannels[]")
                                     for c in _list(doc.get("distributionChannels"), "distributionChannels")],
        "supply_channel_ids": [_ref_id(c, "supplyChannels[]") for c in _list(doc.get("supplyChannels"), "supplyChannels")],
    }


CHANNEL_COLUMNS = [
    pa.field("roles", STRINGS), pa.field("name", pa.string()), pa.field("country", pa.string()),
    pa.field("city", pa.string()), pa.field("latitude", pa.float64()), pa.field("longitude", pa.float64()),
]


def channel_row(doc: Mapping[str, Any]) -> dict[str, Any]:
    address = _obj(doc.get("address"), "address")
    geo = _obj(doc.get("geoLocation"), "geoLocation")
    coords = _list(geo.get("coordinates"), "geoLocation.coordinates")
    if coords and (len(coords) != 2 or not all(isinstance(c, (int, float)) for c in coords)):
        raise FlattenError(f"geoLocation.coordinates: expected [lng, lat], got {coords!r}")
    return {
        "roles": [_str(r, "roles[]") for r in _list(doc.get("roles"), "roles")],
        "name": _json(doc.get("name")), "country": _str(address.get("country"), "address.country"),
        "city": _str(address.get("city"), "address.city"),
        "latitude": float(coords[1]) if coords else None, "longitude": float(coords[0]) if coords else None,
    }


# --- the page loop -----------------------------------------------------------------------------------
RowFn = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass
class FlatPage:
    rows: pa.Table
    rejects: pa.Table


def check_shape(dataset: "Dataset", doc: Any) -> None:
    if not isinstance(doc, dict):
        raise FlattenError(f"document is a {type(doc).__name__}, not an object")
    missing = sorted(f for f in dataset.required if doc.get(f) is None)
    if missing:
        raise FlattenError(f"missing required field(s): {', '.join(missing)}")
    if dataset.known is not None:
        unexpected = sorted(set(doc) - dataset.known)
        if unexpected:
            raise FlattenError(f"unexpected field(s): {', '.join(unexpected)}")


def flatten_doc(dataset: "Dataset", doc: Any) -> dict[str, Any]:
    """Typed row for one document; raises FlattenError with the reason."""
    check_shape(dataset, doc)
    row = common(doc)
    row.update(dataset.row(doc))
    row["raw"] = raw_json(doc)
    return row


def reject_row(doc: Any, reason: str) -> dict[str, Any]:
    d = doc if isinstance(doc, dict) else {}
    version = d.get("version")
    lm = d.get("lastModifiedAt")
    return {"id": d.get("id") if isinstance(d.get("id"), str) else None,
            "version": version if isinstance(version, int) and not isinstance(version, bool) else None,
            "last_modified_at": lm if isinstance(lm, str) else None, "reason": reason, "raw": raw_json(doc)}


def flatten_page(dataset: "Dataset", docs: Iterable[Any]) -> FlatPage:
    """Typed rows and rejects for a page; never raises for a bad document."""
    rows, rejects = [], []
    for doc in docs:
        try:
            rows.append(flatten_doc(dataset, doc))
        except FlattenError as exc:
            rejects.append(reject_row(doc, str(exc)))
        except Exception as exc:  # noqa: BLE001 - any surprise in one document must not kill the partition
            rejects.append(reject_row(doc, f"{type(exc).__name__}: {exc}"))
    table = _to_table(rows, dataset.schema, rejects)
    return FlatPage(table, pa.Table.from_pylist(rejects, schema=REJECT_SCHEMA))


def _to_table(rows: list[dict[str, Any]], schema: pa.Schema, rejects: list[dict[str, Any]]) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # One row does not fit its column type: find it, reject it, keep the rest.
        good = []
        for row in rows:
            try:
                pa.Table.from_pylist([row], schema=schema)
                good.append(row)
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                rejects.append(reject_row(json.loads(row["raw"]), f"column type: {exc}"))
        return pa.Table.from_pylist(good, schema=schema)


def schema_for(columns: list[pa.Field]) -> pa.Schema:
    return pa.schema([*COMMON_COLUMNS, *columns, RAW])
