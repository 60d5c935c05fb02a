"""After sending: does Voyado hold, per day × currency × store, exactly the money Commercetools and the
POS files say was spent (purchases minus returns), to the cent and with equal counts?

Pure. Each side comes from its own source, never from our mapping alone:

* **expected** — web purchases from the Commercetools order totals themselves (``taxedPrice.totalGross``,
  else ``totalPrice``) of the orders that count as sales; POS receipts from the POS files' own ``total``;
  returns from the mapped RETURN receipts, whose amounts are the order lines' paid prices pro rata
  (checked line by line before sending) and which `refund_problems` cross-checks against the order's
  Success Refund transactions;
* **held** — what Voyado answers when it is read back (a receipt's total as Voyado holds it), grouped by
  the day, currency and store the receipt was sent under;
* **excluded** — sales Voyado must not get by policy (no identifiable shopper, configured exclusions,
  dead letters an operator dismissed with a reason): reported per group with count and money, never a
  difference. A dead letter from an error stays a difference until it is replayed or dismissed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from voyado_sync.mapping.config import MappingConfig
from voyado_sync.mapping.context import Reject
from voyado_sync.mapping.corrections import is_credit
from voyado_sync.mapping.order import not_a_sale, resolve_store
from voyado_sync.money import MoneyError, amount, decimal_text, minor_units

Group = tuple[str, str, str]  # (local day, currency, storeExternalId)


@dataclass
class Totals:
    count: int = 0
    total: Decimal = Decimal(0)

    def add(self, value: Decimal, count: int = 1) -> None:
        self.count += count
        self.total += value


@dataclass
class Reconciliation:
    expected: dict[Group, Totals]
    held: dict[Group, Totals]
    unexplained: list[str]  # sales whose expected group could not be computed, refunds that disagree
    excluded: dict[Group, Totals] = field(default_factory=dict)

    @property
    def differences(self) -> list[dict[str, Any]]:
        return [row for g, row in zip(self._groups(), self.rows())
                if self.expected.get(g, Totals()) != self.held.get(g, Totals())]

    def _groups(self) -> list[Group]:
        return sorted(set(self.expected) | set(self.held) | set(self.excluded))

    @property
    def reconciled(self) -> bool:
        return not self.differences and not self.unexplained

    def rows(self) -> list[dict[str, Any]]:
        """One row per group, for metadata tables."""
        out = []
        for g in self._groups():
            e, h, x = self.expected.get(g, Totals()), self.held.get(g, Totals()), self.excluded.get(g, Totals())
            out.append({"day": g[0], "currency": g[1], "store": g[2], "expected_count": e.count,
                        "held_count": h.count, "expected_total": str(e.total), "held_total": str(h.total),
                        "excluded_count": x.count, "excluded_total": str(x.total)})
        return out


def payload_group(payload: Mapping[str, Any]) -> Group:
    return str(payload["createdDate"])[:10], str(payload["currency"]), str(payload["storeExternalId"])


def _order_sale(order: Mapping[str, Any], config: MappingConfig) -> tuple[Group, Decimal]:
    store = resolve_store(order, config)
    ts = datetime.fromisoformat(order.get("completedAt") or order["createdAt"])
    money = order.get("taxedPrice", {}).get("totalGross") or order["totalPrice"]
    return (ts.astimezone(store.tz).date().isoformat(), money["currencyCode"], store.store_external_id), amount(money)


def _pos_sale(receipt: Mapping[str, Any], config: MappingConfig) -> tuple[Group, Decimal]:
    store = config.store("channel", receipt.get("store_id"))
    if store is None:
        raise Reject(f"POS store {receipt.get('store_id')!r} is not in stores.csv")
    created = datetime.fromisoformat(str(receipt["created_at"]))
    created = created.replace(tzinfo=store.tz) if created.tzinfo is None else created.astimezone(store.tz)
    return (created.date().isoformat(), str(receipt["currency"]), store.store_external_id), \
        decimal_text(receipt["total"])


def expected_totals(orders: Iterable[Mapping[str, Any]], mapped: Iterable[tuple[str, Mapping[str, Any]]],
                    config: MappingConfig, *, pos_receipts: Iterable[Mapping[str, Any]] = (),
                    excluded: Iterable[tuple[str, str]] = ()
                    ) -> tuple[dict[Group, Totals], dict[Group, Totals], list[str]]:
    """(expected, excluded, unexplained). ``orders``: the partition's Commercetools orders; ``mapped``:
    (kind, payload) of every receipt the mapping produced (purchases and POS are recomputed from their
    sources here, returns taken as mapped); ``pos_receipts``: the partition's POS file receipts;
    ``excluded``: (kind, source id) of the sales Voyado must not get by policy."""
    expected: dict[Group, Totals] = {}
    left_out: dict[Group, Totals] = {}
    unexplained: list[str] = []
    skip = set(excluded)
    for kind, docs, sale, id_field in (("purchase", orders, _order_sale, "id"),
                                       ("pos", pos_receipts, _pos_sale, "receipt_id")):
        for doc in docs:
            if kind == "purchase" and not_a_sale(doc, config.rules.sale):
                continue
            try:
                group, value = sale(doc, config)
            except (Reject, KeyError, TypeError, ValueError, MoneyError) as exc:
                unexplained.append(f"{kind} {doc.get(id_field)}: {getattr(exc, 'reason', exc)}")
                continue
            target = left_out if (kind, str(doc.get(id_field))) in skip else expected
            target.setdefault(group, Totals()).add(value)
    for kind, payload in mapped:
        if kind == "return":
            expected.setdefault(payload_group(payload), Totals()).add(Decimal(payload["totalGrossPrice"]))
    return expected, left_out, unexplained


def refund_problems(orders: Iterable[Mapping[str, Any]], returns: Iterable[Mapping[str, Any]]) -> list[str]:
    """Orders whose RETURN receipts refund a different amount than their payments' Success Refund
    transactions say was refunded, for the orders whose every return item is in the receipts."""
    refunded_by_receipts: dict[str, Decimal] = {}
    items_sent: dict[str, int] = {}
    for payload in returns:
        original = next((e["value"] for e in payload.get("extraData") or () if e.get("name") == "originalReceiptNumber"),
                        None)
        if original is not None:
            refunded_by_receipts[original] = refunded_by_receipts.get(original, Decimal(0)) - Decimal(
                payload["totalGrossPrice"])
            items_sent[original] = items_sent.get(original, 0) + 1
    problems = []
    for order in orders:
        number = str(order.get("orderNumber") or order.get("id"))
        items = [i for info in order.get("returnInfo") or () for i in info.get("items") or ()]
        if number not in refunded_by_receipts or items_sent[number] != len(items):
            continue
        currency = (order.get("totalPrice") or {}).get("currencyCode")
        refunded = Decimal(0)
        for ref in (order.get("paymentInfo") or {}).get("payments") or ():
            for t in ((ref.get("obj") or {}).get("transactions") or ()):
                if t.get("type") == "Refund" and t.get("state") == "Success":
                    refunded += amount(t["amount"])
        if refunded and refunded != refunded_by_receipts[number]:
            digits = minor_units(currency) if currency else 2
            problems.append(f"order {number}: return receipts refund {refunded_by_receipts[number]:.{digits}f} but "
                            f"its payments' Refund transactions total {refunded:.{digits}f} {currency}")
    return problems


def held_totals(held: Iterable[tuple[Mapping[str, Any], Decimal]]) -> dict[Group, Totals]:
    """``held``: (the payload a receipt was sent as, the total Voyado holds for it). A credit (a correction
    that reverses an earlier version) takes its receipt out of the count as it takes its money back."""
    out: dict[Group, Totals] = {}
    for payload, total in held:
        out.setdefault(payload_group(payload), Totals()).add(total, -1 if is_credit(payload) else 1)
    return out


def reconcile(orders: Iterable[Mapping[str, Any]], mapped: Iterable[tuple[str, Mapping[str, Any]]],
              held: Iterable[tuple[Mapping[str, Any], Decimal]], config: MappingConfig, *,
              pos_receipts: Iterable[Mapping[str, Any]] = (), excluded: Iterable[tuple[str, str]] = ()
              ) -> Reconciliation:
    orders, mapped = list(orders), list(mapped)
    expected, left_out, unexplained = expected_totals(orders, mapped, config, pos_receipts=pos_receipts,
                                                      excluded=excluded)
    unexplained += refund_problems(orders, [p for kind, p in mapped if kind == "return"])
    return Reconciliation(expected, held_totals(held), unexplained, left_out)


_HELD_FIELDS = ("listPrice", "sellingPrice", "stock")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return Decimal(str(value))


def _variant_fields(variant: Mapping[str, Any]) -> dict[str, Decimal | None]:
    """Price and stock per market scope (``defaults`` and each ``overrides`` key) of one catalog variant."""
    out: dict[str, Decimal | None] = {}
    scopes = [("defaults", variant.get("defaults") or {})] + sorted((variant.get("overrides") or {}).items())
    for scope, values in scopes:
        for name in _HELD_FIELDS:
            if name in (values or {}):
                out[f"{scope}.{name}"] = _number(values[name])
    return out


def catalog_differences(sent: Mapping[str, Mapping[str, Any]], removed: Iterable[str],
                        held: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Product group key -> how what Elevate holds differs from the lines sent (``sent``: key -> the
    ``productGroup`` of its replace line; ``removed``: keys sent as removals; ``held``: key -> the exported
    ``productGroup``): a group missing or still there, a product's markets, a variant's prices or stock."""
    out: dict[str, str] = {}
    for key, group in sent.items():
        have = held.get(key)
        if have is None:
            out[key] = "not in Elevate"
            continue
        found: list[str] = []
        for pid, product in (group.get("products") or {}).items():
            other = (have.get("products") or {}).get(pid)
            if other is None:
                found.append(f"product {pid} missing")
                continue
            if sorted(product.get("markets") or []) != sorted(other.get("markets") or []):
                found.append(f"product {pid} markets differ")
            for sku, variant in (product.get("variants") or {}).items():
                want = _variant_fields(variant)
                got = _variant_fields(((other.get("variants") or {}).get(sku)) or {})
                bad = [f for f in want if want[f] != got.get(f)]
                if bad:
                    found.append(f"variant {sku}: {', '.join(bad[:3])} differ")
        if found:
            out[key] = "; ".join(found[:5])
    for key in removed:
        if key in held:
            out[key] = "removed, but Elevate still holds it"
    return out
