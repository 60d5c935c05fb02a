"""The current state of a stored dataset of documents (a ``raw`` column of JSON per row)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow.parquet as pq

from voyado_sync.storage import PartitionStore


def raw_documents(store: PartitionStore, dataset: str, partition_key: str) -> list[str]:
    """The partition's documents as stored (JSON text), in stored order; none for a missing partition.
    Read straight from Arrow: a pandas column of a whole day's documents is a copy the mapping never needs."""
    if not store.exists(dataset, partition_key):
        return []
    return pq.read_table(store.path(dataset, partition_key), columns=["raw"]).column("raw").to_pylist()


def latest_documents(store: PartitionStore, dataset: str, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """The highest version of every document over the given partitions (all when None; a product changed
    on three days sits in three partitions). Documents without a version (Voyado contacts) keep the one
    read last, i.e. from the latest partition."""
    frame = store.read(dataset, keys, columns=["raw"])
    latest: dict[str, dict[str, Any]] = {}
    for raw in frame["raw"] if "raw" in frame else ():
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            continue
        known = latest.get(doc.get("id"))
        if known is None or (doc.get("version") or 0) >= (known.get("version") or 0):
            latest[doc.get("id")] = doc
    return list(latest.values())
