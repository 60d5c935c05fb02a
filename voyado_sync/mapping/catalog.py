"""Commercetools products and categories → Voyado Elevate catalog lines (reference §12).

One Commercetools product becomes one Elevate *product group* (key = the product's ``key``, else its id,
the same key receipts carry as ``articleNumber``); its variants split into Elevate *products* by the
configured variation attribute (colour: each visible variation has its own images) and every SKU is an
Elevate *variant*. Texts come in the data locale as ``defaults`` and in each market's locale as a
``"*|<locale>"`` override: title, description, product page url and the primary category path
(``ontology``, "Women > Dresses"). Prices and stock are per market: the first market's in the variant's
``defaults``, the others as ``"<market>|*"`` overrides.

* Prices: per market, the price in the market's currency for its country (else the currency's price
  without a country), without channel or customer group, valid at ``as_of``. ``listPrice`` is the price,
  ``sellingPrice`` its discounted value if any. Both are `Decimal` built from ``centAmount`` and
  ``fractionDigits`` and travel as exact JSON numbers.
* Stock: the available quantity of the latest inventory entry of the market's supply channel (none: the
  entry without a channel), else the projection's own availability for that channel; never below 0;
  left out when unknown rather than guessed.
* Primary image: the first image of the variation's first variant with images. The reference did not
  capture Elevate's image schema (§14.10): ``imageInfo.images[].sources[].url`` is this project's
  assumption, kept in one function (`_image_info`).

A product that is unpublished, deleted, has no SKU or no price in any market is not sent (the shell
removes its group from Elevate); one that cannot be read, or that repeats a SKU or product key another product already
carries (Elevate would refuse the whole import), is rejected with the reason. Pure: no Dagster, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from voyado_sync.mapping.categories import category_paths
from voyado_sync.mapping.config import CatalogRule, Market
from voyado_sync.mapping.lines import localized
from voyado_sync.money import MoneyError, amount


class ProductError(ValueError):
    """A product that cannot become a catalog line; the message is the reason."""


@dataclass(frozen=True)
class CatalogResult:
    key: str                      # Elevate product group key
    product_id: str
    status: str                   # "line" | "skipped" | "rejected"
    reason: str | None = None
    payload: dict[str, Any] | None = None
    variants: int = 0
    markets: tuple[str, ...] = ()


@dataclass
class Catalog:
    results: list[CatalogResult]
    warnings: list[str] = field(default_factory=list)


def _ref_id(ref: Any) -> str | None:
    return ref.get("id") if isinstance(ref, dict) and isinstance(ref.get("id"), str) else None


def stock_by_channel(inventory: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str | None], int]:
    """(sku, supply channel id or None) → available quantity (≥ 0) of the latest inventory entries."""
    out: dict[tuple[str, str | None], int] = {}
    for entry in inventory:
        sku, qty = entry.get("sku"), entry.get("availableQuantity")
        if isinstance(sku, str) and isinstance(qty, int) and not isinstance(qty, bool):
            out[(sku, _ref_id(entry.get("supplyChannel")))] = max(qty, 0)
    return out


def _price(prices: list[Any], market: Market, as_of: datetime, where: str) -> tuple[Decimal, Decimal] | None:
    """(listPrice, sellingPrice) of a variant in a market, or None when it has no price there."""
    by_country: dict[str | None, Mapping[str, Any]] = {}
    for p in prices:
        if not isinstance(p, dict) or p.get("channel") or p.get("customerGroup"):
            continue
        value = p.get("value")
        if not isinstance(value, dict) or value.get("currencyCode") != market.currency:
            continue
        if not _valid_at(p, as_of):
            continue
        country = p.get("country")
        if country in (market.country, None):
            by_country.setdefault(country, p)
    p = by_country.get(market.country) or by_country.get(None)
    if p is None:
        return None
    try:
        listed = amount(p["value"])
        discounted = p.get("discounted")
        selling = amount(discounted["value"]) if isinstance(discounted, dict) else listed
    except (MoneyError, KeyError, TypeError) as exc:
        raise ProductError(f"{where}: price {p.get('id')}: {exc}") from None
    return listed, selling


def _valid_at(price: Mapping[str, Any], as_of: datetime) -> bool:
    stamp = as_of.isoformat().replace("+00:00", "Z")
    lo, hi = price.get("validFrom"), price.get("validUntil")
    # ISO-8601 UTC timestamps of equal shape compare as text; Commercetools always writes them in UTC.
    return (not isinstance(lo, str) or lo[:19] <= stamp[:19]) and (not isinstance(hi, str) or stamp[:19] < hi[:19])


def _stock(variant: Mapping[str, Any], sku: str, market: Market, channel_ids: Mapping[str, str],
           stock: Mapping[tuple[str, str | None], int]) -> int | None:
    channel = channel_ids.get(market.stock_channel) if market.stock_channel else None
    if market.stock_channel and channel is None:
        return None
    if (sku, channel) in stock:
        return stock[(sku, channel)]
    avail = variant.get("availability") if isinstance(variant.get("availability"), dict) else {}
    if channel is not None:
        avail = (avail.get("channels") or {}).get(channel) if isinstance(avail.get("channels"), dict) else None
    qty = avail.get("availableQuantity") if isinstance(avail, dict) else None
    return max(qty, 0) if isinstance(qty, int) and not isinstance(qty, bool) else None


def _variation(variant: Mapping[str, Any], attribute: str | None) -> str | None:
    if not attribute:
        return None
    for a in variant.get("attributes") or ():
        if isinstance(a, dict) and a.get("name") == attribute:
            v = a.get("value")
            v = v.get("key") if isinstance(v, dict) else v
            return str(v) if v not in (None, "") else None
    return None


def _image_info(variants: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    for v in variants:
        for img in v.get("images") or ():
            if isinstance(img, dict) and isinstance(img.get("url"), str) and img["url"]:
                source: dict[str, Any] = {"url": img["url"]}
                dims = img.get("dimensions")
                if isinstance(dims, dict) and isinstance(dims.get("w"), int):
                    source["width"] = dims["w"]
                return {"images": [{"sources": [source]}]}
    return None


def _texts(doc: Mapping[str, Any], locale: str, rule: CatalogRule, paths: Mapping[str, str],
           exact: bool) -> dict[str, Any]:
    """Title, description, url and ontology in ``locale`` (``exact``: only values written in that locale)."""
    def text(value: Any) -> str | None:
        if exact:
            return value.get(locale) or None if isinstance(value, dict) else None
        return localized(value, (locale,))

    out: dict[str, Any] = {}
    title, description, slug = text(doc.get("name")), text(doc.get("description")), text(doc.get("slug"))
    if title:
        out["title"] = title
    if description:
        out["description"] = description
    if slug:
        out["url"] = rule.url_template.format(locale=locale, slug=slug)
    primary = next((_ref_id(c) for c in doc.get("categories") or () if _ref_id(c) in paths), None)
    if primary:
        out["ontology"] = paths[primary]
    return out


def product_line(doc: Mapping[str, Any], rule: CatalogRule, paths_by_locale: Mapping[str, Mapping[str, str]],
                 channel_ids: Mapping[str, str], stock: Mapping[tuple[str, str | None], int],
                 as_of: datetime) -> CatalogResult:
    pid = doc.get("id") if isinstance(doc.get("id"), str) else ""
    key = doc.get("key") if isinstance(doc.get("key"), str) and doc.get("key") else pid
    if not key:
        return CatalogResult("unmapped:product:?", pid, "rejected", "product has neither key nor id")
    try:
        return _product_line(doc, key, pid, rule, paths_by_locale, channel_ids, stock, as_of)
    except ProductError as exc:
        return CatalogResult(key, pid, "rejected", str(exc))


def _product_line(doc: Mapping[str, Any], key: str, pid: str, rule: CatalogRule,
                  paths_by_locale: Mapping[str, Mapping[str, str]], channel_ids: Mapping[str, str],
                  stock: Mapping[tuple[str, str | None], int], as_of: datetime) -> CatalogResult:
    if doc.get("published") is False:
        return CatalogResult(key, pid, "skipped", "unpublished")
    master = doc.get("masterVariant")
    if not isinstance(master, dict):
        raise ProductError("masterVariant is missing or not an object")
    rest = doc.get("variants") if isinstance(doc.get("variants"), list) else []
    variants = [master] + [v for v in rest if isinstance(v, dict)]
    groups: dict[str | None, list[Mapping[str, Any]]] = {}
    for v in variants:
        if isinstance(v.get("sku"), str) and v["sku"]:
            groups.setdefault(_variation(v, rule.variation_attribute), []).append(v)
    if not groups:
        return CatalogResult(key, pid, "skipped", "no variant has a SKU")
    first = rule.markets[0]
    products: dict[str, Any] = {}
    sold_in: set[str] = set()
    n_variants = 0
    for value, members in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")):
        pkey = key if len(groups) == 1 or value is None else f"{key}-{value}"
        out_variants: dict[str, Any] = {}
        markets: list[str] = []
        for v in members:
            sku, where = v["sku"], f"variant {v['sku']}"
            per_market: dict[str, dict[str, Any]] = {}
            for m in rule.markets:
                fields: dict[str, Any] = {}
                price = _price(v.get("prices") if isinstance(v.get("prices"), list) else [], m, as_of, where)
                if price is not None:
                    fields["listPrice"], fields["sellingPrice"] = price
                    if m.id not in markets:
                        markets.append(m.id)
                qty = _stock(v, sku, m, channel_ids, stock)
                if qty is not None:
                    fields["stock"] = qty
                per_market[m.id] = fields
            variant: dict[str, Any] = {"defaults": per_market.pop(first.id)}
            overrides = {f"{mid}|*": fields for mid, fields in per_market.items() if fields}
            if overrides:
                variant["overrides"] = overrides
            out_variants[sku] = variant
        if not markets:
            continue
        defaults = {"dataLocale": rule.data_locale,
                    **_texts(doc, rule.data_locale, rule, paths_by_locale[rule.data_locale], exact=False)}
        overrides = {}
        for m in rule.markets:
            if m.locale != rule.data_locale and f"*|{m.locale}" not in overrides:
                texts = _texts(doc, m.locale, rule, paths_by_locale[m.locale], exact=True)
                if texts:
                    overrides[f"*|{m.locale}"] = texts
        product: dict[str, Any] = {"markets": [m.id for m in rule.markets if m.id in markets], "defaults": defaults}
        image = _image_info(members)
        if image:
            defaults["imageInfo"] = image
        if overrides:
            product["overrides"] = overrides
        product["variants"] = out_variants
        products[pkey] = product
        sold_in.update(markets)
        n_variants += len(out_variants)
    if not products:
        return CatalogResult(key, pid, "skipped", "no price in any configured market")
    return CatalogResult(key, pid, "line", None, {"replace": {"key": key, "productGroup": {"products": products}}},
                         n_variants, tuple(m.id for m in rule.markets if m.id in sold_in))


def catalog(products: Iterable[Mapping[str, Any]], categories: Iterable[Mapping[str, Any]],
            inventory: Iterable[Mapping[str, Any]], channels: Iterable[Mapping[str, Any]], rule: CatalogRule,
            as_of: datetime, deleted: Mapping[str, str | None] | None = None) -> Catalog:
    """Every product's catalog line (or the reason it has none), in product group key order.
    ``deleted``: product id → key of products deleted in Commercetools; their last extracted version is
    ignored and their group is not sold any more (unless a live product carries the same key again)."""
    deleted = deleted or {}
    products = [p for p in products if p.get("id") not in deleted]
    categories = list(categories)
    locales = {rule.data_locale, *(m.locale for m in rule.markets)}
    # Overrides carry a path only where every name on it exists in that locale; defaults fall back.
    paths_by_locale = {loc: category_paths(categories, (loc, rule.data_locale)) for loc in locales}
    channel_ids = {c["key"]: c["id"] for c in channels if isinstance(c.get("key"), str) and isinstance(c.get("id"), str)}
    warnings = [f"stock channel {m.stock_channel!r} of market {m.id!r} is not a known channel key: "
                "its stock is left out" for m in rule.markets if m.stock_channel and m.stock_channel not in channel_ids]
    stock = stock_by_channel(inventory)
    results = [product_line(p, rule, paths_by_locale, channel_ids, stock, as_of) for p in products]
    live = {r.key for r in results}
    results += [CatalogResult(key or pid, pid, "skipped", "deleted in Commercetools")
                for pid, key in deleted.items() if (key or pid) not in live]
    results.sort(key=lambda r: (r.key, r.product_id))
    return Catalog(_refuse_repeats(results), warnings)


def _refuse_repeats(results: list[CatalogResult]) -> list[CatalogResult]:
    """Elevate refuses a whole import over one repeated group, product or variant key: the first owner
    (in key order) keeps it, a later product that repeats one is rejected naming the owner."""
    owner: dict[tuple[str, str], str] = {}
    out = []
    for r in results:
        if r.status != "line":
            out.append(r)
            continue
        products = r.payload["replace"]["productGroup"]["products"]
        keys = [("product group", r.key)] + [("product", k) for k in products] + [
            ("SKU", s) for p in products.values() for s in p["variants"]]
        clash = next(((kind, k) for kind, k in keys if (kind, k) in owner), None)
        if clash:
            kind, k = clash
            out.append(CatalogResult(r.key, r.product_id, "rejected",
                                     f"{kind} {k} is already carried by product {owner[clash]}"))
            continue
        for kk in keys:
            owner[kk] = r.product_id
        out.append(r)
    return out
