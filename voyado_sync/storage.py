"""Parquet per partition: ``<data_dir>/<dataset>/<partition_key>.parquet``.

Writers stream row groups to a temporary file and rename it into place on success, so a crashed
materialization never leaves a half partition behind and readers see either the old or the new file.
Every dataset carries a ``raw`` column (the document's JSON) next to its typed columns, for audit,
replay, and for downstream code that needs fields the typed columns do not expose."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class PartitionStore:
    def __init__(self, base_dir: str | Path) -> None:
        self.base_dir = Path(base_dir)

    def path(self, dataset: str, partition_key: str) -> Path:
        return self.base_dir / dataset / f"{partition_key}.parquet"

    def exists(self, dataset: str, partition_key: str) -> bool:
        return self.path(dataset, partition_key).exists()

    def partitions(self, dataset: str) -> list[str]:
        folder = self.base_dir / dataset
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.exists() else []

    @contextmanager
    def writer(self, dataset: str, partition_key: str, schema: pa.Schema) -> Iterator[pq.ParquetWriter]:
        """Yields a ParquetWriter; the file appears atomically only if the block exits cleanly."""
        final = self.path(dataset, partition_key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        try:
            yield writer
            writer.close()
            os.replace(tmp, final)
        except BaseException:
            writer.close()
            tmp.unlink(missing_ok=True)
            raise

    def write_frame(self, dataset: str, partition_key: str, df: pd.DataFrame,
                    schema: pa.Schema | None = None) -> Path:
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        with self.writer(dataset, partition_key, table.schema) as w:
            w.write_table(table)
        return self.path(dataset, partition_key)

    def read(self, dataset: str, partition_keys: Iterable[str] | None = None,
             columns: list[str] | None = None) -> pd.DataFrame:
        """Concatenate the given partitions (all when None); missing partitions are skipped."""
        keys = self.partitions(dataset) if partition_keys is None else list(partition_keys)
        frames = [pq.read_table(self.path(dataset, k), columns=columns).to_pandas()
                  for k in keys if self.exists(dataset, k)]
        if not frames:
            return pd.DataFrame(columns=columns or [])
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
