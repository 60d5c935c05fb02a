"""After sending: does Voyado hold, per day × currency × store, exactly the money Commercetools and the
POS files say was spent (purchases minus returns), to the cent and with equal counts?

Pure. The expected side for web purchases is computed from the Commercetools order totals themselves
(``taxedPrice.totalGross``, else ``totalPrice``), not from our mapped receipts, so a mapping that drops
or bends money is caught. Returns and POS receipts come from the mapped payloads (their amounts are
already validated line by line before sending). The held side is whatever the caller knows Voyado
holds: the ledger in production (the last delivered payload per ``uniqueReceiptId``), or the sandbox's
own receipt store in tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from voyado_sync.mapping.config import MappingConfig
from voyado_sync.mapping.context import Reject
from voyado_sync.mapping.order import not_a_sale, resolve_store
from voyado_sync.money import MoneyError, amount

Group = tuple[str, str, str]  # (local day, currency, storeExternalId)


@dataclass
class Totals:
    count: int = 0
    total: Decimal = Decimal(0)

    def add(self, value: Decimal) -> None:
        self.count += 1
        self.total += value


@dataclass
class Reconciliation:
    expected: dict[Group, Totals]
    held: dict[Group, Totals]
    unexplained: list[str]  # orders counted as sales whose expected group could not be computed

    @property
    def differences(self) -> list[dict[str, Any]]:
        out = []
        for group in sorted(set(self.expected) | set(self.held)):
            e, h = self.expected.get(group, Totals()), self.held.get(group, Totals())
            if e.count != h.count or e.total != h.total:
                out.append({"day": group[0], "currency": group[1], "store": group[2],
                            "expected_count": e.count, "held_count": h.count,
                            "expected_total": str(e.total), "held_total": str(h.total)})
        return out

    @property
    def reconciled(self) -> bool:
        return not self.differences and not self.unexplained

    def rows(self) -> list[dict[str, Any]]:
        """One row per group, for metadata tables."""
        return [{"day": g[0], "currency": g[1], "store": g[2], "expected_count": self.expected.get(g, Totals()).count,
                 "held_count": self.held.get(g, Totals()).count,
                 "expected_total": str(self.expected.get(g, Totals()).total),
                 "held_total": str(self.held.get(g, Totals()).total)}
                for g in sorted(set(self.expected) | set(self.held))]


def _payload_group(payload: Mapping[str, Any]) -> Group:
    return str(payload["createdDate"])[:10], str(payload["currency"]), str(payload["storeExternalId"])


def expected_totals(orders: Iterable[Mapping[str, Any]], mapped: Iterable[tuple[str, Mapping[str, Any]]],
                    config: MappingConfig) -> tuple[dict[Group, Totals], list[str]]:
    """``orders``: the partition's Commercetools orders; ``mapped``: (kind, payload) of every receipt the
    mapping produced (purchases are ignored here: they are recomputed from the orders)."""
    expected: dict[Group, Totals] = {}
    unexplained: list[str] = []
    for order in orders:
        if not_a_sale(order, config.rules.sale):
            continue
        try:
            store = resolve_store(order, config)
            ts = datetime.fromisoformat(order.get("completedAt") or order["createdAt"])
            day = ts.astimezone(store.tz).date().isoformat()
            money = order.get("taxedPrice", {}).get("totalGross") or order["totalPrice"]
            expected.setdefault((day, money["currencyCode"], store.store_external_id), Totals()).add(amount(money))
        except (Reject, KeyError, TypeError, ValueError, MoneyError) as exc:
            unexplained.append(f"order {order.get('id')}: {getattr(exc, 'reason', exc)}")
    for kind, payload in mapped:
        if kind != "purchase":
            expected.setdefault(_payload_group(payload), Totals()).add(Decimal(payload["totalGrossPrice"]))
    return expected, unexplained


def held_totals(payloads: Iterable[Mapping[str, Any]]) -> dict[Group, Totals]:
    held: dict[Group, Totals] = {}
    for payload in payloads:
        held.setdefault(_payload_group(payload), Totals()).add(Decimal(payload["totalGrossPrice"]))
    return held


def reconcile(orders: Iterable[Mapping[str, Any]], mapped: Iterable[tuple[str, Mapping[str, Any]]],
              held_payloads: Iterable[Mapping[str, Any]], config: MappingConfig) -> Reconciliation:
    expected, unexplained = expected_totals(orders, mapped, config)
    return Reconciliation(expected, held_totals(held_payloads), unexplained)
