"""Hand-calculated receipts: every expected amount below was worked out by hand from the order
(Commercetools line-level tax rounding, half-even) and is compared digit for digit on the wire."""

from __future__ import annotations

from decimal import Decimal as D

from voyado_sync.mapping import Receipt, dumps, map_order, receipt_problems
from voyado_sync.mapping.context import MappingContext
from voyado_sync_tests.mapping import ct


def _same(result, expected):
    assert result.status == "receipt", result.reason
    assert dumps(result.payload) == dumps(expected)
    assert receipt_problems(result.payload) == []
    # The typed model accepts it and round-trips to the same wire text.
    assert Receipt.from_payload(result.payload).to_json() == dumps(expected)


def test_several_tax_rates_line_and_cart_discounts_and_shipping(config):
    shirt = ct.line("SHIRT-100-M", 2, 39900, product_key="SHIRT-100", product_discount=("pd-1", 5000),
                    cart_discounts=[("cd-10", 3490)], name={"en": "Oxford shirt", "sv-SE": "Oxfordskjorta"},
                    product_id="prod-shirt")
    book = ct.line("BOOK-7", 1, 19900, rate=0.06, product_key="BOOK-7", name={"en": "Cookbook"})
    order = ct.order([shirt, book], ship=ct.shipping(4900, name="PostNord"), order_id="o-1",
                     discount_codes=[{"discountCode": {"typeId": "discount-code", "id": "dc-1",
                                                       "obj": {"code": "BLACKFRIDAY"}}, "state": "MatchesCart"},
                                     {"discountCode": {"typeId": "discount-code", "id": "dc-2"},
                                      "state": "DoesNotMatchCart"}])
    order["orderNumber"] = "100045"
    ctx = MappingContext(config, product_categories={"prod-shirt": "Women > Tops > Shirts"},
                         discount_names={"cd-10": "Black Friday 10%"})
    expected = {
        "contact": {"matchKey": "cust-1", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": "ct-order-o-1", "receiptNumber": "100045",
        "createdDate": "2026-11-26T15:05:00+01:00", "storeExternalId": "ECOM-SE", "currency": "SEK",
        "totalGrossPrice": D("876.20"),
        "taxDetails": [
            {"description": "VAT 0.06", "value": D("11.26"), "percent": D("6.00"),
             "totalIncludingTax": D("199.00"), "totalExcludingTax": D("187.74")},
            {"description": "VAT 0.25", "value": D("135.44"), "percent": D("25.00"),
             "totalIncludingTax": D("677.20"), "totalExcludingTax": D("541.76")}],
        "paymentMethods": [{"type": "card", "value": D("876.20"), "description": "Card"}],
        "items": [
            {"type": "PURCHASE", "sku": "SHIRT-100-M", "quantity": 2, "grossPaidPrice": D("628.20"),
             "taxAmount": D("125.64"), "taxPercent": D("25.00"), "articleNumber": "SHIRT-100",
             "articleName": "Oxfordskjorta", "articleGroup": "Women > Tops > Shirts",
             "discounts": [{"value": D("-100.00"), "type": "product-discount", "description": "pd-1"},
                           {"value": D("-69.80"), "type": "cart-discount", "description": "Black Friday 10%"}]},
            {"type": "PURCHASE", "sku": "BOOK-7", "quantity": 1, "grossPaidPrice": D("199.00"),
             "taxAmount": D("11.26"), "taxPercent": D("6.00"), "articleNumber": "BOOK-7", "articleName": "Cookbook"},
            {"type": "PURCHASE", "sku": "SHIPPING", "quantity": 1, "grossPaidPrice": D("49.00"),
             "taxAmount": D("9.80"), "taxPercent": D("25.00"), "articleNumber": "SHIPPING",
             "articleName": "PostNord", "articleGroup": "Shipping", "awardsBonus": False}],
        "usedPromotions": [{"promotionId": "dc-1", "couponId": "BLACKFRIDAY"}],
        "extraData": [{"name": "channel", "value": "web"}, {"name": "country", "value": "SE"},
                      {"name": "locale", "value": "sv-SE"}],
    }
    _same(map_order(order, ctx), expected)


def test_tax_excluded_b2b_eur(config):
    p1 = ct.line("PART-1", 3, 1000, rate=0.19, included=False, currency="EUR", product_key="PART-1",
                 cart_discounts=[("cd-b2b", 100)], name={"en": "Bolt"})
    p2 = ct.line("PART-2", 1, 1234, rate=0.07, included=False, currency="EUR", product_key="PART-2",
                 name={"de-DE": "Mutter", "en": "Nut"})
    order = ct.order([p1, p2], currency="EUR", store="web-de", locale="de-DE", country="DE", order_id="o-2",
                     created="2026-07-01T10:00:00Z", customer_id="cust-b2b",
                     payments=[ct.payment(4533, "EUR", method="invoice", interface="billie")])
    # Prices exclude tax: the order's totalPrice is the net total.
    assert order["totalPrice"]["centAmount"] == 3934
    expected = {
        "contact": {"matchKey": "cust-b2b", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": "ct-order-o-2", "receiptNumber": order["orderNumber"],
        "createdDate": "2026-07-01T12:00:00+02:00", "storeExternalId": "ECOM-DE", "currency": "EUR",
        "totalGrossPrice": D("45.33"),
        "taxDetails": [
            {"description": "VAT 0.07", "value": D("0.86"), "percent": D("7.00"),
             "totalIncludingTax": D("13.20"), "totalExcludingTax": D("12.34")},
            {"description": "VAT 0.19", "value": D("5.13"), "percent": D("19.00"),
             "totalIncludingTax": D("32.13"), "totalExcludingTax": D("27.00")}],
        "paymentMethods": [{"type": "invoice", "value": D("45.33"), "description": "Invoice"}],
        "items": [
            {"type": "PURCHASE", "sku": "PART-1", "quantity": 3, "grossPaidPrice": D("32.13"),
             "taxAmount": D("5.13"), "taxPercent": D("19.00"), "articleNumber": "PART-1", "articleName": "Bolt",
             # net discount 3 x 1.00 = 3.00, in gross: 3.00 x 1.19 = 3.57
             "discounts": [{"value": D("-3.57"), "type": "cart-discount", "description": "cd-b2b"}]},
            {"type": "PURCHASE", "sku": "PART-2", "quantity": 1, "grossPaidPrice": D("13.20"),
             "taxAmount": D("0.86"), "taxPercent": D("7.00"), "articleNumber": "PART-2", "articleName": "Mutter"}],
        "extraData": [{"name": "channel", "value": "web"}, {"name": "country", "value": "DE"},
                      {"name": "locale", "value": "de-DE"}],
    }
    _same(map_order(order, MappingContext(config)), expected)


def test_jpy_has_no_decimals(config):
    tee = ct.line("TEE-9-L", 3, 1980, rate=0.10, currency="JPY", name={"ja-JP": "Tシャツ", "en": "Tee"})
    order = ct.order([tee], ship=ct.shipping(500, rate=0.10, currency="JPY"), currency="JPY", store="web-jp",
                     locale="ja-JP", country="JP", order_id="o-3")
    result = map_order(order, MappingContext(config))
    expected = {
        "contact": {"matchKey": "cust-1", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": "ct-order-o-3", "receiptNumber": order["orderNumber"],
        "createdDate": "2026-11-26T23:05:00+09:00", "storeExternalId": "ECOM-JP", "currency": "JPY",
        "totalGrossPrice": D("6440"),
        "taxDetails": [{"description": "VAT 0.1", "value": D("585"), "percent": D("10.00"),
                        "totalIncludingTax": D("6440"), "totalExcludingTax": D("5855")}],
        "paymentMethods": [{"type": "card", "value": D("6440"), "description": "Card"}],
        "items": [
            {"type": "PURCHASE", "sku": "TEE-9-L", "quantity": 3, "grossPaidPrice": D("5940"),
             "taxAmount": D("540"), "taxPercent": D("10.00"), "articleNumber": "TEE-9", "articleName": "Tシャツ"},
            # 500 / 1.10 = 454.545... -> net 455, tax 45
            {"type": "PURCHASE", "sku": "SHIPPING", "quantity": 1, "grossPaidPrice": D("500"),
             "taxAmount": D("45"), "taxPercent": D("10.00"), "articleNumber": "SHIPPING",
             "articleName": "Standard", "articleGroup": "Shipping", "awardsBonus": False}],
        "extraData": [{"name": "channel", "value": "web"}, {"name": "country", "value": "JP"},
                      {"name": "locale", "value": "ja-JP"}],
    }
    _same(result, expected)
    assert '"totalGrossPrice":6440,' in dumps(result.payload)


def test_gift_card_and_card_payments(config):
    coat = ct.line("COAT-5-S", 1, 49900)
    gift = ct.payment(20000, method="giftcard", interface="voyado", interface_id="GC-1234", key="pay-gc")
    card = ct.payment(29900, method="card", interface="adyen")
    failed = ct.payment(49900, method="klarna", state="Failure")
    auth = ct.payment(100, method="card", kind="Authorization")
    order = ct.order([coat], payments=[gift, card, failed, auth], order_id="o-4")
    result = map_order(order, MappingContext(config))
    assert result.status == "receipt", result.reason
    p = result.payload
    assert dumps(p["paymentMethods"]) == dumps([
        {"type": "bonuscheck", "value": D("200.00"), "description": "Giftcard",
         "extraData": [{"name": "checkNumber", "value": "GC-1234"}]},
        {"type": "card", "value": D("299.00"), "description": "Card"}])
    assert p["usedBonusChecks"] == [{"checkNumber": "GC-1234"}]
    assert p["totalGrossPrice"] == D("499.00")


def test_custom_line_gift_line_and_adjustment(config):
    sock = ct.line("SOCK-1", 1, 9900, gift=True, cart_discounts=[("gift-1", 9900)], product_key="SOCK")
    cap = ct.line("CAP-2", 1, 14900, product_key="CAP")
    wrap = ct.custom_line("gift-wrap", 1, 2900)
    reduction = ct.custom_line("manual-reduction", 1, -1000, key="goodwill")
    order = ct.order([sock, cap], custom=[wrap, reduction], order_id="o-5")
    result = map_order(order, MappingContext(config, discount_names={"gift-1": "Free socks"}))
    assert result.status == "receipt", result.reason
    items = result.payload["items"]
    assert dumps(items) == dumps([
        {"type": "PURCHASE", "sku": "SOCK-1", "quantity": 1, "grossPaidPrice": D("0.00"), "taxAmount": D("0.00"),
         "taxPercent": D("25.00"), "articleNumber": "SOCK", "articleName": "Produkt SOCK-1", "awardsBonus": False,
         "discounts": [{"value": D("-99.00"), "type": "cart-discount", "description": "Free socks"}]},
        {"type": "PURCHASE", "sku": "CAP-2", "quantity": 1, "grossPaidPrice": D("149.00"), "taxAmount": D("29.80"),
         "taxPercent": D("25.00"), "articleNumber": "CAP", "articleName": "Produkt CAP-2"},
        {"type": "PURCHASE", "sku": "gift-wrap", "quantity": 1, "grossPaidPrice": D("29.00"),
         "taxAmount": D("5.80"), "taxPercent": D("25.00"), "articleNumber": "gift-wrap",
         "articleName": "Custom gift-wrap"},
        {"type": "ADJUSTMENT", "sku": "goodwill", "quantity": 1, "grossPaidPrice": D("-10.00"),
         "taxAmount": D("-2.00"), "taxPercent": D("25.00"), "articleNumber": "goodwill",
         "articleName": "Custom manual-reduction"}])
    assert result.payload["totalGrossPrice"] == D("168.00")
    assert dumps(result.payload["taxDetails"]) == dumps([
        {"description": "VAT 0.25", "value": D("33.60"), "percent": D("25.00"),
         "totalIncludingTax": D("168.00"), "totalExcludingTax": D("134.40")}])


def test_high_precision_unit_price_uses_cent_totals(config):
    # 3 x 33.3333 SEK (preciseAmount 333333, 4 digits): totalPrice is the cent-rounded 100.00.
    line = ct.line("BULK-1", 3, 3333, unit_precise=(333333, 4))
    assert line["totalPrice"]["centAmount"] == 10000
    order = ct.order([line], order_id="o-6")
    result = map_order(order, MappingContext(config))
    assert result.status == "receipt", result.reason
    assert result.payload["items"][0]["grossPaidPrice"] == D("100.00")
    assert dumps(result.payload["totalGrossPrice"]) == "100.00"


def test_contact_policy(config):
    """The shipped default is contactId alone: the contact of the order's identity profile, else the one known
    for the customer or the guest's email; none is a dead letter naming why, never a receipt Voyado parks."""
    shipped = config.with_rules(contact={"match_keys": ["contactId"]})
    line = ct.line("X-1", 1, 10000)
    order = ct.order([line])
    by_record = MappingContext(shipped, contact_of_record={f"ct_order:{order['id']}": "c0ffee00-0000-0000-0000-00000000000a"},
                               contact_ids={"cust-1": "c0ffee00-0000-0000-0000-000000000001"})
    assert map_order(order, by_record).payload["contact"] == {
        "matchKey": "c0ffee00-0000-0000-0000-00000000000a", "matchKeyType": "ContactId"}
    known = MappingContext(shipped, contact_ids={"cust-1": "c0ffee00-0000-0000-0000-000000000001"},
                           email_contact_ids={"guest@example.com": "c0ffee00-0000-0000-0000-000000000002"})
    assert map_order(order, known).payload["contact"] == {
        "matchKey": "c0ffee00-0000-0000-0000-000000000001", "matchKeyType": "ContactId"}
    guest = ct.order([line], customer_id=None, email=" Guest@Example.com ")
    assert map_order(guest, known).payload["contact"] == {
        "matchKey": "c0ffee00-0000-0000-0000-000000000002", "matchKeyType": "ContactId"}
    unknown = map_order(guest, MappingContext(shipped))
    assert unknown.status == "rejected" and "no Voyado contact" in unknown.reason and "@" not in unknown.reason
    # The raw-key fallbacks, when a tenant configures them.
    assert map_order(guest, MappingContext(config)).payload["contact"] == {
        "matchKey": "guest@example.com", "matchKeyType": "Email", "contactType": "Contact"}
    by_email = MappingContext(config.with_rules(contact={"match_keys": ["contactId", "email"]}))
    assert map_order(ct.order([line]), by_email).payload["contact"] == {
        "matchKey": "anna@example.com", "matchKeyType": "Email", "contactType": "Member"}


def test_store_resolution_order(config):
    line = ct.line("X-1", 1, 10000)
    line["distributionChannel"] = {"typeId": "channel", "id": "ch-1", "obj": {"key": "STO-SE-02"}}
    in_store = ct.order([line], store=None)
    p = map_order(in_store, MappingContext(config)).payload
    assert p["storeExternalId"] == "STO-SE-02"
    assert {"name": "channel", "value": "store"} in p["extraData"]
    fallback = ct.order([ct.line("X-1", 1, 10000)], store=None, country="NO", currency="SEK")
    assert map_order(fallback, MappingContext(config)).payload["storeExternalId"] == "ECOM-NO"
    app = ct.order([ct.line("X-1", 1, 10000)], store="app-se")
    assert {"name": "channel", "value": "app"} in map_order(app, MappingContext(config)).payload["extraData"]


def test_sale_rule_is_configurable(config):
    order = ct.order([ct.line("X-1", 1, 10000)], payment_state="Pending")
    r = map_order(order, MappingContext(config))
    assert r.status == "skipped" and "paymentState 'Pending'" in r.reason
    shipped_only = config.with_rules(sale={"payment_states": [], "shipment_states": ["Shipped", "Delivered"]})
    assert map_order(order, MappingContext(shipped_only)).status == "receipt"
    cancelled = ct.order([ct.line("X-1", 1, 10000)], order_state="Cancelled")
    assert map_order(cancelled, MappingContext(shipped_only)).status == "skipped"


def test_multi_buy_discount_on_some_units(config):
    # 2 x 200.00, the second at half price: discountedPricePerQuantity lists only the discounted unit.
    line = ct.line("JEANS-3-32", 2, 20000, product_key="JEANS-3")
    line["discountedPricePerQuantity"] = [{"quantity": 1, "discountedPrice": {
        "value": ct.money(10000), "includedDiscounts": [
            {"discount": {"typeId": "cart-discount", "id": "second-half"}, "discountedAmount": ct.money(10000)}]}}]
    gross, net, tp = ct.taxed(30000, 0.25, True, "SEK")
    line.update(totalPrice=ct.money(30000), taxedPrice=tp)
    result = map_order(ct.order([line]), MappingContext(config))
    assert result.status == "receipt", result.reason
    [item] = result.payload["items"]
    assert dumps(item) == dumps({"type": "PURCHASE", "sku": "JEANS-3-32", "quantity": 2, "grossPaidPrice": D("300.00"),
                                 "taxAmount": D("60.00"), "taxPercent": D("25.00"), "articleNumber": "JEANS-3",
                                 "articleName": "Produkt JEANS-3-32",
                                 "discounts": [{"value": D("-100.00"), "type": "cart-discount",
                                                "description": "second-half"}]})
