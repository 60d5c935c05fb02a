"""Identity resolution benchmark: quality vs ground truth, speed and memory, and Splink side by side.

    .venv/bin/python benchmarks/identity.py --records 1000000

Data: ``voyado_sync.identity.synthetic`` (every noise of the identity issue: households sharing a
phone, second emails and accounts, recycled phones, guest orders, POS members with only a phone,
garbage identifiers, formatting noise). Each measured phase runs in a fresh child process so its
peak RSS is its own (the first run's); every time is the best of ``TIMED_RUNS`` runs, for Splink too.
Phases:

* ``full``: ``incremental.full_run`` from raw identifier rows (normalization, linking + clustering
  with the rules, stable ids, golden records, decision log);
* ``link``: ``resolve.resolve`` alone on the normalized identifiers - with our rules, and with the
  same deterministic rules without limits (the Splink-equivalent problem);
* ``incremental``: 1 % of the records changed (edited identifiers, deleted, new), applied with
  ``apply_changes``, then checked against a full recompute. Timed: reading the region the changes
  reach and recomputing it into the region's new state (what the SQL state saves; a day in
  production reads that region from SQL, never the whole graph). Reported apart and not timed as
  incremental: splicing a whole new in-memory graph, which only in-memory callers ask for;
* ``splink``: Splink 5 ``deterministic_link`` + ``cluster_pairwise_predictions_at_threshold`` (DuckDB)
  on the same normalized identifiers (one blocking rule per identifier type), clusters compared with
  ours-without-limits;
* ``save`` (only with ``--save-url``, a scratch database): the full run's first save into an empty
  identity state, timed (PostgreSQL takes the big tables by COPY).

Recall is reported three ways. ``recall`` counts every true pair. Some pairs share no identifier chain
at all (a receipt with only a card never seen elsewhere, a guest order whose only email is garbage or
a second address): no linker that merges on identifiers can join them, so ``recall_ceiling`` is the
best any such linker reaches on this data and ``unlinkable_true_pair_share`` is its complement.
``recall_linkable`` counts only pairs some identifier chain joins (with no limits and no shared
threshold); it is what the linker and its rules decide, and it is the figure the 0.98 target holds.

The last line printed is one JSON object."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voyado_sync.identity.records import IdentityInput  # noqa: E402
from voyado_sync.identity.rules import load_rules  # noqa: E402


# Every timing is the best of this many runs, ours and Splink's alike: this shared 2-core machine
# swings by a quarter from one run to the next.
TIMED_RUNS = 3
# Splink's time on the machine the identity issue measured its targets on.
REFERENCE_SPLINK_S = 5.3


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(data / "records.parquet"), pd.read_parquet(data / "identifiers.parquet")


def _no_limit_rules(rules):
    return rules.model_copy(update={"limits": {}, "shared_threshold": 10**9, "strong_types": [], "no_bridge": {},
                                    "unmerge": []})


def phase_save(data: Path, url: str) -> dict:
    """A full run's first save into an empty identity state (PostgreSQL takes it by COPY)."""
    from voyado_sync.identity.incremental import full_run
    from voyado_sync.state.db import get_engine
    from voyado_sync.state.identity import IdentityStateStore, metadata

    records, identifiers = _load(data)
    result = full_run(IdentityInput(records, identifiers, pd.DataFrame(columns=["source", "record_id", "reason"])),
                      load_rules(ROOT / "data" / "identity_rules.yaml"))
    engine = get_engine(url)
    metadata.drop_all(engine)
    store = IdentityStateStore(engine)
    store.create()
    t = time.perf_counter()
    store.save(result, expected_run_seq=0)
    return {"save_s": time.perf_counter() - t, "dialect": engine.dialect.name}


def phase_full(data: Path) -> dict:
    from voyado_sync.identity.incremental import apply_changes, full_run
    from voyado_sync.identity.resolve import resolve

    rules = load_rules(ROOT / "data" / "identity_rules.yaml")
    records, identifiers = _load(data)
    inp = IdentityInput(records, identifiers, pd.DataFrame(columns=["source", "record_id", "reason"]))
    rss_loaded = _rss_mb()
    t = time.perf_counter()
    result = full_run(inp, rules)
    full_s = time.perf_counter() - t
    rss_full = _rss_mb()   # the peak of the first run; repeats only take the better time
    for _ in range(TIMED_RUNS - 1):
        t = time.perf_counter()
        full_run(inp, rules)
        full_s = min(full_s, time.perf_counter() - t)
    g = result.graph
    g.records[["record_key", "profile_id"]].to_parquet(data / "ours.parquet")
    # As normalization hands them to linking (status and reason stay categorical).
    norm = g.edges[["record_key", "id_type", "raw_value", "value", "status", "reason"]]
    norm.to_parquet(data / "normalized.parquet")
    # Linking + clustering alone, on the normalized identifiers.
    keys = records["record_key"]
    link = []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        res = resolve(norm, rules, record_keys=keys)
        link.append(time.perf_counter() - t)
    nolimit = []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        res_nl = resolve(norm, _no_limit_rules(rules), record_keys=keys)
        nolimit.append(time.perf_counter() - t)
    res_nl.clusters[["record_key", "cluster"]].to_parquet(data / "ours_nolimit.parquet")
    del res, res_nl

    # Incremental: 1 % of records changed.
    rng = np.random.default_rng(11)
    n = len(records)
    pick = rng.choice(n, size=max(3, n // 100), replace=False)
    third = len(pick) // 3
    edit, drop, clone = pick[:third], pick[third:2 * third], pick[2 * third:]
    ids = identifiers
    edit_keys = records["record_key"].to_numpy(dtype=object)[edit]
    upd_recs = records.iloc[edit].copy()
    upd_recs["observed_at"] = pd.Timestamp("2026-06-01", tz="UTC")
    upd_ids = ids[ids["record_key"].isin(edit_keys)].copy()
    is_mail = (upd_ids["id_type"] == "email").to_numpy()
    upd_ids.loc[is_mail, "raw_value"] = ("changed" + pd.Series(np.arange(is_mail.sum())).astype(str)
                                         + "@example-mail.se").to_numpy()
    new_recs = records.iloc[clone].copy()
    old_keys = new_recs["record_key"].to_numpy(dtype=object)
    new_keys = np.array([f"ct_order:new-{i}" for i in range(len(clone))], dtype=object)
    new_recs["record_key"], new_recs["source"] = new_keys, "ct_order"
    new_recs["record_id"] = [k.split(":", 1)[1] for k in new_keys]
    new_recs["observed_at"] = pd.Timestamp("2026-06-01", tz="UTC")
    cid = ids[ids["record_key"].isin(old_keys)].copy()
    cid["record_key"] = cid["record_key"].map(dict(zip(old_keys, new_keys)))
    removed = list(records["record_key"].to_numpy(dtype=object)[drop])
    changes = IdentityInput(pd.concat([upd_recs, new_recs], ignore_index=True),
                            pd.concat([upd_ids, cid], ignore_index=True), inp.rejects)
    inc_times = []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        inc = apply_changes(g, changes, rules, removed=removed)
        inc_times.append(time.perf_counter() - t)
    inc_s = min(inc_times)
    t = time.perf_counter()
    inc.graph  # the whole in-memory graph spliced together: only in-memory callers ask for it
    splice_s = time.perf_counter() - t
    # The same end state recomputed in full, with the same previous state for ids.
    gone = pd.Index(removed).append(pd.Index(edit_keys))
    all_recs = pd.concat([records[~records["record_key"].isin(gone)], changes.records], ignore_index=True)
    all_ids = pd.concat([ids[~ids["record_key"].isin(gone)], changes.identifiers], ignore_index=True)
    full2 = full_run(IdentityInput(all_recs, all_ids, inp.rejects), rules, previous=g)
    a = inc.graph.records[["record_key", "profile_id"]].sort_values("record_key").reset_index(drop=True)
    b = full2.graph.records[["record_key", "profile_id"]].sort_values("record_key").reset_index(drop=True)
    return {"full_s": full_s, "rss_loaded_mb": rss_loaded, "rss_full_mb": rss_full,
            "link_s": min(link), "link_nolimit_s": min(nolimit), "incremental_s": inc_s, "splice_s": splice_s,
            "incremental_scope_records": int(len(inc.scope_keys)), "incremental_changed_records": int(len(pick)),
            "incremental_equals_full": bool(a.equals(b)),
            "profiles": int(len(g.golden)), "decisions": int(len(result.decisions)),
            "outcomes": {k: int(v) for k, v in g.edges["outcome"].value_counts().items()}}


def phase_splink(data: Path) -> dict:
    import logging

    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    norm = pd.read_parquet(data / "normalized.parquet")
    records = pd.read_parquet(data / "records.parquet", columns=["record_key"])
    ok = norm[norm["status"] == "ok"]
    if ok.duplicated(["record_key", "id_type"]).any():
        raise SystemExit("the wide table needs at most one value per type per record")
    wide = ok.pivot(index="record_key", columns="id_type", values="value")
    wide = wide.reindex(records["record_key"]).reset_index().rename(columns={"record_key": "unique_id"})
    cols = [c for c in wide.columns if c != "unique_id"]
    times = []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        db = DuckDBAPI()
        sdf = db.register(wide)
        settings = SettingsCreator(link_type="dedupe_only", comparisons=[],
                                   blocking_rules_to_generate_predictions=[block_on(c) for c in cols],
                                   retain_matching_columns=False, retain_intermediate_calculation_columns=False)
        linker = Linker(sdf, settings)
        pairs = linker.inference.deterministic_link()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs).as_pandas_dataframe()
        times.append(time.perf_counter() - t)
    splink_s = min(times)
    clusters[["unique_id", "cluster_id"]].to_parquet(data / "splink.parquet")
    return {"splink_s": splink_s, "rss_splink_mb": _rss_mb(), "blocking_rules": cols}


def _pairs(counts: np.ndarray) -> int:
    return int((counts.astype(np.int64) * (counts.astype(np.int64) - 1) // 2).sum())


def quality(pred: pd.Series, truth: pd.Series, union: pd.Series) -> dict:
    df = pd.DataFrame({"p": pd.factorize(pred)[0], "t": pd.factorize(truth.reindex(pred.index))[0],
                       "u": pd.factorize(union.reindex(pred.index))[0]})
    true_pairs = _pairs(df.groupby("t").size().to_numpy())
    pred_pairs = _pairs(df.groupby("p").size().to_numpy())
    correct = _pairs(df.groupby(["p", "t"]).size().to_numpy())
    linkable = _pairs(df.groupby(["t", "u"]).size().to_numpy())   # true pairs some identifier chain joins
    return {"precision": correct / pred_pairs if pred_pairs else 1.0,
            "recall": correct / true_pairs if true_pairs else 1.0,
            "recall_linkable": correct / linkable if linkable else 1.0,
            "unlinkable_true_pair_share": 1 - linkable / true_pairs if true_pairs else 0.0,
            # What any linker that merges only on shared identifiers can reach on this data at best.
            "recall_ceiling": linkable / true_pairs if true_pairs else 1.0,
            "true_pairs": true_pairs, "predicted_pairs": pred_pairs}


def same_partition(a: pd.Series, b: pd.Series) -> bool:
    b = b.reindex(a.index)
    if b.isna().any():
        return False
    ca, cb = pd.factorize(a)[0], pd.factorize(b)[0]
    pairs = pd.DataFrame({"a": ca, "b": cb}).drop_duplicates()
    return not pairs["a"].duplicated().any() and not pairs["b"].duplicated().any()


def _child(phase: str, data: Path, *extra: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--data", str(data), *extra],
                         capture_output=True, text=True, check=False, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--skip-splink", action="store_true")
    ap.add_argument("--save-url", help="also time the first save of the full run into this SCRATCH state "
                                       "database (its identity tables are dropped first)")
    ap.add_argument("--phase", choices=["full", "splink", "save"])
    ap.add_argument("--data", type=Path)
    args = ap.parse_args()
    if args.phase:
        out = (phase_save(args.data, args.save_url) if args.phase == "save"
               else (phase_full if args.phase == "full" else phase_splink)(args.data))
        print(json.dumps(out))
        return

    from voyado_sync.identity.synthetic import SyntheticConfig, generate

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t = time.perf_counter()
        syn = generate(SyntheticConfig(records=args.records, seed=args.seed))
        gen_s = time.perf_counter() - t
        syn.input.records.to_parquet(data / "records.parquet")
        syn.input.identifiers.to_parquet(data / "identifiers.parquet")
        truth = syn.truth.set_index("record_key")["person_id"]
        n_ids = len(syn.input.identifiers)
        del syn
        full = _child("full", data)
        print(f"full run {full['full_s']:.2f}s, link {full['link_s']:.2f}s, incremental {full['incremental_s']:.2f}s",
              file=sys.stderr)
        splink = {} if args.skip_splink else _child("splink", data)
        save = _child("save", data, "--save-url", args.save_url) if args.save_url else {}
        ours = pd.read_parquet(data / "ours.parquet").set_index("record_key")["profile_id"]
        nolimit = pd.read_parquet(data / "ours_nolimit.parquet").set_index("record_key")["cluster"]
        q = quality(ours, truth, nolimit)
        result = {
            "benchmark": "identity", "records": int(len(ours)), "identifier_rows": int(n_ids),
            "generate_s": round(gen_s, 2), "timed_runs": TIMED_RUNS,
            **{k: round(v, 5) if isinstance(v, float) else v for k, v in q.items()},
            "full_run_s": round(full["full_s"], 2), "full_run_peak_rss_mb": round(full["rss_full_mb"]),
            "input_loaded_rss_mb": round(full["rss_loaded_mb"]),
            "link_cluster_s": round(full["link_s"], 2), "link_cluster_no_limits_s": round(full["link_nolimit_s"], 2),
            "incremental_s": round(full["incremental_s"], 3),
            "incremental_whole_graph_splice_s": round(full["splice_s"], 3),
            "incremental_changed_records": full["incremental_changed_records"],
            "incremental_scope_records": full["incremental_scope_records"],
            "incremental_share_of_full": round(full["incremental_s"] / full["full_s"], 4),
            "incremental_equals_full": full["incremental_equals_full"],
            "profiles": full["profiles"], "decisions": full["decisions"], "edge_outcomes": full["outcomes"],
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        if splink:
            theirs = pd.read_parquet(data / "splink.parquet").set_index("unique_id")["cluster_id"]
            result.update({
                "splink_s": round(splink["splink_s"], 2),
                "splink_identical_clusters": same_partition(nolimit, theirs),
                "link_cluster_vs_splink_ratio": round(full["link_s"] / splink["splink_s"], 3),
                # The full run as it would take on the reference machine, scaled by Splink's
                # time there and here (a calibration, not a measurement; the target stays full_run_s).
                "full_run_s_scaled_to_reference": round(full["full_s"] * REFERENCE_SPLINK_S / splink["splink_s"], 2),
                "no_limits_vs_splink_ratio": round(full["link_nolimit_s"] / splink["splink_s"], 3)})
        if save:
            result.update({"first_save_s": round(save["save_s"], 2), "first_save_dialect": save["dialect"]})
        targets = {"precision": q["precision"] >= 0.999, "recall_linkable": q["recall_linkable"] >= 0.98,
                   "full_run_s": full["full_s"] <= 15, "full_run_rss": full["rss_full_mb"] <= 2048,
                   "incremental_share": full["incremental_s"] <= 0.1 * full["full_s"]}
        if splink:
            targets["link_vs_splink"] = full["link_s"] <= 0.5 * splink["splink_s"]
        result["targets_met"] = targets
        print(json.dumps(result))


if __name__ == "__main__":
    main()
