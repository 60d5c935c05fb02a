"""The Commercetools dataset registry: what each source asset reads and how it becomes typed columns.

``delta`` says how the delta sensor notices changes: ``messages`` when Commercetools emits a Message for
(practically) every change of that resource, ``watermark`` (``lastModifiedAt`` polling) where it does not:
channels and carts have no messages, categories only have Created/SlugChanged (reference §3.2)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from voyado_sync.extract import flatten as fl
from voyado_sync.settings import ConfigError

_COMMON_FIELDS = {"id", "version", "key", "createdAt", "lastModifiedAt", "createdBy", "lastModifiedBy", "custom"}


@dataclass(frozen=True)
class Dataset:
    name: str  # asset key ["commercetools", name]; storage "commercetools/<name>"
    resource: str  # path segment of the query endpoint
    scope: str  # least-privilege scope that reads it
    message_type_id: str | None  # ``resource.typeId`` of its Messages
    delta: str  # "messages" | "watermark"
    columns: list[pa.Field]
    row: Callable[[Mapping[str, Any]], dict[str, Any]]
    required: frozenset[str]
    known: frozenset[str] | None  # None: do not flag unknown top-level fields
    expand: tuple[str, ...] = ()
    description: str = ""
    has_line_items: bool = False
    has_money: bool = False
    schema: pa.Schema = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", fl.schema_for(self.columns))

    @property
    def storage_name(self) -> str:
        return f"commercetools/{self.name}"

    @property
    def rejects_name(self) -> str:
        return f"commercetools/{self.name}_rejects"

    @property
    def asset_key(self) -> list[str]:
        return ["commercetools", self.name]


def _fields(*names: str) -> frozenset[str]:
    return frozenset(_COMMON_FIELDS | set(names))


_ORDER_FIELDS = _fields(
    "type", "completedAt", "orderNumber", "purchaseOrderNumber", "customerId", "customerEmail", "customerGroup",
    "anonymousId", "businessUnit", "store", "lineItems", "customLineItems", "totalPrice", "taxedPrice",
    "taxedShippingPrice", "discountOnTotalPrice", "taxMode", "taxRoundingMode", "taxCalculationMode",
    "priceRoundingMode", "inventoryMode", "billingAddress", "shippingAddress", "itemShippingAddresses",
    "shippingMode", "shippingKey", "shippingInfo", "shippingRateInput", "shippingCustomFields", "shipping",
    "discountCodes", "directDiscounts", "refusedGifts", "paymentInfo", "country", "locale", "origin", "cart",
    "quote", "recurringOrder", "orderState", "shipmentState", "paymentState", "state", "syncInfo", "returnInfo",
    "lastMessageSequenceNumber", "totalLineItemQuantity")

DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset("customers", "customers", "view_customers", "customer", "messages", fl.CUSTOMER_COLUMNS,
            fl.customer_row, frozenset({"id", "version", "createdAt", "lastModifiedAt", "email"}),
            _fields("customerNumber", "externalId", "email", "password", "firstName", "lastName", "middleName",
                    "title", "salutation", "dateOfBirth", "companyName", "vatId", "locale", "addresses",
                    "defaultShippingAddressId", "shippingAddressIds", "defaultBillingAddressId", "billingAddressIds",
                    "isEmailVerified", "customerGroup", "customerGroupAssignments", "stores", "authenticationMode",
                    "businessUnit"),
            description="Customer accounts (emails, names, address phones, stores, custom fields)."),
    Dataset("orders", "orders", "view_orders", "order", "messages", fl.ORDER_COLUMNS, fl.order_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "lineItems", "totalPrice", "orderState"}),
            _ORDER_FIELDS, expand=("paymentInfo.payments[*]",), has_line_items=True, has_money=True,
            description="Orders with line items, returnInfo and expanded payments."),
    Dataset("product_projections", "product-projections", "view_products", "product", "messages",
            fl.PRODUCT_COLUMNS, fl.product_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "productType", "name", "slug", "masterVariant"}),
            _fields("productType", "name", "slug", "description", "metaTitle", "metaDescription", "metaKeywords",
                    "categories", "categoryOrderHints", "searchKeywords", "hasStagedChanges", "published",
                    "masterVariant", "variants", "taxCategory", "state", "reviewRatingStatistics", "priceMode",
                    "attributes"),
            has_money=True,
            description="Published product projections: all variants, scoped prices, images, availability."),
    Dataset("categories", "categories", "view_categories", "category", "watermark", fl.CATEGORY_COLUMNS,
            fl.category_row, frozenset({"id", "version", "createdAt", "lastModifiedAt", "name", "slug"}),
            _fields("name", "slug", "description", "parent", "ancestors", "orderHint", "externalId", "metaTitle",
                    "metaDescription", "metaKeywords", "assets"),
            expand=("ancestors[*]",), description="Categories with their path from the root (ancestors)."),
    Dataset("inventory", "inventory", "view_products", "inventory-entry", "messages", fl.INVENTORY_COLUMNS,
            fl.inventory_row, frozenset({"id", "version", "createdAt", "lastModifiedAt", "sku"}),
            _fields("sku", "supplyChannel", "quantityOnStock", "availableQuantity", "minCartQuantity",
                    "maxCartQuantity", "restockableInDays", "expectedDelivery", "reservationExpirationInMinutes",
                    "stockLevels"),
            description="Inventory entries per SKU and supply channel."),
    Dataset("stores", "stores", "view_stores", "store", "messages", fl.STORE_COLUMNS, fl.store_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "key"}),
            _fields("name", "languages", "countries", "distributionChannels", "supplyChannels", "productSelections",
                    "storefront"),
            description="Stores (web shops) with their channels."),
    Dataset("channels", "channels", "view_channels", None, "watermark", fl.CHANNEL_COLUMNS, fl.channel_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "key"}),
            _fields("roles", "name", "description", "address", "reviewRatingStatistics", "geoLocation"),
            description="Channels: physical stores (ProductDistribution/InventorySupply) and others."),
    Dataset("carts", "carts", "view_orders", None, "watermark", fl.CART_COLUMNS, fl.cart_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "lineItems", "totalPrice"}), None,
            has_line_items=True, has_money=True, description="Carts, for abandoned-cart triggers."),
    Dataset("payments", "payments", "view_payments", "payment", "messages", fl.PAYMENT_COLUMNS, fl.payment_row,
            frozenset({"id", "version", "createdAt", "lastModifiedAt", "amountPlanned"}),
            _fields("customer", "anonymousId", "interfaceId", "amountPlanned", "paymentMethodInfo", "paymentStatus",
                    "transactions", "interfaceInteractions", "externalId", "amountAuthorized", "authorizedUntil",
                    "amountPaid", "amountRefunded"),
            has_money=True, description="Payments with their transactions."),
]}

BY_MESSAGE_TYPE_ID = {d.message_type_id: d for d in DATASETS.values() if d.message_type_id}


def get_dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown Commercetools dataset {name!r}; known: {', '.join(DATASETS)}") from None


def select_datasets(names: Iterable[str] | str | None) -> list[Dataset]:
    """Datasets named in a comma-separated list (or all when empty); an unknown name fails fast."""
    if names is None or (isinstance(names, str) and not names.strip()):
        return list(DATASETS.values())
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    return [get_dataset(n) for n in items if n]
