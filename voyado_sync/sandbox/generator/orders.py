"""Orders, their payments and returns, and abandoned carts, priced the way Commercetools prices them.

Money rules (taxMode Platform, taxCalculationMode LineItemLevel, HalfEven rounding):
- a line's ``totalPrice`` is the sum over ``discountedPricePerQuantity`` (quantity × discounted unit
  value) plus the undiscounted units at ``price``; all in cents of the order currency;
- per line, with ``taxRate.includedInPrice`` true the total is gross and net = round(gross / (1 + rate));
  with it false the total is net and gross = net + round(net × rate);
- the order ``totalPrice`` is the sum of line, custom line and shipping totals; ``taxedPrice`` sums the
  per-line nets and grosses, and ``taxPortions`` group the tax by rate;
- payments' ``amountPlanned`` add up to ``taxedPrice.totalGross``.
`voyado_sync.sandbox.generator.checks` re-derives all of this for every generated order."""

from __future__ import annotations

import hashlib

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from voyado_sync.sandbox.generator.catalog import Catalog, Sellable
from voyado_sync.sandbox.generator.common import (
    MARKETS, PHYSICAL_STORES, STORES_BY_COUNTRY, TAX_RATES, Clock, choose, half_even, money, new_id, pick, tax_name)
from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.customers import home_address
from voyado_sync.sandbox.generator.people import Noise, Person

HOUR = 3_600_000
_ONE = Decimal(1)
PAYMENT_METHODS: dict[str, tuple[tuple[str, str, str], ...]] = {  # country → (interface, method, name)
    "SE": (("adyen", "card", "Card"), ("klarna", "klarna", "Klarna"), ("swish", "swish", "Swish")),
    "NO": (("adyen", "card", "Card"), ("vipps", "vipps", "Vipps"), ("klarna", "klarna", "Klarna")),
    "DK": (("adyen", "card", "Card"), ("mobilepay", "mobilepay", "MobilePay")),
    "FI": (("adyen", "card", "Card"), ("klarna", "klarna", "Klarna"), ("paypal", "paypal", "PayPal")),
    "DE": (("adyen", "card", "Card"), ("paypal", "paypal", "PayPal"), ("klarna", "klarna", "Klarna")),
    "JP": (("adyen", "card", "Card"),),
}
# Shipping price and free-above threshold in minor units of each currency.
SHIPPING: dict[str, dict[str, tuple[int, int | None]]] = {
    "home-delivery": {"SEK": (4900, 49900), "NOK": (5900, 59900), "DKK": (3900, 39900), "EUR": (495, 4900),
                      "JPY": (1500, None)},
    "parcel-locker": {"SEK": (2900, 49900), "NOK": (3900, 59900), "DKK": (2900, 39900), "EUR": (395, 4900),
                      "JPY": (1200, None)},
    "express": {"SEK": (12900, None), "NOK": (14900, None), "DKK": (9900, None), "EUR": (1495, None),
                "JPY": (3500, None)},
    "click-collect": {"SEK": (0, None), "NOK": (0, None), "DKK": (0, None), "EUR": (0, None), "JPY": (0, None)},
}
SHIPPING_NAMES = {"home-delivery": "PostNord Home", "parcel-locker": "Parcel locker", "express": "Express (DHL)",
                  "click-collect": "Click & collect"}
GIFT_WRAP = {"SEK": 4900, "NOK": 4900, "DKK": 3500, "EUR": 500, "JPY": 700}
CARBON = {"SEK": 1500, "NOK": 1500, "DKK": 1000, "EUR": 150, "JPY": 200}
RETURN_COMMENTS = ("Wrong size", "Did not like the colour", "Damaged", "Changed my mind", "")
JP_ADDRESSES = (("Tokyo", "150-0001", "Jingumae", "4-12-10"), ("Osaka", "530-0001", "Umeda", "2-5-25"),
                ("Kyoto", "600-8216", "Higashishiokoji", "721-1"))


@dataclass
class PricedLine:
    """Tax arithmetic of one line (line item, custom line item or shipping)."""
    total: int
    net: int
    gross: int
    rate: Decimal
    tax_name: str


def taxed(total: int, rate: Decimal, included: bool) -> tuple[int, int]:
    """(net, gross) of a line total, half-even per line."""
    if included:
        return half_even(Decimal(total) / (_ONE + rate)), total
    return total, total + half_even(Decimal(total) * rate)


def taxed_price(net: int, gross: int, portions: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    return {"totalNet": money(net, currency), "totalGross": money(gross, currency), "taxPortions": portions,
            "totalTax": money(gross - net, currency)}


class OrderFactory:
    """Builds orders (with payments) and carts one by one from a seeded stream."""

    def __init__(self, cfg: GeneratorConfig, persons: list[Person], cat: Catalog, stream: str = "orders",
                 want_payments: bool = True) -> None:
        self.cfg, self.cat = cfg, cat
        self.rng = cfg.rng(stream)
        self.pay_rng = cfg.rng(stream + ":payments")
        self.want_payments = want_payments
        self.noise = Noise(self.rng, cfg.garbage_share)
        self.clock = Clock(cfg.window_start, cfg.window_end)
        self.mid = (self.clock.start_ms + self.clock.end_ms) // 2
        self.registered = [p for p in persons if p.kind == "registered" and p.customer_ids and not p.company]
        self.b2b = [p for p in persons if p.company and p.customer_ids]
        self.guests = [p for p in persons if p.kind == "guest"] or self.registered
        self._reg_w = _cum([p.weight for p in self.registered])
        self._guest_w = _cum([p.weight for p in self.guests])
        self.main = [s for s in cat.sellables if s.tax_category != "food"] or cat.sellables
        self.food = [s for s in cat.sellables if s.tax_category == "food"] or cat.sellables
        self._snapshots: dict[tuple[str, str], dict[str, Any]] = {}
        self._rates: dict[tuple[str, str, bool], dict[str, Any]] = {}
        self._heads: dict[tuple, tuple] = {}
        self._channel_refs = {k: cat.channel_ref(k) for k in cat.channel_ids}
        self._state_initial = cat.ref("state", "state-initial")
        self._store_addr = {k: {"country": v[0], "city": v[2], "streetName": v[3].rpartition(" ")[0],
                                "streetNumber": v[3].rpartition(" ")[2], "company": v[1]}
                            for k, v in PHYSICAL_STORES.items()}
        self.seq = 0
        self.client = {"clientId": cat.ids["client-storefront"], "isPlatformClient": False}

    # --- buyers --------------------------------------------------------------------------------------
    def _buyer(self) -> tuple[Person, bool, bool]:
        """(person, guest checkout, b2b)"""
        rng = self.rng
        if self.b2b and rng.random() < self.cfg.b2b_share:
            return pick(rng, self.b2b), False, True
        if rng.random() < self.cfg.guest_share or not self.registered:
            if rng.random() < 0.75 or not self.registered:
                return choose(rng, self.guests, self._guest_w), True, False
            return choose(rng, self.registered, self._reg_w), True, False
        return choose(rng, self.registered, self._reg_w), False, False

    # --- pieces --------------------------------------------------------------------------------------
    def _tax_rate(self, country: str, category: str, included: bool) -> dict[str, Any]:
        key = (country, category, included)
        r = self._rates.get(key)
        if r is None:
            rate = TAX_RATES[(country, category)]
            r = self._rates[key] = {"name": tax_name(country, category), "amount": float(rate),
                                    "includedInPrice": included, "country": country,
                                    "id": self.cat.ids[f"taxrate-{country}-{category}"], "subRates": []}
        return r

    def _snapshot(self, s: Sellable, price: dict[str, Any]) -> dict[str, Any]:
        """The variant as frozen into a line item (shared, read-only, between documents)."""
        key = (s.sku, price["id"])
        snap = self._snapshots.get(key)
        if snap is None:
            v = s.variant
            snap = self._snapshots[key] = {"id": v["id"], "sku": v["sku"], "key": v["key"], "prices": [price],
                                           "images": v["images"], "attributes": v["attributes"], "assets": []}
        return snap

    def _lines(self, market_country: str, currency: str, tax_country: str, included: bool, b2b: bool,
               ts: str, supply: str, distribution: str, promos: dict[str, bool]) -> tuple[list, list[PricedLine]]:
        rng, cat = self.rng, self.cat
        n = choose(rng, (1, 2, 3, 4, 5), (45, 75, 90, 97, 100))
        chosen: dict[str, Sellable] = {}
        for _ in range(n):
            s = pick(rng, self.main) if rng.random() < 0.85 else pick(rng, self.food)
            chosen[s.sku] = s
        lines, priced = [], []
        channel = "WEB-SE" if market_country == "SE" else None
        for s in chosen.values():
            q = choose(rng, (1, 2, 3), (75, 93, 100))
            price = s.price_for(currency, tax_country if b2b or market_country == "JP" else market_country,
                                channel, "b2b" if b2b else None)
            p = price["value"]["centAmount"]
            groups: list[list] = [[q, p, []]]
            if promos["second_half"] and q >= 2:
                groups = [[q - 1, p, []], [1, p, []]]
                half = half_even(Decimal(p) / 2)
                groups[1][1] = p - half
                groups[1][2].append(("second-half-price", half))
            for g in groups:
                if promos["black_week"] and s.tax_category == "standard":
                    amt = half_even(Decimal(g[1]) * Decimal("0.2"))
                    g[1] -= amt
                    g[2].append(("black-week-20", amt))
                if promos["welcome"]:
                    amt = half_even(Decimal(g[1]) * Decimal("0.1"))
                    g[1] -= amt
                    g[2].append(("welcome-10", amt))
            total = sum(g[0] * g[1] for g in groups)
            dppq = [{"quantity": g[0], "discountedPrice": {
                "value": money(g[1], currency),
                "includedDiscounts": [{"discount": cat.ref("cart-discount", d), "discountedAmount": money(a, currency)}
                                      for d, a in g[2]]}} for g in groups if g[2]]
            lines.append(self._line_item(s, price, q, dppq, total, tax_country, included, currency, ts, supply,
                                         distribution, "Standard", priced))
        if promos["gift"]:
            s = pick(rng, self.food)
            price = s.price_for(currency, tax_country if b2b or market_country == "JP" else market_country,
                                None, "b2b" if b2b else None)
            p = price["value"]["centAmount"]
            dppq = [{"quantity": 1, "discountedPrice": {"value": money(0, currency), "includedDiscounts": [
                {"discount": cat.ref("cart-discount", "gift-with-purchase"), "discountedAmount": money(p, currency)}]}}]
            lines.append(self._line_item(s, price, 1, dppq, 0, tax_country, included, currency, ts, supply,
                                         distribution, "GiftLineItem", priced))
        return lines, priced

    def _line_item(self, s: Sellable, price: dict[str, Any], q: int, dppq: list, total: int, tax_country: str,
                   included: bool, currency: str, ts: str, supply: str, distribution: str, mode: str,
                   priced: list[PricedLine]) -> dict[str, Any]:
        key = (s.sku, price["id"], tax_country, included)
        head = self._heads.get(key)
        if head is None:  # the parts that only depend on product, price and tax rate (shared, read-only)
            prod = s.product
            rate = self._tax_rate(tax_country, s.tax_category, included)
            head = self._heads[key] = (
                {"productId": prod["id"], "productKey": prod["key"], "name": prod["name"],
                 "productType": prod["productType"], "productSlug": prod["slug"], "variant": self._snapshot(s, price),
                 "price": price},
                rate, TAX_RATES[(tax_country, s.tax_category)])
        fixed, rate, rate_d = head
        net, gross = taxed(total, rate_d, included)
        priced.append(PricedLine(total, net, gross, rate_d, rate["name"]))
        return {
            "id": new_id(self.rng), **fixed, "quantity": q, "discountedPricePerQuantity": dppq, "taxRate": rate,
            "perMethodTaxRate": [], "addedAt": ts, "lastModifiedAt": ts,
            "state": [{"quantity": q, "state": self._state_initial}],
            "priceMode": "Platform", "lineItemMode": mode, "totalPrice": money(total, currency),
            "taxedPrice": taxed_price(net, gross, [{"rate": rate["amount"], "amount": money(gross - net, currency),
                                                   "name": rate["name"]}], currency),
            "taxedPricePortions": [],
            "distributionChannel": self._channel_refs[distribution], "supplyChannel": self._channel_refs[supply],
        }

    def _custom_line(self, name: dict[str, str], slug: str, unit: int, q: int, tax_country: str, included: bool,
                     currency: str, priced: list[PricedLine]) -> dict[str, Any]:
        rate = self._tax_rate(tax_country, "standard", included)
        rate_d = TAX_RATES[(tax_country, "standard")]
        total = unit * q
        net, gross = taxed(total, rate_d, included)
        priced.append(PricedLine(total, net, gross, rate_d, rate["name"]))
        return {"id": new_id(self.rng), "name": name, "money": money(unit, currency),
                "totalPrice": money(total, currency), "slug": slug, "quantity": q,
                "state": [{"quantity": q, "state": self.cat.ref("state", "state-initial")}],
                "taxCategory": self.cat.ref("tax-category", "tax-standard"), "taxRate": rate,
                "taxedPrice": taxed_price(net, gross, [{"rate": rate["amount"], "amount": money(gross - net, currency),
                                                       "name": rate["name"]}], currency),
                "taxedPricePortions": [], "perMethodTaxRate": [], "discountedPricePerQuantity": [],
                "priceMode": "Standard"}

    @staticmethod
    def _portions(priced: list[PricedLine], currency: str) -> list[dict[str, Any]]:
        by: dict[tuple[str, Decimal], int] = {}
        for pl in priced:
            k = (pl.tax_name, pl.rate)
            by[k] = by.get(k, 0) + pl.gross - pl.net
        return [{"rate": float(rate), "amount": money(amt, currency), "name": name} for (name, rate), amt in by.items()]

    # --- orders --------------------------------------------------------------------------------------
    def order(self) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """(order, payment documents, person_id of the true buyer)"""
        rng, cat, clock, noise = self.rng, self.cat, self.clock, self.noise
        self.seq += 1
        person, guest, b2b = self._buyer()
        jp = not b2b and rng.random() < self.cfg.jpy_share
        market = MARKETS["JP" if jp else person.country]
        currency = market.currency
        tax_country = market.country
        included = not b2b
        store_key = market.store
        if market.country in ("SE", "NO") and rng.random() < 0.15:
            store_key = "app-" + market.country.lower()
        created = clock.random_ms(rng)
        ts = clock.iso(created)
        ship_key = "express" if jp else choose(rng, ("home-delivery", "parcel-locker", "express", "click-collect"),
                                                   (45, 80, 88, 100))
        if ship_key == "click-collect" and not STORES_BY_COUNTRY.get(market.country):
            ship_key = "home-delivery"
        supply = pick(rng, STORES_BY_COUNTRY[market.country]) if ship_key == "click-collect" else market.warehouse
        promos = {"black_week": rng.random() < 0.3, "welcome": rng.random() < 0.1,
                  "second_half": rng.random() < 0.2, "gift": rng.random() < 0.1}
        lines, priced = self._lines(market.country, currency, tax_country, included, b2b, ts, supply,
                                    market.web_channel, promos)
        custom_lines = []
        if rng.random() < 0.1:
            q = rng.choice((1, 1, 2))
            custom_lines.append(self._custom_line({"en": "Gift wrapping", "sv-SE": "Presentinslagning"}, "gift-wrapping",
                                                  GIFT_WRAP[currency], q, tax_country, included, currency, priced))
        if rng.random() < 0.05:
            custom_lines.append(self._custom_line({"en": "Carbon-neutral delivery"}, "carbon-offset",
                                                  CARBON[currency], 1, tax_country, included, currency, priced))
        items_total = sum(pl.total for pl in priced)
        price, free_above = SHIPPING[ship_key][currency]
        ship_cents = 0 if free_above is not None and items_total >= free_above else price
        s_rate = self._tax_rate(tax_country, "standard", included)
        s_rate_d = TAX_RATES[(tax_country, "standard")]
        s_net, s_gross = taxed(ship_cents, s_rate_d, included)
        priced.append(PricedLine(ship_cents, s_net, s_gross, s_rate_d, s_rate["name"]))
        ship_taxed = taxed_price(s_net, s_gross, [{"rate": s_rate["amount"], "amount": money(s_gross - s_net, currency),
                                                   "name": s_rate["name"]}], currency)
        total = sum(pl.total for pl in priced)
        net = sum(pl.net for pl in priced)
        gross = sum(pl.gross for pl in priced)

        # lifecycle
        age_h = (clock.end_ms - created) / HOUR
        returned = age_h > 12 and rng.random() < self.cfg.return_share * 1.25
        if rng.random() < self.cfg.cancel_share:
            state = "Cancelled"
        elif returned or (age_h > 36 and rng.random() < 0.6):
            state = "Complete"
        elif age_h > 6 and rng.random() < 0.6:
            state = "Confirmed"
        else:
            state = "Open"
        returned = returned and state == "Complete"
        modified = clock.later(rng, created, int(min(age_h, 48) * HOUR)) if state != "Open" else \
            clock.later(rng, created, 20 * 60_000)

        at_old = created < self.mid
        email_canonical = person.email
        customer_id = None
        if not guest:
            k = rng.randrange(len(person.customer_ids))
            customer_id = person.customer_ids[k]
            email_canonical = person.email2 if k == 1 and person.email2 else person.email
        customer_email = noise.email(email_canonical)
        if guest and noise.garbage():
            customer_email = noise.garbage_email(email_canonical)
        billing = home_address(person, noise, with_email=noise.email(email_canonical), old_phone=at_old)
        if jp:
            city, postal, street, number = pick(rng, JP_ADDRESSES)
            shipping = {"firstName": person.first_name, "lastName": person.last_name, "streetName": street,
                        "streetNumber": number, "postalCode": postal, "city": city, "country": "JP"}
            if "mobile" in billing:
                shipping["mobile"] = billing["mobile"]
        elif ship_key == "click-collect":
            shipping = {**self._store_addr[supply], "firstName": person.first_name, "lastName": person.last_name}
        else:
            shipping = {k: v for k, v in billing.items() if k != "email"}
        order_number = f"{market.country if not jp else 'JP'}{self.cfg.seed % 100:02d}{self.seq:08d}"
        order_id = new_id(rng)

        refs, payments, payment_state = self._payments(order_id, order_number, person, customer_id, currency,
                                                       gross, market.country, state, created, modified)
        order: dict[str, Any] = {"type": "Order", "id": order_id, "version": 1, "createdAt": ts,
                                 "lastModifiedAt": clock.iso(modified),
                                 "lastModifiedBy": self.client, "createdBy": self.client,
                                 "orderNumber": order_number}
        if customer_id:
            order["customerId"] = customer_id
        else:
            order["anonymousId"] = new_id(rng)
        order["customerEmail"] = customer_email
        if b2b:
            order["customerGroup"] = cat.ref("customer-group", "b2b")
            order["businessUnit"] = {"typeId": "business-unit", "key": f"bu-{person.vat_id.lower()}"}
            order["purchaseOrderNumber"] = f"PO-{rng.randrange(10 ** 6):06d}"
        order["store"] = {"typeId": "store", "key": store_key}
        order.update({
            "lineItems": lines, "customLineItems": custom_lines, "totalPrice": money(total, currency),
            "taxedPrice": taxed_price(net, gross, self._portions(priced, currency), currency),
            "taxedShippingPrice": ship_taxed,
            "taxMode": "Platform", "taxRoundingMode": "HalfEven", "taxCalculationMode": "LineItemLevel",
            "priceRoundingMode": "HalfEven", "inventoryMode": "None",
            "billingAddress": billing, "shippingAddress": shipping, "itemShippingAddresses": [],
            "shippingMode": "Single",
        })
        order["shippingInfo"] = self._shipping_info(ship_key, currency, ship_cents, free_above, s_rate, ship_taxed,
                                                    state, lines, modified)
        order.update({"shipping": [], "discountCodes": [], "directDiscounts": [], "refusedGifts": [],
                      "paymentInfo": {"payments": refs},
                      "country": market.country, "locale": market.locale if not jp else "en",
                      "origin": "Customer", "orderState": state})
        if promos["welcome"]:
            order["discountCodes"] = [{"discountCode": cat.ref("discount-code", "discount-code-welcome"),
                                       "state": "MatchesCart"}]
        shipment = {"Open": "Pending", "Confirmed": pick(rng, ("Ready", "Shipped")), "Complete": "Delivered",
                    "Cancelled": "Canceled"}[state]
        order["shipmentState"] = shipment
        order["paymentState"] = payment_state
        order["syncInfo"] = []
        order["returnInfo"] = []
        if returned:
            order["returnInfo"] = self._returns(lines, payments, currency, created, modified)
        if rng.random() < 0.2:
            fields = {"salesChannel": "app" if store_key.startswith("app") else "web"}
            if custom_lines and custom_lines[0]["slug"] == "gift-wrapping":
                fields["giftMessage"] = "Grattis!"
            # Members sometimes pay part with points (from the order id, not the rng: every other draw of
            # the dataset stays as it was).
            spend = int(hashlib.sha1(order_id.encode()).hexdigest()[:6], 16)
            if person.member_number and customer_id and spend % 3 == 0:
                fields["loyaltyPointsRedeemed"] = 100 * (1 + spend % 4)
            order["custom"] = {"type": cat.ref("type", "type-order-info"), "fields": fields}
        order["version"] = 1 + len(refs) + (state != "Open") + 2 * bool(order["returnInfo"])
        order["lastMessageSequenceNumber"] = order["version"]
        return order, payments, person.person_id

    def _shipping_info(self, key: str, currency: str, cents: int, free_above: int | None, rate: dict[str, Any],
                       taxed_: dict[str, Any], state: str, lines: list[dict[str, Any]], modified: int) -> dict[str, Any]:
        base, _ = SHIPPING[key][currency]
        info: dict[str, Any] = {
            "shippingMethodName": SHIPPING_NAMES[key], "price": money(cents, currency),
            "shippingRate": {"price": money(base, currency), "tiers": [], "isMatching": True,
                             **({"freeAbove": money(free_above, currency)} if free_above is not None else {})},
            "taxRate": rate, "taxCategory": self.cat.ref("tax-category", "tax-standard"),
            "shippingMethod": self.cat.ref("shipping-method", key), "taxedPrice": taxed_,
            "deliveries": [], "shippingMethodState": "MatchesCart",
        }
        if state in ("Confirmed", "Complete") and key != "click-collect":
            when = self.clock.iso(modified)
            info["deliveries"] = [{
                "id": new_id(self.rng), "createdAt": when,
                "items": [{"id": li["id"], "quantity": li["quantity"]} for li in lines],
                "parcels": [{"id": new_id(self.rng), "createdAt": when, "items": [],
                             "trackingData": {"trackingId": f"00370{self.rng.randrange(10 ** 13):013d}",
                                              "carrier": "DHL" if key == "express" else "PostNord",
                                              "isReturn": False}}]}]
        return info

    def _payments(self, order_id: str, order_number: str, person: Person, customer_id: str | None, currency: str,
                  gross: int, country: str, state: str, created: int, modified: int) -> tuple[list, list, str]:
        """(payment references, payment documents, order paymentState). The split and the ids come from
        the order stream; everything inside a document from the payment stream, so streaming orders
        without their payments (`want_payments=False`) yields the very same orders."""
        rng = self.rng
        parts: list[tuple[tuple[str, str, str], int]] = []
        method = pick(rng, PAYMENT_METHODS[country])
        if person.company:
            method = ("invoice", "invoice", "Invoice") if rng.random() < 0.6 else PAYMENT_METHODS[country][0]
        if gross > 1 and rng.random() < self.cfg.multi_payment_share:
            gc = max(1, min(gross - 1, half_even(Decimal(gross) * Decimal(rng.choice((20, 35, 50, 65))) / 100)))
            parts.append((("giftcard-provider", "giftcard", "Gift card"), gc))
            parts.append((PAYMENT_METHODS[country][0], gross - gc))
        if not parts:
            parts.append((method, gross))
        ids = [new_id(rng) for _ in parts]
        if state == "Cancelled":
            payment_state = "Failed"
        elif state == "Open":
            payment_state = "BalanceDue" if parts[0][0][1] == "invoice" else "Pending"
        else:
            payment_state = "Paid" if all(p[0][1] != "invoice" for p in parts) else "BalanceDue"
        refs = [{"typeId": "payment", "id": pid} for pid in ids]
        if not self.want_payments:
            return refs, [], payment_state
        rng, clock = self.pay_rng, self.clock
        docs = []
        for k, (pid, ((iface, meth, name), amt)) in enumerate(zip(ids, parts), 1):
            t0 = max(clock.start_ms, created - rng.randint(1_000, 60_000))
            tx: list[dict[str, Any]] = []
            if state == "Cancelled":
                tx.append(self._tx(t0, "Charge", amt, currency, "Failure"))
            else:
                if meth == "card" and rng.random() < 0.06:  # first attempt declined, retried with success
                    tx.append(self._tx(t0, "Charge", amt, currency, "Failure"))
                tx.append(self._tx(t0, "Authorization", amt, currency, "Success"))
                if state != "Open" and meth != "invoice":
                    tx.append(self._tx(clock.later(rng, t0, HOUR), "Charge", amt, currency, "Success"))
            doc: dict[str, Any] = {"id": pid, "version": len(tx) + 1, "key": f"{order_number}-{k}",
                                   "interfaceId": f"{iface[:3].upper()}{rng.randrange(10 ** 12):012d}"}
            if customer_id:
                doc["customer"] = {"typeId": "customer", "id": customer_id}
            doc.update({
                "amountPlanned": money(amt, currency),
                "paymentMethodInfo": {"paymentInterface": iface, "method": meth, "name": {"en": name}},
                "paymentStatus": {"interfaceCode": "Refused" if state == "Cancelled" else "Authorised",
                                  "interfaceText": "Refused" if state == "Cancelled" else "Authorised"},
                "transactions": tx, "interfaceInteractions": [],
                "createdAt": clock.iso(t0), "lastModifiedAt": clock.iso(max(t0, min(modified, clock.end_ms))),
            })
            if meth == "giftcard":
                doc["paymentMethodInfo"]["token"] = {"value": f"GC-{rng.randrange(10 ** 8):08d}"}
            docs.append(doc)
        return refs, docs, payment_state

    def _tx(self, ms: int, type_: str, amt: int, currency: str, state: str) -> dict[str, Any]:
        return {"id": new_id(self.pay_rng), "timestamp": self.clock.iso(ms), "type": type_,
                "amount": money(amt, currency), "interactionId": "%016d" % self.pay_rng.getrandbits(52),
                "state": state}

    def _returns(self, lines: list[dict[str, Any]], payments: list[dict[str, Any]], currency: str, created: int,
                 modified: int) -> list[dict[str, Any]]:
        rng, clock = self.rng, self.clock
        standard = [li for li in lines if li["lineItemMode"] == "Standard"]
        picked = rng.sample(standard, min(len(standard), rng.choice((1, 1, 2))))
        when = clock.iso(modified)
        items, refund = [], 0
        for li in picked:
            q = rng.randint(1, li["quantity"])
            gross = li["taxedPrice"]["totalGross"]["centAmount"]
            refund += half_even(Decimal(gross) * q / li["quantity"])
            items.append({"type": "LineItemReturnItem", "id": new_id(rng), "quantity": q, "lineItemId": li["id"],
                          "comment": pick(rng, RETURN_COMMENTS),
                          "shipmentState": pick(rng, ("Returned", "BackInStock")), "paymentState": "Refunded",
                          "createdAt": when, "lastModifiedAt": when})
        # Refund to the charged payments, card first, never more than each one captured.
        for p in sorted(payments, key=lambda d: d["paymentMethodInfo"]["method"] == "giftcard"):
            if refund <= 0:
                break
            charged = sum(t["amount"]["centAmount"] for t in p["transactions"]
                          if t["type"] == "Charge" and t["state"] == "Success")
            amt = min(refund, charged)
            if amt > 0:
                p["transactions"].append(self._tx(modified, "Refund", amt, currency, "Success"))  # payment stream
                p["version"] += 1
                p["lastModifiedAt"] = when
                refund -= amt
        return [{"items": items, "returnTrackingId": f"RT{rng.randrange(10 ** 10):010d}",
                 "returnDate": when}]

    # --- carts ---------------------------------------------------------------------------------------
    def cart(self) -> dict[str, Any]:
        rng, clock, noise = self.rng, self.clock, self.noise
        person, guest, b2b = self._buyer()
        market = MARKETS[person.country]
        currency = market.currency
        abandoned = rng.random() < 0.8
        hi = clock.end_ms - HOUR - 60_000 if abandoned else clock.end_ms
        lo = clock.start_ms if abandoned else clock.end_ms - HOUR + 60_000
        created = clock.random_ms(rng, lo, hi)
        modified = min(hi, clock.later(rng, created, 2 * HOUR))
        ts = clock.iso(created)
        promos = {"black_week": rng.random() < 0.3, "welcome": False, "second_half": False, "gift": False}
        lines, priced = self._lines(market.country, currency, market.country, not b2b, b2b, ts,
                                    market.warehouse, market.web_channel, promos)
        total = sum(pl.total for pl in priced)
        cart: dict[str, Any] = {"type": "Cart", "id": new_id(rng), "version": 1 + len(lines),
                                "createdAt": ts, "lastModifiedAt": clock.iso(modified)}
        if not guest:
            cart["customerId"] = person.customer_ids[0]
        else:
            cart["anonymousId"] = new_id(rng)
        if not guest or rng.random() < 0.6:
            cart["customerEmail"] = noise.email(person.email)
        if b2b:
            cart["customerGroup"] = self.cat.ref("customer-group", "b2b")
        cart.update({
            "store": {"typeId": "store", "key": market.store}, "lineItems": lines, "customLineItems": [],
            "totalLineItemQuantity": sum(li["quantity"] for li in lines),
            "totalPrice": money(total, currency),
            "taxedPrice": taxed_price(sum(pl.net for pl in priced), sum(pl.gross for pl in priced),
                                      self._portions(priced, currency), currency),
            "cartState": "Active", "taxMode": "Platform", "taxRoundingMode": "HalfEven",
            "taxCalculationMode": "LineItemLevel", "priceRoundingMode": "HalfEven", "inventoryMode": "None",
            "shippingMode": "Single", "shipping": [], "itemShippingAddresses": [], "discountCodes": [],
            "directDiscounts": [], "refusedGifts": [], "origin": "Customer", "country": market.country,
            "locale": market.locale, "deleteDaysAfterLastModification": 90,
        })
        if not guest:
            cart["shippingAddress"] = home_address(person, noise, with_email=None)
        return cart, person.person_id


def _cum(weights: list[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out
