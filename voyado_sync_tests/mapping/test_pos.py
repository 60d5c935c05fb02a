"""POS receipts (team/POS_SCHEMA.md) in JSON and CSV form map to the same receipt model."""

from __future__ import annotations

import copy
import csv
import io
from decimal import Decimal as D

import pytest

from voyado_sync.mapping import Receipt, dumps, map_pos_csv_rows, map_pos_receipt, receipt_problems
from voyado_sync.mapping.pos import receipts_from_csv_rows

RECEIPT = {
    "receipt_id": "POS-STO-SE-01-20261126-000123", "store_id": "STO-SE-01", "register_id": "R2",
    "receipt_number": "000123", "created_at": "2026-11-26T14:05:00+01:00", "currency": "SEK",
    "customer": {"member_number": "M100234", "card_id": None, "phone": "070-123 45 67", "email": "x@y.se",
                 "country": "SE"},
    "lines": [{"line_id": "1", "sku": "SKU-123-M", "name": "Shirt", "quantity": 2, "unit_price": "299.00",
               "discount": "50.00", "line_total": "548.00", "tax_rate": "25"},
              {"line_id": "2", "sku": "BOOK-9", "name": "Book", "quantity": 1, "unit_price": "99.00",
               "discount": "0.00", "line_total": "99.00", "tax_rate": "6"}],
    "payments": [{"method": "card", "amount": "547.00", "reference": None},
                 {"method": "giftcard", "amount": "100.00", "reference": "GC-1234"}],
    "total": "647.00",
}


def test_json_receipt(ctx):
    r = map_pos_receipt(RECEIPT, ctx)
    assert r.status == "receipt", r.reason
    expected = {
        "contact": {"matchKey": "M100234", "matchKeyType": "MemberNumber", "contactType": "Member"},
        "uniqueReceiptId": "POS-STO-SE-01-20261126-000123", "receiptNumber": "000123",
        "createdDate": "2026-11-26T14:05:00+01:00", "storeExternalId": "STO-SE-01", "currency": "SEK",
        "totalGrossPrice": D("647.00"),
        # 99.00 x 6/106 = 5.6037 -> 5.60 ; 548.00 x 25/125 = 109.60
        "taxDetails": [{"description": "6.00%", "value": D("5.60"), "percent": D("6.00"),
                        "totalIncludingTax": D("99.00"), "totalExcludingTax": D("93.40")},
                       {"description": "25.00%", "value": D("109.60"), "percent": D("25.00"),
                        "totalIncludingTax": D("548.00"), "totalExcludingTax": D("438.40")}],
        "paymentMethods": [{"type": "card", "value": D("547.00"), "description": "Card"},
                           {"type": "bonuscheck", "value": D("100.00"), "description": "Gift card",
                            "extraData": [{"name": "checkNumber", "value": "GC-1234"}]}],
        "items": [{"type": "PURCHASE", "sku": "SKU-123-M", "quantity": 2, "grossPaidPrice": D("548.00"),
                   "taxAmount": D("109.60"), "taxPercent": D("25.00"), "articleNumber": "SKU-123",
                   "articleName": "Shirt",
                   "discounts": [{"value": D("-50.00"), "type": "pos-discount", "description": "POS discount"}]},
                  {"type": "PURCHASE", "sku": "BOOK-9", "quantity": 1, "grossPaidPrice": D("99.00"),
                   "taxAmount": D("5.60"), "taxPercent": D("6.00"), "articleNumber": "BOOK-9", "articleName": "Book"}],
        "usedBonusChecks": [{"checkNumber": "GC-1234"}],
        "extraData": [{"name": "channel", "value": "store"}, {"name": "country", "value": "SE"},
                      {"name": "register", "value": "R2"}],
    }
    assert dumps(r.payload) == dumps(expected)
    assert Receipt.from_payload(r.payload).to_json() == dumps(expected)


def test_exchange_with_a_returned_line(ctx):
    rec = copy.deepcopy(RECEIPT)
    rec["lines"][1].update(quantity=-1, line_total="-99.00")
    rec["total"] = "449.00"
    rec["payments"] = [{"method": "card", "amount": "449.00"}]
    r = map_pos_receipt(rec, ctx)
    assert r.status == "receipt", r.reason
    ret = r.payload["items"][1]
    assert (ret["type"], ret["quantity"], ret["grossPaidPrice"], ret["taxAmount"]) == ("RETURN", -1, D("99.00"), D("5.60"))
    assert receipt_problems(r.payload) == []
    assert r.payload["taxDetails"][0]["value"] == D("-5.60")


def test_contact_keys_and_anonymous(ctx):
    rec = copy.deepcopy(RECEIPT)
    rec["customer"].update(member_number=None)
    assert map_pos_receipt(rec, ctx).payload["contact"]["matchKeyType"] == "Email"
    rec["customer"].update(email=None)
    assert map_pos_receipt(rec, ctx).payload["contact"] == {"matchKey": "+46701234567", "matchKeyType": "MobilePhone",
                                                            "contactType": "Member"}
    rec["customer"] = {"member_number": None, "card_id": None, "phone": "12", "email": "nope", "country": "SE"}
    r = map_pos_receipt(rec, ctx)
    assert r.status == "excluded" and "anonymous" in r.reason


def test_jpy_and_local_time_without_offset(ctx, config):
    from voyado_sync.mapping.config import store_row
    from voyado_sync.mapping.context import MappingContext

    jp = MappingContext(config.with_stores(store_row("channel", "STO-JP-01", "STO-JP-01", timezone="Asia/Tokyo",
                                                     channel="store", country="JP")))
    rec = {"receipt_id": "POS-JP-1", "store_id": "STO-JP-01", "created_at": "2026-11-26T20:00:00", "currency": "JPY",
           "customer": {"member_number": "M1"},
           "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price": "1200", "line_total": "1200", "tax_rate": "10"}],
           "payments": [{"method": "cash", "amount": "1200"}], "total": "1200"}
    r = map_pos_receipt(rec, jp)
    assert r.status == "receipt", r.reason
    assert r.payload["createdDate"] == "2026-11-26T20:00:00+09:00"
    assert '"totalGrossPrice":1200,' in dumps(r.payload)
    assert r.payload["items"][0]["taxAmount"] == D("109")  # 1200 x 10/110 = 109.09


BAD = {
    "unknown store": (lambda r: r.update(store_id="STO-XX-99"), "unknown store: POS store_id 'STO-XX-99'"),
    "too many decimals": (lambda r: r["lines"][0].update(line_total="548.001"),
                          "line 1 line_total '548.001' has more decimals than the currency allows (2)"),
    "total mismatch": (lambda r: r.update(total="646.00"), "lines sum to 647.00 but the receipt total is 646.00 SEK"),
    "payments mismatch": (lambda r: r["payments"][0].update(amount="546.00"),
                          "payments sum to 646.00 but the receipt total is 647.00 SEK"),
    "line arithmetic": (lambda r: r["lines"][0].update(discount="40.00"),
                        "line 1: unit_price x quantity - discount = 558.00 but line_total is 548.00"),
    "gift card without reference": (lambda r: r["payments"][1].update(reference=None), "has no reference"),
    "sign mismatch": (lambda r: r["lines"][1].update(quantity=-1), "line 2: line_total and quantity have different signs"),
    "missing sku": (lambda r: r["lines"][0].update(sku=""), "line 1 has no sku"),
    "unknown method": (lambda r: r["payments"][0].update(method="bitcoin"), "unknown payment method 'bitcoin'"),
    "bad amount": (lambda r: r.update(total="abc"), "total 'abc' is not a decimal amount"),
    "unknown currency": (lambda r: r.update(currency="XXX"), "unknown currency 'XXX'"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_pos_receipts(name, ctx):
    rec = copy.deepcopy(RECEIPT)
    mutate, reason = BAD[name]
    mutate(rec)
    r = map_pos_receipt(rec, ctx)
    assert r.status == "rejected" and reason in r.reason, r.reason
    assert "x@y.se" not in r.reason


CSV = """receipt_id,store_id,register_id,receipt_number,created_at,currency,member_number,card_id,phone,email,country,line_id,sku,name,quantity,unit_price,discount,line_total,tax_rate,payments,total
POS-STO-SE-01-20261126-000123,STO-SE-01,R2,000123,2026-11-26T14:05:00+01:00,SEK,M100234,,070-123 45 67,x@y.se,SE,1,SKU-123-M,Shirt,2,299.00,50.00,548.00,25,card:547.00|giftcard:100.00:GC-1234,647.00
POS-STO-SE-01-20261126-000123,STO-SE-01,R2,000123,2026-11-26T14:05:00+01:00,SEK,M100234,,070-123 45 67,x@y.se,SE,2,BOOK-9,Book,1,99.00,0.00,99.00,6,card:547.00|giftcard:100.00:GC-1234,647.00
POS-STO-SE-02-20261126-000007,STO-SE-02,R1,000007,2026-11-26T10:00:00+01:00,SEK,,,,,SE,1,SKU-5,Cap,1,149.00,0.00,149.00,25,cash:149.00,149.00
POS-STO-SE-02-20261126-000008,STO-SE-02,R1,000008,2026-11-26T10:05:00+01:00,SEK,M9,,,,SE,1,SKU-5,Cap,1,149.00,0.00,149.00,25,cash:149.00,149.00
POS-STO-SE-02-20261126-000008,STO-SE-02,R9,000008,2026-11-26T10:05:00+01:00,SEK,M9,,,,SE,2,SKU-6,Hat,1,99.00,0.00,99.00,25,cash:149.00,149.00
"""


def test_csv_rows_map_like_json(ctx):
    rows = list(csv.DictReader(io.StringIO(CSV)))
    grouped = receipts_from_csv_rows(rows)
    assert [g["receipt_id"] for g in grouped] == ["POS-STO-SE-01-20261126-000123", "POS-STO-SE-02-20261126-000007",
                                                   "POS-STO-SE-02-20261126-000008"]
    first, anonymous, inconsistent = map_pos_csv_rows(rows, ctx)
    assert first.status == "receipt", first.reason
    assert dumps(first.payload) == dumps(map_pos_receipt(RECEIPT, ctx).payload)
    assert anonymous.status == "excluded"
    assert inconsistent.status == "rejected" and "receipt-level columns differ" in inconsistent.reason
