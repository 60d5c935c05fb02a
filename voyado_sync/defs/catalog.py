"""Products and categories → the Voyado Elevate catalog: the payload asset (pure mapping of the current
catalog) and the push asset (incremental imports of the lines that changed, through the sync engine).

The catalog is a snapshot, not a day's events: whatever partition runs, the payload is built from the
latest version of every product, category, inventory entry and channel extracted so far, with prices
valid now. A rerun or a backfill of an old day therefore re-sends nothing unless something changed
since (the ledger skips unchanged lines by hash). Lines travel as incremental imports, never as a full
replace, so a snapshot that misses products (a source partition not extracted yet) cannot delete them
from Elevate; an unpublished product, or one the erasure events say was deleted, is removed with an
explicit ``remove`` line. Without Elevate (VOYADO_ELEVATE_URL unset) the payload is still built and the
push records what is pending."""

from datetime import datetime, timezone
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync import jsonutil
from voyado_sync.lookups.config import mapping_config
from voyado_sync.lookups.documents import latest_documents
from voyado_sync.mapping.catalog import catalog
from voyado_sync.mapping.models import loads
from voyado_sync.seam import Batch, Built, PayloadSpec, PushSpec, Step, push_assets, unmapped_payload
from voyado_sync.storage import PartitionStore
from voyado_sync.sync.endpoints import Api
from voyado_sync.reconciliation import catalog_differences
from voyado_sync.sync.models import SyncItem, SyncReport

PAYLOAD_DATASET = "voyado/catalog_payload"
ENDPOINT = "elevate_catalog_updates"
SOURCES = ("product_projections", "categories", "inventory", "channels")
ERASURES = "commercetools/erasure_events"
PRODUCTS_MAPPED = "products_mapped"


def deleted_products(store: PartitionStore) -> dict[str, str | None]:
    """Product id → key of every product deletion the erasure events recorded."""
    frame = store.read(ERASURES, columns=["resource_type_id", "resource_id", "key"])
    if frame.empty:
        return {}
    gone = frame[frame["resource_type_id"] == "product"].dropna(subset=["resource_id"])
    return {pid: key if isinstance(key, str) and key else None for pid, key in zip(gone["resource_id"], gone["key"])}


def catalog_frame(now: datetime, documents: dict[str, list[dict[str, Any]]],
                  deleted: dict[str, str | None] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One row per product: ``line`` (a replace line), ``remove`` (not sold: unpublished, deleted, no SKU
    or no price in any market) or ``rejected`` (with the reason)."""
    built = catalog(documents["product_projections"], documents["categories"], documents["inventory"],
                    documents["channels"], mapping_config().rules.catalog, now, deleted)
    rows = []
    for r in built.results:
        status, payload = r.status, r.payload
        if status == "skipped":
            status, payload = "remove", {"remove": {"key": r.key}}
        key = r.key if status != "rejected" else f"unmapped:product:{r.product_id}"
        rows.append({"key": key, "product_group": r.key, "product_id": r.product_id, "status": status,
                     "reason": r.reason, "variants": r.variants, "markets": ",".join(r.markets),
                     "payload": jsonutil.dumps(payload, allow_float=False) if payload is not None else None})
    columns = ["key", "product_group", "product_id", "status", "reason", "variants", "markets", "payload"]
    return pd.DataFrame(rows, columns=columns), built.warnings


def catalog_items(frame: pd.DataFrame, partition_key: str) -> list[SyncItem]:
    """Lines and removals to send, plus rejected products as items local validation dead-letters."""
    items = []
    for row in frame.itertuples(index=False):
        if row.status in ("line", "remove"):
            items.append(SyncItem(row.key, ENDPOINT, loads(row.payload), partition_key, PAYLOAD_DATASET))
        elif row.status == "rejected":
            items.append(SyncItem(row.key, ENDPOINT, unmapped_payload("product", row.product_id, row.reason),
                                  partition_key, PAYLOAD_DATASET))
    return items


def build_payload(step: Step) -> Built:
    """Voyado Elevate catalog lines (one product group per Commercetools product: localized texts, category
    path, per-market prices and stock, primary image) for the current catalog."""
    store = step.store
    documents = {name: latest_documents(store, f"commercetools/{name}") for name in SOURCES}
    frame, warnings = catalog_frame(datetime.now(timezone.utc), documents, deleted_products(store))
    for w in warnings:
        step.context.log.warning(w)
    counts = frame["status"].value_counts()
    rejected = frame[frame["status"] == "rejected"]
    reasons = frame.loc[frame["status"] != "line", "reason"].str.split(":").str[0].value_counts()
    preview = frame[["product_group", "status", "variants", "markets", "reason"]].head(10)
    return Built(
        frame,
        metadata={
            "lines": dg.MetadataValue.int(int(counts.get("line", 0))),
            "removals": dg.MetadataValue.int(int(counts.get("remove", 0))),
            "rejected": dg.MetadataValue.int(int(counts.get("rejected", 0))),
            "variants": dg.MetadataValue.int(int(frame["variants"].sum())),
            "products_per_market": dg.MetadataValue.json(
                frame.loc[frame["status"] == "line", "markets"].str.split(",").explode().value_counts().to_dict()),
            "not_sent_reasons": dg.MetadataValue.json({str(k): int(v) for k, v in reasons.head(20).items()}),
            "warnings": dg.MetadataValue.json(warnings),
            "source_documents": dg.MetadataValue.json({k: len(v) for k, v in documents.items()}),
            "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if len(frame) else "(empty)"),
        },
        checks=[dg.AssetCheckResult(
            check_name=PRODUCTS_MAPPED, passed=rejected.empty, severity=dg.AssetCheckSeverity.WARN,
            metadata={"rejected": dg.MetadataValue.int(len(rejected)),
                      "sample": dg.MetadataValue.json(rejected[["product_id", "reason"]].head(10).to_dict("records"))})],
    )


def plan(step: Step, frame: pd.DataFrame) -> list[Batch]:
    """Sends the catalog lines that changed since the last successful import to Voyado Elevate (incremental
    imports through the sync engine: ledger, dead letters per refused line)."""
    return [Batch(ENDPOINT, catalog_items(frame, step.partition_key))]


CATALOG_HELD = "catalog_held_by_elevate"
_EXPORT_CHUNK = 100  # product group keys per export request


def read_back(step: Step, frame: pd.DataFrame, report: SyncReport) -> tuple[dict[str, Any], list]:
    """Export the partition's product groups from Elevate and compare them with the lines sent: every
    published product at its current prices and stock in its markets, every removal gone."""
    if step.dry_run:
        return {}, [dg.AssetCheckResult(check_name=CATALOG_HELD, passed=True, severity=dg.AssetCheckSeverity.WARN,
                                        description="dry run: nothing was sent, nothing read back")]
    lines = frame[frame["status"] == "line"]
    sent = {k: loads(p)["replace"]["productGroup"] for k, p in zip(lines["product_group"], lines["payload"])}
    removed = list(frame.loc[frame["status"] == "remove", "product_group"])
    keys = sorted(set(sent) | set(removed))
    client = step.resource("elevate").client()
    held: dict[str, Any] = {}
    for i in range(0, len(keys), _EXPORT_CHUNK):
        held.update({x["key"]: x.get("productGroup") or {} for x in client.export_catalog(keys[i:i + _EXPORT_CHUNK])
                     if isinstance(x, dict) and "key" in x})
    differences = catalog_differences(sent, removed, held)
    return ({"catalog_checked": dg.MetadataValue.int(len(keys))}, [dg.AssetCheckResult(
        check_name=CATALOG_HELD, passed=not differences, severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(differences)} product groups differ in Elevate" if differences else None,
        metadata={"checked": len(keys), "differences": dg.MetadataValue.json(dict(list(differences.items())[:20]))})])


SPEC = PushSpec(
    key=("voyado", "catalog_sync"), api=Api.ELEVATE, dataset=PAYLOAD_DATASET, plan=plan, summarize=read_back,
    checks=[dg.AssetCheckSpec(CATALOG_HELD, asset=dg.AssetKey(["voyado", "catalog_sync"]), blocking=True,
                              description="Elevate holds every published product of the payload at its current "
                                          "prices and stock, and no removed one (read back by export).")],
    payload=PayloadSpec(
        build_payload,
        deps=[dg.AssetKey(["commercetools", name]) for name in SOURCES] + [dg.AssetKey(ERASURES.split("/"))],
        checks=[dg.AssetCheckSpec(
            PRODUCTS_MAPPED, asset=dg.AssetKey(PAYLOAD_DATASET.split("/")),
            description="Every published product became a catalog line; a rejected one (unreadable price, a SKU "
                        "or product key another product already carries) is listed with its reason.")]),
)

catalog_payload, catalog_sync = push_assets(SPEC)
