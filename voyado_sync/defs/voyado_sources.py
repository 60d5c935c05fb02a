"""Voyado Engage source assets: the contacts Voyado holds (daily delta) and its target audiences.

Thin wiring over `voyado_sync.clients.engage`. How contacts are read, without any admin or export API:

* a daily partition ``[day, next day)`` asks ``GET /api/v3/contacts/changes`` for ``Created`` and
  ``Updated`` ids in the window, then ``GET /api/v3/contacts/{id}`` for each (paced by the resource's
  ``rate_limit_per_second``, ``max_concurrency`` in flight). A contact deleted since (404) is counted as
  ``vanished``, not an error;
* the *first* partition, or any partition run with ``full: true``, reads every contact that exists now:
  ``changeType=Created`` from ``full_since`` until now in yearly windows, each halved when Engage refuses
  it for holding more than 250 000 ids (reference §2.10), then GET each. Deleted contacts answer 404 and
  drop out. Now, not the window's end: a backfill of an old day must know the contacts Voyado holds
  today, or it would create a second contact for a shopper (refused, 409) and hold back their receipts.
"""

# No ``from __future__ import annotations`` here: Dagster reads the config class from real annotations.
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import dagster as dg
import pyarrow as pa

from voyado_sync.clients.engage import EngageClient
from voyado_sync.clients.http import ApiError, AuthError, NotFoundError
from voyado_sync.partitions import daily_partitions, partition_window_utc
from voyado_sync.resources.state import PartitionStoreResource
from voyado_sync.resources.voyado import EngageResource

GROUP = "voyado"
POOL = "voyado_api"
CONTACTS_KEY = dg.AssetKey(["voyado", "contacts"])
AUDIENCES_KEY = dg.AssetKey(["voyado", "target_audiences"])
CONTACTS_DATASET = "voyado/contacts"
AUDIENCES_DATASET = "voyado/target_audiences"
AUDIENCES_PARTITION = "current"  # unpartitioned asset: one file, replaced on every materialization
STEP_RETRY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

CONTACT_SCHEMA = pa.schema([(name, pa.string()) for name in (
    "id", "email", "mobilePhone", "memberNumber", "externalId", "contactType", "consents_json", "preferences_json",
    "raw")])
AUDIENCE_SCHEMA = pa.schema([("id", pa.string()), ("name", pa.string()), ("raw", pa.string())])


class VoyadoContactsConfig(dg.Config):
    full: bool = False  # read every contact, not only the day's changes
    full_since: str = "2000-01-01T00:00:00+00:00"  # oldest creation date a full read looks back to


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def contact_row(doc: dict[str, Any]) -> dict[str, Any]:
    """One Parquet row from an ``IApiContact``; tolerant of where ``contactType`` sits (not established)."""
    attrs = doc.get("attributes") if isinstance(doc.get("attributes"), dict) else {}
    meta = doc.get("meta") if isinstance(doc.get("meta"), dict) else {}
    ctype = doc.get("contactType") or meta.get("contactType") or attrs.get("contactType")

    def text(value: Any) -> str | None:
        return None if value is None or value == "" else str(value)

    return {"id": text(doc.get("id")), "email": text(attrs.get("email")), "mobilePhone": text(attrs.get("mobilePhone")),
            "memberNumber": text(attrs.get("memberNumber")), "externalId": text(attrs.get("externalId")),
            "contactType": text(ctype), "consents_json": _json(doc.get("consents") or []),
            "preferences_json": _json(doc.get("preferences") or {}), "raw": _json(doc)}


def _fetch(client: EngageClient, ids: list[str], workers: int) -> tuple[list[dict[str, Any]], int, dict[str, str]]:
    """GET every contact; returns rows, the number that vanished (404) and failures by id."""
    def one(cid: str) -> tuple[str, dict[str, Any] | None, str | None]:
        try:
            return cid, client.get_contact(cid), None
        except NotFoundError:
            return cid, None, None
        except AuthError:
            raise
        except ApiError as exc:  # one unreadable contact must not sink the partition
            return cid, None, f"{exc.status}:{exc.code or type(exc).__name__}"

    rows, vanished, failures = [], 0, {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="voyado-contacts") as pool:
        for cid, doc, failure in pool.map(one, ids):
            if failure:
                failures[cid] = failure
            elif doc is None:
                vanished += 1
            else:
                rows.append(contact_row(doc))
    rows.sort(key=lambda r: r["id"] or "")
    return rows, vanished, failures


@dg.asset(
    key=CONTACTS_KEY, group_name=GROUP, kinds={"voyado", "parquet"}, partitions_def=daily_partitions,
    description="Contacts as Voyado Engage holds them. One partition = contacts Created or Updated in "
                "[day, next day) per GET /api/v3/contacts/changes, each read with GET /contacts/{id}. The first "
                "partition (or config full: true) reads every contact that exists now through "
                "changeType=Created since full_since. Parquet at voyado/contacts/<day> (columns id, email, mobilePhone, memberNumber, "
                "externalId, contactType, consents_json, preferences_json, raw).",
    pool=POOL, retry_policy=STEP_RETRY, code_version="2", tags={"source": "voyado"},
    check_specs=[dg.AssetCheckSpec("all_contacts_read", asset=CONTACTS_KEY,
                                   description="Every changed contact could be read (404s after a deletion "
                                               "excepted).")],
)
def voyado_contacts(context: dg.AssetExecutionContext, config: VoyadoContactsConfig, engage: EngageResource,
                    partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    key = context.partition_key
    start, end = partition_window_utc(key)
    end = min(end, datetime.now(timezone.utc))
    # The first load (the first partition, or no contacts read yet: a backfill that starts mid-range)
    # reads every contact, so identity resolution knows contacts created before the window.
    full = (config.full or key == daily_partitions.get_first_partition_key()
            or not partition_store.store().partitions(CONTACTS_DATASET))
    client = engage.client()
    before = client.stats.snapshot()
    try:
        if full:
            since = datetime.fromisoformat(config.full_since)
            since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
            now = datetime.now(timezone.utc)
            ids = list(client.iter_contact_changes("Created", since, now)) if since < now else []
            counts = {"listed": len(ids)}
        else:
            created = client.contact_changes("Created", start, end) if start < end else []
            updated = client.contact_changes("Updated", start, end) if start < end else []
            ids = sorted(set(created) | set(updated))
            counts = {"created": len(created), "updated": len(updated), "listed": len(ids)}
        deleted = len(client.contact_changes("Deleted", start, end)) if start < end else 0
        rows, vanished, failures = _fetch(client, ids, engage.max_concurrency)
    except (AuthError, ValueError) as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    store = partition_store.store()
    table = pa.Table.from_pylist(rows, schema=CONTACT_SCHEMA)
    with store.writer(CONTACTS_DATASET, key, CONTACT_SCHEMA) as writer:
        writer.write_table(table)
    cost = client.stats.since(before)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(rows), "mode": "full" if full else "delta", **counts, "vanished": vanished,
            "deleted_in_window": deleted, "failed": len(failures), "requests": cost.requests, "retries": cost.retries,
            "window_start": start.isoformat(), "window_end": end.isoformat(),
            "path": dg.MetadataValue.path(str(store.path(CONTACTS_DATASET, key))),
            "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(f.name, str(f.type))
                                                             for f in CONTACT_SCHEMA]),
        },
        check_results=[dg.AssetCheckResult(
            check_name="all_contacts_read", passed=not failures, severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed": len(failures), "examples": dg.MetadataValue.json(dict(list(failures.items())[:20]))})],
    )


@dg.asset(
    key=AUDIENCES_KEY, group_name=GROUP, kinds={"voyado", "parquet"}, code_version="1", pool=POOL,
    retry_policy=STEP_RETRY, tags={"source": "voyado"},
    description="Voyado Engage target audiences (GET /api/v3/target-audiences: id, name). Engage recalculates "
                "them on its own schedule (nightly); Parquet at voyado/target_audiences/current.",
)
def voyado_target_audiences(context: dg.AssetExecutionContext, engage: EngageResource,
                            partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    try:
        audiences = engage.client().target_audiences()
    except AuthError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    if not isinstance(audiences, list):
        raise dg.Failure(description="GET /api/v3/target-audiences did not answer a JSON array")
    rows = [{"id": str(a.get("id")), "name": a.get("name"), "raw": _json(a)} for a in audiences if isinstance(a, dict)]
    store = partition_store.store()
    with store.writer(AUDIENCES_DATASET, AUDIENCES_PARTITION, AUDIENCE_SCHEMA) as writer:
        writer.write_table(pa.Table.from_pylist(rows, schema=AUDIENCE_SCHEMA))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(rows), "names": dg.MetadataValue.json(sorted(str(r["name"]) for r in rows)),
        "path": dg.MetadataValue.path(str(store.path(AUDIENCES_DATASET, AUDIENCES_PARTITION)))})
