"""Deterministic payloads for sync tests (also imported by the SIGKILL worker subprocess)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from voyado_sync.sync.models import SyncItem

PARTITION = "2025-03-01"
API_KEY = "sync-test-key"
N_CONTACTS = 12
CENT = Decimal("0.01")


def contact_docs(n: int = N_CONTACTS) -> list[dict[str, Any]]:
    return [{"id": contact_id(i), "contactType": "Member",
             "attributes": {"externalId": f"ct-customer-{i}", "email": f"person{i}@example.com",
                            "mobilePhone": f"+4670123{i:04d}", "firstName": f"Person{i}"}} for i in range(n)]


def contact_id(i: int) -> str:
    return f"cafe{i % N_CONTACTS:04x}-0a0b-4c0d-8e0f-{i % N_CONTACTS:012x}"


def receipt(i: int, *, total: Decimal = Decimal("450.00"), prefix: str = "r") -> dict[str, Any]:
    """A receipt as the payload dataset holds it: exact amounts (`Decimal`), as the mapping builds them."""
    return {
        "contact": {"matchKey": f"ct-customer-{i % N_CONTACTS}", "matchKeyType": "ExternalId", "contactType": "Member"},
        "uniqueReceiptId": f"{prefix}-{i:05d}", "receiptNumber": str(100000 + i),
        "createdDate": "2025-03-01T14:05:00+01:00", "storeExternalId": "ECOM-SE", "currency": "SEK",
        "totalGrossPrice": total,
        "paymentMethods": [{"type": "card", "description": "card", "value": total}],
        "items": [{"type": "PURCHASE", "sku": f"SKU-{i % 7}", "quantity": 1, "grossPaidPrice": total,
                   "taxAmount": (total / 5).quantize(CENT), "taxPercent": Decimal("25.00"),
                   "articleNumber": f"ART-{i % 7}", "articleName": "Shirt"}],
    }


def receipts(n: int, prefix: str = "r", source: str = "voyado/receipts_payload") -> list[SyncItem]:
    return [SyncItem(f"{prefix}-{i:05d}", "receipts", receipt(i, prefix=prefix), PARTITION, source) for i in range(n)]


def point_row(i: int, definition_id: int = 1) -> dict[str, Any]:
    return {"contactId": contact_id(i), "amount": 10 + i, "definitionId": definition_id,
            "timeStamp": "2025-03-01T12:00:00+01:00", "source": "Manual", "description": f"pt-{i:05d}"}


def points(n: int, source: str = "voyado/points_payload") -> list[SyncItem]:
    return [SyncItem(f"pt-{i:05d}", "point_transactions", point_row(i), PARTITION, source) for i in range(n)]


def trigger(i: int) -> dict[str, Any]:
    return {"triggerId": "order-shipped", "contactId": contact_id(i), "data": {"eventKey": f"ev-{i:05d}"}}


def triggers(n: int) -> list[SyncItem]:
    return [SyncItem(f"ev-{i:05d}", "triggers", trigger(i), PARTITION, "voyado/triggers_payload") for i in range(n)]
