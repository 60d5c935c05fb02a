"""The shop's reference data in Commercetools shapes: a 3-level category tree, product projections
with localized names, variants, scoped prices and per-channel availability, inventory entries per
(sku, supply channel), channels (physical stores, web distribution, warehouses), stores and custom Types.

`Catalog` also keeps the lookups the order, cart and POS builders need (sellable variants and their
prices per currency/country/channel/customer group, channel ids by key, cart-discount ids)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from voyado_sync.sandbox.generator.common import (
    LOCALES, MARKETS, PHYSICAL_STORES, TAX_CATEGORIES, TAX_RATES, Clock, half_even, money, new_id, pick)
from voyado_sync.sandbox.generator.config import GeneratorConfig

L = tuple[str, str, str, str, str, str]  # en, sv-SE, nb-NO, da-DK, fi-FI, de-DE

CATEGORY_TREE: tuple[tuple[str, L, tuple[tuple[str, L, tuple[tuple[str, L], ...]], ...]], ...] = (
    ("women", ("Women", "Dam", "Dame", "Damer", "Naiset", "Damen"), (
        ("women-clothing", ("Clothing", "Kläder", "Klær", "Tøj", "Vaatteet", "Bekleidung"), (
            ("women-dresses", ("Dresses", "Klänningar", "Kjoler", "Kjoler", "Mekot", "Kleider")),
            ("women-knitwear", ("Knitwear", "Stickat", "Strikk", "Strik", "Neuleet", "Strickwaren")),
            ("women-jackets", ("Jackets", "Jackor", "Jakker", "Jakker", "Takit", "Jacken")))),
        ("women-shoes", ("Shoes", "Skor", "Sko", "Sko", "Kengät", "Schuhe"), (
            ("women-sneakers", ("Sneakers", "Sneakers", "Joggesko", "Sneakers", "Tennarit", "Sneaker")),
            ("women-boots", ("Boots", "Kängor", "Støvler", "Støvler", "Saappaat", "Stiefel")))))),
    ("men", ("Men", "Herr", "Herre", "Herrer", "Miehet", "Herren"), (
        ("men-clothing", ("Clothing", "Kläder", "Klær", "Tøj", "Vaatteet", "Bekleidung"), (
            ("men-shirts", ("Shirts", "Skjortor", "Skjorter", "Skjorter", "Paidat", "Hemden")),
            ("men-trousers", ("Trousers", "Byxor", "Bukser", "Bukser", "Housut", "Hosen")),
            ("men-coats", ("Coats", "Rockar", "Frakker", "Frakker", "Takit", "Mäntel")))),
        ("men-shoes", ("Shoes", "Skor", "Sko", "Sko", "Kengät", "Schuhe"), (
            ("men-sneakers", ("Sneakers", "Sneakers", "Joggesko", "Sneakers", "Tennarit", "Sneaker")),)))),
    ("home", ("Home", "Hem", "Hjem", "Hjem", "Koti", "Wohnen"), (
        ("home-kitchen", ("Kitchen", "Kök", "Kjøkken", "Køkken", "Keittiö", "Küche"), (
            ("home-pantry", ("Pantry", "Skafferi", "Spiskammer", "Spisekammer", "Ruokakomero", "Vorratskammer")),
            ("home-tableware", ("Tableware", "Porslin", "Servise", "Service", "Astiat", "Geschirr")))),
        ("home-books", ("Books", "Böcker", "Bøker", "Bøger", "Kirjat", "Bücher"), (
            ("home-cookbooks", ("Cookbooks", "Kokböcker", "Kokebøker", "Kogebøger", "Keittokirjat", "Kochbücher")),)),
        ("home-textiles", ("Textiles", "Textilier", "Tekstiler", "Tekstiler", "Tekstiilit", "Heimtextilien"), (
            ("home-blankets", ("Blankets", "Plädar", "Pledd", "Plaider", "Huovat", "Decken")),)))),
)

# leaf → (product type, tax category, size axis, SEK price choices, base names)
PRODUCT_KINDS: dict[str, tuple[str, str, tuple[str, ...], tuple[int, ...], tuple[L, ...]]] = {
    "women-dresses": ("apparel", "standard", ("XS", "S", "M", "L", "XL"), (599, 799, 999, 1299), (
        ("Linen dress", "Linneklänning", "Linkjole", "Hørkjole", "Pellavamekko", "Leinenkleid"),
        ("Wrap dress", "Omlottklänning", "Omslagskjole", "Slå-om-kjole", "Kietaisumekko", "Wickelkleid"))),
    "women-knitwear": ("apparel", "standard", ("XS", "S", "M", "L"), (699, 899, 1199), (
        ("Merino sweater", "Merinotröja", "Merinogenser", "Merinosweater", "Merinovillaneule", "Merinopullover"),
        ("Cardigan", "Kofta", "Cardigan", "Cardigan", "Neuletakki", "Strickjacke"))),
    "women-jackets": ("apparel", "standard", ("S", "M", "L"), (1499, 1999, 2499), (
        ("Rain jacket", "Regnjacka", "Regnjakke", "Regnjakke", "Sadetakki", "Regenjacke"),)),
    "women-sneakers": ("footwear", "standard", ("37", "38", "39", "40"), (799, 999), (
        ("Canvas sneaker", "Kanvassko", "Lerretssko", "Lærredssko", "Kangastennari", "Canvas-Sneaker"),)),
    "women-boots": ("footwear", "standard", ("37", "38", "39", "40"), (1599, 1899), (
        ("Chelsea boot", "Chelseaboot", "Chelseastøvel", "Chelseastøvle", "Chelsea-nilkkuri", "Chelsea-Stiefel"),)),
    "men-shirts": ("apparel", "standard", ("S", "M", "L", "XL"), (499, 699, 899), (
        ("Oxford shirt", "Oxfordskjorta", "Oxfordskjorte", "Oxfordskjorte", "Oxford-paita", "Oxfordhemd"),
        ("Flannel shirt", "Flanellskjorta", "Flanellskjorte", "Flannelskjorte", "Flanellipaita", "Flanellhemd"))),
    "men-trousers": ("apparel", "standard", ("30", "32", "34", "36"), (699, 899), (
        ("Chino trousers", "Chinos", "Chinobukse", "Chinobukser", "Chinohousut", "Chinohose"),)),
    "men-coats": ("apparel", "standard", ("M", "L", "XL"), (2499, 2999, 3499), (
        ("Wool coat", "Ullrock", "Ullfrakk", "Uldfrakke", "Villakangastakki", "Wollmantel"),)),
    "men-sneakers": ("footwear", "standard", ("41", "42", "43", "44"), (899, 1099), (
        ("Leather sneaker", "Lädersneaker", "Skinnjoggesko", "Lædersneaker", "Nahkatennari", "Ledersneaker"),)),
    "home-pantry": ("food", "food", (), (89, 119, 149), (
        ("Organic coffee 500 g", "Ekologiskt kaffe 500 g", "Økologisk kaffe 500 g", "Økologisk kaffe 500 g",
         "Luomukahvi 500 g", "Bio-Kaffee 500 g"),
        ("Dark chocolate 70 %", "Mörk choklad 70 %", "Mørk sjokolade 70 %", "Mørk chokolade 70 %",
         "Tumma suklaa 70 %", "Zartbitterschokolade 70 %"))),
    "home-tableware": ("home", "standard", (), (149, 199, 249), (
        ("Stoneware mug", "Stengodsmugg", "Steintøykrus", "Stentøjskrus", "Kivitavaramuki", "Steinzeugbecher"),)),
    "home-cookbooks": ("books", "books", (), (249, 299, 349), (
        ("Nordic cookbook", "Nordisk kokbok", "Nordisk kokebok", "Nordisk kogebog", "Pohjoismainen keittokirja",
         "Nordisches Kochbuch"),)),
    "home-blankets": ("home", "standard", (), (599, 899), (
        ("Wool blanket", "Ullpläd", "Ullpledd", "Uldplaid", "Villahuopa", "Wolldecke"),)),
}
COLORS: tuple[L, ...] = (
    ("Navy", "Marinblå", "Marineblå", "Marineblå", "Laivastonsininen", "Marineblau"),
    ("Black", "Svart", "Svart", "Sort", "Musta", "Schwarz"),
    ("Sand", "Sand", "Sand", "Sand", "Hiekka", "Sand"),
    ("Forest green", "Skogsgrön", "Skoggrønn", "Skovgrøn", "Metsänvihreä", "Waldgrün"),
    ("Rust", "Rost", "Rust", "Rust", "Ruoste", "Rost"),
)
WEB_CHANNELS = ("WEB-SE", "WEB-NO", "WEB-DK", "WEB-FI", "WEB-DE")
WAREHOUSES = {"WH-NORDIC": ("SE", "Lager Norden", "Jönköping"), "WH-DE": ("DE", "Lager Deutschland", "Erfurt")}
GEO = {"STO-SE-01": (18.0649, 59.3326), "STO-SE-02": (11.9690, 57.7089), "STO-SE-03": (13.0007, 55.5940),
       "STO-NO-01": (10.7410, 59.9127), "STO-DK-01": (12.5794, 55.6786), "STO-FI-01": (24.9447, 60.1686),
       "STO-DE-01": (13.4019, 52.5287), "WH-NORDIC": (14.1618, 57.7826), "WH-DE": (11.0299, 50.9848)}
WEB_STORES = {  # key → (name per language, languages, countries, distribution channel)
    "web-se": ({"en": "Webshop Sweden", "sv-SE": "Webshop Sverige"}, ["sv-SE", "en"], ["SE", "JP"], "WEB-SE"),
    "web-no": ({"en": "Webshop Norway", "nb-NO": "Nettbutikk Norge"}, ["nb-NO", "en"], ["NO"], "WEB-NO"),
    "web-dk": ({"en": "Webshop Denmark", "da-DK": "Webshop Danmark"}, ["da-DK", "en"], ["DK"], "WEB-DK"),
    "web-fi": ({"en": "Webshop Finland", "fi-FI": "Verkkokauppa Suomi"}, ["fi-FI", "sv-SE", "en"], ["FI"], "WEB-FI"),
    "web-de": ({"en": "Webshop Germany", "de-DE": "Onlineshop Deutschland"}, ["de-DE", "en"], ["DE"], "WEB-DE"),
    "app-se": ({"en": "App Sweden", "sv-SE": "App Sverige"}, ["sv-SE", "en"], ["SE"], "WEB-SE"),
    "app-no": ({"en": "App Norway", "nb-NO": "App Norge"}, ["nb-NO", "en"], ["NO"], "WEB-NO"),
}
CART_DISCOUNTS = ("black-week-20", "welcome-10", "second-half-price", "gift-with-purchase", "member-10")
SHIPPING_METHODS = ("home-delivery", "parcel-locker", "click-collect", "express")  # keys; prices in orders.py


def localized(names: L) -> dict[str, str]:
    return dict(zip(LOCALES, names))


def slugify(text: str) -> str:
    out = []
    for ch in text.lower():
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        elif ch in "åäàá":
            out.append("a")
        elif ch in "öøó":
            out.append("o")
        elif ch in "æ":
            out.append("ae")
        elif ch in "üú":
            out.append("u")
        elif ch == "ß":
            out.append("ss")
        elif ch == "é":
            out.append("e")
        elif not out or out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")


def _nice(value: float, currency: str) -> int:
    """A shelf price in minor units: 349.00 SEK, 26.95 EUR, 4 890 JPY."""
    if currency == "JPY":
        return max(100, int(round(value / 100.0)) * 100 - 10)
    if currency == "EUR":
        return max(195, int(value) * 100 + 95)
    return max(900, (int(value / 10) * 10 + 9) * 100)


@dataclass
class Sellable:
    """One variant as the order/POS builders see it."""
    product: dict[str, Any]
    variant: dict[str, Any]
    sku: str
    tax_category: str
    prices: dict[tuple, dict[str, Any]]  # (currency, country, channel key, customer group) → Price

    def price_for(self, currency: str, country: str | None, channel: str | None = None,
                  group: str | None = None) -> dict[str, Any]:
        for key in ((currency, country, channel, group), (currency, country, None, group),
                    (currency, country, None, None), (currency, None, None, None)):
            p = self.prices.get(key)
            if p is not None:
                return p
        raise KeyError(f"no {currency} price for {self.sku} in {country}")


@dataclass
class Catalog:
    categories: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    inventory: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    stores: list[dict[str, Any]] = field(default_factory=list)
    types: list[dict[str, Any]] = field(default_factory=list)
    sellables: list[Sellable] = field(default_factory=list)
    channel_ids: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # named fixed ids: cart discounts, tax categories...

    def ref(self, type_id: str, key: str) -> dict[str, str]:
        return {"typeId": type_id, "id": self.ids[key]}

    def channel_ref(self, key: str) -> dict[str, str]:
        return {"typeId": "channel", "id": self.channel_ids[key]}


def _stamp(rng: random.Random, clock: Clock) -> tuple[str, str]:
    created = clock.random_ms(rng)
    return clock.iso(created), clock.iso(clock.later(rng, created, 6 * 3_600_000))


def build_catalog(cfg: GeneratorConfig) -> Catalog:
    rng = cfg.rng("catalog")
    clock = Clock(cfg.window_start, cfg.window_end)
    cat = Catalog()
    for name in (*CART_DISCOUNTS, *SHIPPING_METHODS, "b2b", "vip", "state-initial", "state-shipped",
                 "state-returned", "discount-code-welcome", "type-customer-crm", "type-order-info",
                 "type-line-gift", "client-storefront", "client-pos",
                 *(f"tax-{c}" for c in TAX_CATEGORIES), *(f"ptype-{t}" for t in ("apparel", "footwear", "food",
                                                                                  "books", "home"))):
        cat.ids[name] = new_id(rng)
    cat.ids["client-storefront"] = "storefront-" + cat.ids["client-storefront"][:8]
    for country, category in TAX_RATES:
        cat.ids[f"taxrate-{country}-{category}"] = new_id(rng)[:8]
    _channels(cfg, rng, clock, cat)
    _stores(rng, clock, cat)
    leaves = _categories(rng, clock, cat)
    _products(cfg, rng, clock, cat, leaves)
    _types(rng, clock, cat)
    return cat


def _channels(cfg: GeneratorConfig, rng: random.Random, clock: Clock, cat: Catalog) -> None:
    specs: list[tuple[str, list[str], dict[str, str], str, str, str]] = []
    for key, (country, name, city, street) in PHYSICAL_STORES.items():
        specs.append((key, ["InventorySupply", "ProductDistribution"], {"en": name, MARKETS[country].locale: name},
                      country, city, street))
    for key in WEB_CHANNELS:
        country = key[-2:]
        specs.append((key, ["ProductDistribution"], {"en": f"Web distribution {country}"}, country, "", ""))
    for key, (country, name, city) in WAREHOUSES.items():
        specs.append((key, ["InventorySupply", "OrderExport"], {"en": name}, country, city, "Logistikvägen 1"))
    for key, roles, name, country, city, street in specs:
        cid = new_id(rng)
        cat.channel_ids[key] = cid
        created, modified = _stamp(rng, clock)
        doc: dict[str, Any] = {"id": cid, "version": 1, "key": key, "roles": roles, "name": name,
                               "createdAt": created, "lastModifiedAt": modified}
        if city:
            street_name, _, number = street.rpartition(" ")
            doc["address"] = {"country": country, "city": city, "streetName": street_name, "streetNumber": number}
        if key in GEO:
            doc["geoLocation"] = {"type": "Point", "coordinates": list(GEO[key])}
        cat.channels.append(doc)


def _stores(rng: random.Random, clock: Clock, cat: Catalog) -> None:
    def store(key: str, name: dict[str, str], languages: list[str], countries: list[str],
              distribution: list[str], supply: list[str]) -> dict[str, Any]:
        created, modified = _stamp(rng, clock)
        return {"id": new_id(rng), "version": 1, "key": key, "name": name, "languages": languages,
                "countries": [{"code": c} for c in countries],
                "distributionChannels": [cat.channel_ref(k) for k in distribution],
                "supplyChannels": [cat.channel_ref(k) for k in supply], "productSelections": [],
                "createdAt": created, "lastModifiedAt": modified}

    for key, (name, languages, countries, dist) in WEB_STORES.items():
        wh = "WH-DE" if countries == ["DE"] else "WH-NORDIC"
        cat.stores.append(store(key, name, languages, countries, [dist], [wh]))
    for key, (country, name, _city, _street) in PHYSICAL_STORES.items():
        loc = MARKETS[country].locale
        cat.stores.append(store(key, {"en": name, loc: name}, [loc, "en"], [country], [key], [key]))


def _categories(rng: random.Random, clock: Clock, cat: Catalog) -> list[tuple[str, str]]:
    leaves: list[tuple[str, str]] = []

    def add(key: str, names: L, parent: dict[str, Any] | None, hint: int) -> dict[str, Any]:
        created, modified = _stamp(rng, clock)
        doc: dict[str, Any] = {"id": new_id(rng), "version": 1, "key": key, "name": localized(names),
                               "slug": {loc: slugify(f"{key}") if loc == "en" else slugify(f"{key}-{loc}")
                                        for loc in LOCALES},
                               "description": {"en": f"{names[0]} at Nordvik"},
                               "ancestors": [], "orderHint": f"0.{hint}", "externalId": f"PIM-{key.upper()}",
                               "assets": [], "createdAt": created, "lastModifiedAt": modified}
        if parent is not None:
            doc["parent"] = {"typeId": "category", "id": parent["id"]}
            doc["ancestors"] = [*parent["ancestors"], {"typeId": "category", "id": parent["id"]}]
        cat.categories.append(doc)
        return doc

    for i, (rkey, rname, mids) in enumerate(CATEGORY_TREE, 1):
        root = add(rkey, rname, None, i)
        for j, (mkey, mname, leafs) in enumerate(mids, 1):
            mid = add(mkey, mname, root, i * 10 + j)
            for k, (lkey, lname) in enumerate(leafs, 1):
                leaf = add(lkey, lname, mid, i * 100 + j * 10 + k)
                leaves.append((lkey, leaf["id"]))
    return leaves


def _products(cfg: GeneratorConfig, rng: random.Random, clock: Clock, cat: Catalog,
              leaves: list[tuple[str, str]]) -> None:
    all_supply = list(PHYSICAL_STORES) + list(WAREHOUSES)
    for n in range(cfg.products):
        leaf_key, leaf_id = leaves[n % len(leaves)]
        ptype, tax_cat, sizes, sek_choices, bases = PRODUCT_KINDS[leaf_key]
        base = pick(rng, bases)
        color = pick(rng, COLORS)
        names = tuple(f"{b}, {c.lower() if i else c}" for i, (b, c) in enumerate(zip(base, color)))
        pkey = f"P{n + 1:05d}"
        sek = pick(rng, sek_choices)
        web_campaign = rng.random() < 0.2
        created, modified = _stamp(rng, clock)
        variants = []
        for vi, size in enumerate(sizes or ("",), 1):
            sku = f"SKU-{n + 1:05d}" + (f"-{size}" if size else "")
            prices = _prices(rng, cat, sek, web_campaign)
            images = [{"url": f"https://images.nordvik.example/{pkey.lower()}/{vi}-{j}.jpg",
                       "dimensions": {"w": 1200, "h": 1600}, "label": f"{names[0]} {j}"} for j in (1, 2)[:1 + (vi == 1)]]
            attributes = [{"name": "color", "value": {"key": slugify(color[0]), "label": color[0]}}]
            if size:
                attributes.append({"name": "size", "value": size})
            levels = {ch: rng.choice((0, 0, 2, 5, 12, 30)) for ch in all_supply}
            total = sum(levels.values())
            availability: dict[str, Any] = {"isOnStock": total > 0, "availableQuantity": total,
                                            "id": new_id(rng), "version": 1, "channels": {}}
            for ch, qty in levels.items():
                entry_id = new_id(rng)
                availability["channels"][cat.channel_ids[ch]] = {
                    "isOnStock": qty > 0, "availableQuantity": qty, "id": entry_id, "version": 1,
                    **({"restockableInDays": 7} if qty == 0 else {})}
                cat.inventory.append(_inventory(entry_id, f"{sku}-{ch}".lower(), sku, cat.channel_ref(ch), qty,
                                                created, modified))
            cat.inventory.append(_inventory(availability["id"], f"{sku}-all".lower(), sku, None, total, created,
                                            modified))
            variant = {"id": vi, "sku": sku, "key": sku.lower(), "prices": list(prices.values()), "images": images,
                       "attributes": attributes, "assets": [], "availability": availability}
            variants.append(variant)
        doc = {
            "id": new_id(rng), "version": rng.randint(1, 9), "key": pkey,
            "productType": cat.ref("product-type", f"ptype-{ptype}"),
            "name": localized(names), "slug": {loc: slugify(f"{nm}-{pkey}") for loc, nm in zip(LOCALES, names)},
            "description": {"en": f"{names[0]}. Designed in Scandinavia.", "sv-SE": f"{names[1]}. Designad i Skandinavien."},
            "metaTitle": {"en": names[0]}, "categories": [{"typeId": "category", "id": leaf_id}],
            "categoryOrderHints": {leaf_id: f"0.{rng.randint(1, 999)}"},
            "searchKeywords": {"en": [{"text": base[0]}]}, "hasStagedChanges": rng.random() < 0.1, "published": True,
            "masterVariant": variants[0], "variants": variants[1:],
            "taxCategory": cat.ref("tax-category", f"tax-{tax_cat}"), "priceMode": "Embedded", "attributes": [],
            "createdAt": created, "lastModifiedAt": modified,
        }
        cat.products.append(doc)
        for v in variants:
            keyed = {(p["value"]["currencyCode"], p.get("country"), _channel_key(cat, p),
                      "b2b" if "customerGroup" in p else None): p for p in v["prices"]}
            cat.sellables.append(Sellable(doc, v, v["sku"], tax_cat, keyed))


def _channel_key(cat: Catalog, price: dict[str, Any]) -> str | None:
    ch = price.get("channel")
    if ch is None:
        return None
    return next(k for k, v in cat.channel_ids.items() if v == ch["id"])


def _prices(rng: random.Random, cat: Catalog, sek: int, web_campaign: bool) -> dict[str, dict[str, Any]]:
    eur = _nice(sek / 11.3, "EUR")
    values = {"SE": ("SEK", _nice(sek, "SEK")), "NO": ("NOK", _nice(sek * 1.03, "NOK")),
              "DK": ("DKK", _nice(sek * 0.68, "DKK")), "FI": ("EUR", eur), "DE": ("EUR", eur),
              "JP": ("JPY", _nice(sek * 14.2, "JPY"))}
    prices: dict[str, dict[str, Any]] = {}
    for country, (currency, cents) in values.items():
        prices[country] = {"id": new_id(rng), "value": money(cents, currency), "country": country}
    prices["fallback"] = {"id": new_id(rng), "value": money(eur, "EUR")}
    # B2B buyers see net prices (VAT added at checkout) for Germany and Finland.
    prices["b2b"] = {"id": new_id(rng), "value": money(half_even(Decimal(eur) / Decimal("1.19")), "EUR"),
                     "country": "DE", "customerGroup": cat.ref("customer-group", "b2b")}
    prices["b2b-fi"] = {"id": new_id(rng), "value": money(half_even(Decimal(eur) / Decimal("1.255")), "EUR"),
                        "country": "FI", "customerGroup": cat.ref("customer-group", "b2b")}
    if web_campaign:
        prices["web-se"] = {"id": new_id(rng), "value": money(_nice(sek * 0.85, "SEK"), "SEK"), "country": "SE",
                            "channel": cat.channel_ref("WEB-SE")}
    return prices


def _inventory(entry_id: str, key: str, sku: str, channel: dict[str, str] | None, qty: int, created: str,
               modified: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": entry_id, "version": 1, "key": key, "sku": sku}
    if channel is not None:
        doc["supplyChannel"] = channel
    doc.update({"quantityOnStock": qty, "availableQuantity": qty, "createdAt": created, "lastModifiedAt": modified})
    if qty == 0:
        doc["restockableInDays"] = 7
    return doc


def _types(rng: random.Random, clock: Clock, cat: Catalog) -> None:
    def field_def(name: str, label: str, type_: dict[str, Any], hint: bool = False) -> dict[str, Any]:
        d = {"name": name, "label": {"en": label}, "required": False, "type": type_}
        if hint:
            d["inputHint"] = "SingleLine"
        return d

    specs = [
        ("type-customer-crm", "customer-crm", "Legacy CRM fields", ["customer"], [
            field_def("legacyCrmId", "Legacy CRM id", {"name": "String"}, True),
            field_def("preferredStore", "Preferred store", {"name": "String"}, True),
            field_def("signupSource", "Sign-up source", {"name": "Enum", "values": [
                {"key": "web", "label": "Web"}, {"key": "store", "label": "Store"}, {"key": "app", "label": "App"}]}),
        ]),
        ("type-order-info", "order-info", "Order information", ["order"], [
            field_def("salesChannel", "Sales channel", {"name": "String"}, True),
            field_def("giftMessage", "Gift message", {"name": "String"}, True),
            field_def("loyaltyPointsRedeemed", "Loyalty points redeemed", {"name": "Number"}),
        ]),
        ("type-line-gift", "line-item-gift", "Gift wrapping on line items", ["line-item"], [
            field_def("giftWrap", "Gift wrap", {"name": "Boolean"}),
        ]),
    ]
    for id_name, key, name, resources, fields in specs:
        created, modified = _stamp(rng, clock)
        cat.types.append({"id": cat.ids[id_name], "version": 1, "key": key, "name": {"en": name},
                          "description": {"en": name}, "resourceTypeIds": resources, "fieldDefinitions": fields,
                          "createdAt": created, "lastModifiedAt": modified})
