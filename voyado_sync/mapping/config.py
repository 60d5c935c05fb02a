"""Mapping tables and rules loaded from the config folder (default: the repository's ``data/``).

- ``stores.csv``: ``kind,key,store_external_id,name,timezone,channel,country,locale,currency``.
  ``kind`` says what ``key`` is: ``store`` (Commercetools store key), ``channel`` (distribution channel
  key or id; also the POS ``store_id``), ``business-unit`` (B2B business unit key) or ``country`` (ISO
  country, the fallback web store of a market). ``channel`` is the omnichannel attribution sent in
  ``extraData``: ``web``, ``app`` or ``store``.
- ``payment_methods.csv``: ``payment_interface,method,voyado_type,description``; ``*`` matches any
  interface; methods match case-insensitively with ``-``/space folded to ``_``.
- ``mapping.yaml``: sale/return rules, shipping line, contact match and guest policy, locale fallback,
  Elevate catalog markets, Voyado → Commercetools customer fields, campaign
  triggers, loyalty system of record (commented in the file itself).

A bad table is a `ConfigError` naming the file and row, raised once at load time.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from voyado_sync.money import is_known_currency
from voyado_sync.settings import PACKAGE_DATA, ConfigError

STORE_KINDS = ("store", "channel", "business-unit", "country")
CHANNELS = ("web", "app", "store")


@dataclass(frozen=True, slots=True)
class StoreRow:
    kind: str
    key: str
    store_external_id: str
    name: str
    timezone: str
    channel: str
    country: str | None
    locale: str | None
    currency: str | None
    tz: ZoneInfo = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PaymentRow:
    payment_interface: str
    method: str
    voyado_type: str
    description: str | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiptIds(_Strict):
    purchase_prefix: str = "ct-order-"
    return_prefix: str = "ct-return-"
    pos_prefix: str = ""


class SaleRule(_Strict):
    order_states: tuple[str, ...] = ("Open", "Confirmed", "Complete")
    payment_states: tuple[str, ...] = ("Paid",)
    shipment_states: tuple[str, ...] = ()


class ReturnRule(_Strict):
    shipment_states: tuple[str, ...] = ("Returned", "BackInStock", "Unusable")
    payment_states: tuple[str, ...] = ("Refunded",)


class ShippingLine(_Strict):
    sku: str = "SHIPPING"
    article_number: str = "SHIPPING"
    article_name: str | None = None
    article_group: str | None = "Shipping"
    awards_bonus: bool = False
    skip_free: bool = True


class ArticleNumberRule(_Strict):
    sku_size_suffix: str | None = r"-(XXS|XS|S|M|L|XL|XXL|XXXL|\d{2}(\.5)?)$"


class ContactRule(_Strict):
    match_keys: tuple[Literal["contactId", "externalId", "email"], ...] = ("contactId",)
    contact_type: str = "Member"
    guest_contact_type: str = "Contact"


class LocaleRule(_Strict):
    fallback: tuple[str, ...] = ("en",)


class PaymentRule(_Strict):
    unknown_method: Literal["reject", "fallback"] = "reject"
    fallback_type: str = "other"
    voucher_types: tuple[str, ...] = ("bonuscheck",)


class PosRule(_Strict):
    contact_keys: tuple[Literal["contact_id", "member_number", "card_id", "email", "phone"], ...] = ("contact_id",)
    contact_type: str = "Member"


class ContactSyncRule(_Strict):
    contact_type: str = "Member"
    # The contact type of a shopper who is not a registered customer (a guest, a POS-only shopper): every
    # shopper with a sale gets a contact before its receipts go, without any consent being invented.
    shopper_contact_type: str = "Contact"
    source: str = "e-com"


class Market(_Strict):
    id: str                          # Elevate market id
    country: str                     # Commercetools price country
    currency: str
    locale: str                      # Commercetools locale of the market's texts
    stock_channel: str | None = None  # supply channel key whose availableQuantity is the stock; None = no channel


class CatalogRule(_Strict):
    data_locale: str = "en"
    url_template: str = "/{locale}/p/{slug}"
    variation_attribute: str | None = "color"
    markets: tuple[Market, ...] = tuple(
        Market(id=c.lower(), country=c, currency=cur, locale=loc, stock_channel=ch) for c, cur, loc, ch in (
            ("SE", "SEK", "sv-SE", "WH-NORDIC"), ("NO", "NOK", "nb-NO", "WH-NORDIC"),
            ("DK", "DKK", "da-DK", "WH-NORDIC"), ("FI", "EUR", "fi-FI", "WH-NORDIC"), ("DE", "EUR", "de-DE", "WH-DE")))


class WritebackRule(_Strict):
    type_key: str = "voyado-sync-customer"
    other_type: Literal["extend", "refuse"] = "extend"
    marketing_consent: str = "newsletter"
    tier_path: str | None = "loyalty.tier"


class CampaignRule(_Strict):
    first_purchase_trigger: str | None = "first-purchase"   # Voyado custom trigger id; None = not fired
    tier_change_trigger: str | None = "tier-change"
    track_carts: bool = True
    publish_stock: bool = True
    stock_channel: str | None = None


class LoyaltyRule(_Strict):
    system_of_record: Literal["voyado", "commercetools"] = "voyado"
    definition_id: int = 1
    source: str = "e-com"
    burn_field: str | None = "loyaltyPointsRedeemed"
    earn_field: str | None = "loyaltyPointsEarned"


class Rules(_Strict):
    receipts: ReceiptIds = ReceiptIds()
    sale: SaleRule = SaleRule()
    returns: ReturnRule = ReturnRule()
    shipping: ShippingLine = ShippingLine()
    article_number: ArticleNumberRule = ArticleNumberRule()
    contact: ContactRule = ContactRule()
    locale: LocaleRule = LocaleRule()
    payments: PaymentRule = PaymentRule()
    pos: PosRule = PosRule()
    contacts: ContactSyncRule = ContactSyncRule()
    catalog: CatalogRule = CatalogRule()
    writeback: WritebackRule = WritebackRule()
    campaigns: CampaignRule = CampaignRule()
    loyalty: LoyaltyRule = LoyaltyRule()


@dataclass(frozen=True)
class MappingConfig:
    """Everything the pure mapping needs from configuration, immutable and hashable by identity."""

    stores: dict[tuple[str, str], StoreRow]
    payment_methods: dict[tuple[str, str], PaymentRow]
    rules: Rules = Rules()
    size_suffix: re.Pattern[str] | None = None
    _payment_hits: dict[tuple[Any, Any], PaymentRow | None] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.size_suffix is None and self.rules.article_number.sku_size_suffix:
            object.__setattr__(self, "size_suffix", re.compile(self.rules.article_number.sku_size_suffix))

    def store(self, kind: str, key: str | None) -> StoreRow | None:
        return self.stores.get((kind, key)) if key else None

    def payment(self, interface: str | None, method: str | None) -> PaymentRow | None:
        key = (interface, method)
        try:
            return self._payment_hits[key]
        except KeyError:
            pass
        except TypeError:  # unhashable junk from a malformed document
            return None
        m = normalize_method(method) if isinstance(method, str) else ""
        i = interface.strip().lower() if isinstance(interface, str) else ""
        row = (self.payment_methods.get((i, m)) or self.payment_methods.get(("*", m))) if m else None
        if len(self._payment_hits) < 10_000:  # bounded: the keys come from documents
            self._payment_hits[key] = row
        return row

    def with_rules(self, **sections: dict[str, Any]) -> "MappingConfig":
        """A copy with some rule sections overridden, e.g. ``with_rules(sale={"payment_states": []})``."""
        merged = self.rules.model_dump()
        for name, values in sections.items():
            merged[name] = {**merged[name], **values}
        return MappingConfig(self.stores, self.payment_methods, _rules(merged, "with_rules"))

    def with_stores(self, *rows: StoreRow) -> "MappingConfig":
        stores = dict(self.stores)
        stores.update({(r.kind, r.key): r for r in rows})
        return MappingConfig(stores, self.payment_methods, self.rules)


def normalize_method(method: str | None) -> str:
    return re.sub(r"[\s\-]+", "_", method.strip().lower()) if method else ""


def store_row(kind: str, key: str, store_external_id: str, *, timezone: str = "UTC", channel: str = "web",
              name: str = "", country: str | None = None, locale: str | None = None,
              currency: str | None = None, where: str = "store row") -> StoreRow:
    if kind not in STORE_KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(STORE_KINDS)}")
    if not key or not store_external_id:
        raise ConfigError(f"{where}: key and store_external_id are required")
    if channel not in CHANNELS:
        raise ConfigError(f"{where}: channel {channel!r} is not one of {', '.join(CHANNELS)}")
    if currency and not is_known_currency(currency):
        raise ConfigError(f"{where}: unknown currency {currency!r}")
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{where}: timezone {timezone!r} is not an IANA time zone") from exc
    return StoreRow(kind, key, store_external_id, name or store_external_id, timezone, channel,
                    country or None, locale or None, currency or None, tz)


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise ConfigError(f"mapping table {path} is missing")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def load_stores(path: Path) -> dict[tuple[str, str], StoreRow]:
    rows: dict[tuple[str, str], StoreRow] = {}
    for n, raw in enumerate(_read_csv(path, ("kind", "key", "store_external_id", "timezone", "channel")), 2):
        row = store_row(raw["kind"], raw["key"], raw["store_external_id"], timezone=raw["timezone"],
                        channel=raw["channel"], name=raw.get("name", ""), country=raw.get("country"),
                        locale=raw.get("locale"), currency=raw.get("currency"), where=f"{path}:{n}")
        if (row.kind, row.key) in rows:
            raise ConfigError(f"{path}:{n}: duplicate {row.kind} {row.key!r}")
        rows[(row.kind, row.key)] = row
    return rows


def load_payment_methods(path: Path) -> dict[tuple[str, str], PaymentRow]:
    rows: dict[tuple[str, str], PaymentRow] = {}
    for n, raw in enumerate(_read_csv(path, ("payment_interface", "method", "voyado_type")), 2):
        key = ((raw["payment_interface"] or "*").lower(), normalize_method(raw["method"]))
        if not key[1] or not raw["voyado_type"]:
            raise ConfigError(f"{path}:{n}: method and voyado_type are required")
        if key in rows:
            raise ConfigError(f"{path}:{n}: duplicate payment method {key[0]}/{key[1]}")
        rows[key] = PaymentRow(key[0], key[1], raw["voyado_type"], raw.get("description") or None)
    return rows


def _rules(data: Any, where: str) -> Rules:
    try:
        return Rules.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {loc}: {first['msg']}") from exc


def load_rules(path: Path) -> Rules:
    if not path.is_file():
        return Rules()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    rules = _rules(data, str(path))
    if rules.article_number.sku_size_suffix:
        try:
            re.compile(rules.article_number.sku_size_suffix)
        except re.error as exc:
            raise ConfigError(f"{path}: article_number.sku_size_suffix is not a regex: {exc}") from exc
    return rules


def load_config(config_dir: str | Path | None = None) -> MappingConfig:
    """Read ``stores.csv``, ``payment_methods.csv`` and ``mapping.yaml`` from ``config_dir``
    (default: the repository's ``data/``; the Dagster shell passes ``Settings.config_dir``)."""
    base = Path(config_dir) if config_dir else PACKAGE_DATA
    return MappingConfig(load_stores(base / "stores.csv"), load_payment_methods(base / "payment_methods.csv"),
                         load_rules(base / "mapping.yaml"))


@lru_cache(maxsize=8)
def cached_config(config_dir: str | None = None) -> MappingConfig:
    return load_config(config_dir)
