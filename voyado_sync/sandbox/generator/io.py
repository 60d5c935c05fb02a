"""Write a `Dataset` to a folder and read it back.

Layout: ``<resource>.ndjson`` per Commercetools resource (compact JSON, one document per line),
``voyado_contacts.ndjson``, ``pos/<store>_<date>_<n>.json|.csv`` (formats mixed, POS_SCHEMA.md),
``ground_truth.csv`` (source, record_id, person_id), ``persons.ndjson`` (the truth about each person)
and ``manifest.json`` (config and counts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from voyado_sync.sandbox.generator.config import GeneratorConfig
from voyado_sync.sandbox.generator.dataset import CT_FILES, GROUND_TRUTH_COLUMNS, Dataset
from voyado_sync.sandbox.generator.pos import read_receipt_dir, write_receipt_files

FORMAT_VERSION = 1


def _write_ndjson(path: Path, docs: Iterable[dict[str, Any]]) -> int:
    n = 0
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")
            n += 1
    os.replace(tmp, path)
    return n


def iter_ndjson(path: Path) -> Iterator[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not a JSON document: {exc}") from exc


def write_dataset(ds: Dataset, out_dir: str | os.PathLike) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for attr, name in CT_FILES.items():
        counts[name] = _write_ndjson(out / f"{name}.ndjson", getattr(ds, attr))
    counts["voyado_contacts"] = _write_ndjson(out / "voyado_contacts.ndjson", ds.voyado_contacts)
    counts["persons"] = _write_ndjson(out / "persons.ndjson", ds.persons)
    pos_dir = out / "pos"
    if pos_dir.exists():
        for old in pos_dir.glob("*"):
            if old.suffix in (".json", ".csv", ".ndjson"):
                old.unlink()
    files = write_receipt_files(ds.config, ds.pos_receipts, pos_dir)
    counts["pos_receipts"] = len(ds.pos_receipts)
    counts["pos_files"] = len(files)
    ds.ground_truth[GROUND_TRUTH_COLUMNS].to_csv(out / "ground_truth.csv", index=False)
    counts["ground_truth"] = len(ds.ground_truth)
    manifest = {"format_version": FORMAT_VERSION, "generator": "voyado_sync.sandbox.generator",
                "config": ds.config.to_dict(), "window": {"start": ds.config.window_start.isoformat(),
                                                          "end": ds.config.window_end.isoformat()},
                "counts": counts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def read_dataset(in_dir: str | os.PathLike) -> Dataset:
    src = Path(in_dir)
    manifest_path = src / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{src} is not a generated dataset (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    ds = Dataset(config=GeneratorConfig.from_dict(manifest["config"]))
    for attr, name in CT_FILES.items():
        path = src / f"{name}.ndjson"
        setattr(ds, attr, list(iter_ndjson(path)) if path.exists() else [])
    for attr, name in (("voyado_contacts", "voyado_contacts"), ("persons", "persons")):
        path = src / f"{name}.ndjson"
        setattr(ds, attr, list(iter_ndjson(path)) if path.exists() else [])
    ds.pos_receipts = read_receipt_dir(src / "pos") if (src / "pos").exists() else []
    gt = src / "ground_truth.csv"
    ds.ground_truth = (pd.read_csv(gt, dtype=str, keep_default_na=False) if gt.exists()
                       else pd.DataFrame(columns=GROUND_TRUTH_COLUMNS))
    return ds
