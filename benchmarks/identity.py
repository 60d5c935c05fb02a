"""Identity resolution benchmark: quality vs ground truth, speed and memory, and Splink side by side.

    .venv/bin/python benchmarks/identity.py --records 1000000

Data: ``voyado_sync.identity.synthetic`` (every noise of the identity issue: households sharing a
phone, second emails and accounts, recycled phones, guest orders, POS members with only a phone,
garbage identifiers, formatting noise). Each measured phase runs in a fresh child process so its
peak RSS is its own (the first run's); every time is the best of ``TIMED_RUNS`` runs, for Splink too.
Phases:

* ``full``: ``incremental.full_run`` from raw identifier rows (normalization, linking + clustering
  with the rules, stable ids, golden records, decision log);
* ``link``: ``resolve.resolve`` alone on the normalized identifiers, timed twice: with the shipped rules
  (limits, no-bridge, shared identifiers: what production runs, also scored against the truth), and
  with the same deterministic rules as Splink's (no limits, no bridges, nothing shared, no manual
  unmerge: every record joined to every record that shares a value), the problem timed against Splink;
* ``components``: plain ``scipy.sparse.csgraph.connected_components`` over the same normalized
  identifiers (records and distinct (type, value) pairs as nodes, one edge per accepted identifier row),
  from the same strings: the floor any identifier linker costs. ``link_vs_components`` = our same-rules
  link / this. Most of it is turning strings into integers; the graph part alone is reported too;
* ``incremental``: 1 % of the records changed (edited identifiers, deleted, new), applied with
  ``apply_changes``, then checked against a full recompute. Timed: reading the region the changes
  reach and recomputing it into the region's new state (what the SQL state saves; a day in
  production reads that region from SQL, never the whole graph). Reported apart and not timed as
  incremental: splicing a whole new in-memory graph, which only in-memory callers ask for;
* ``splink``: Splink 5 ``deterministic_link`` + ``cluster_pairwise_predictions_at_threshold`` (DuckDB)
  on the same normalized identifiers (one blocking rule per identifier type), clusters compared with
  ours on the same rules. Its set-up (DuckDB connection, registering the table, settings, the linker)
  is reported apart from its linking (the two calls above), and only the linking is compared:
  ``link_vs_splink_same_rules`` = our same-rules link / Splink's linking. The wide table Splink needs
  (one column per identifier type) is built outside any timing;
* ``save`` (only with ``--save-url``, a scratch database): the full run's first save into an empty
  identity state, timed (PostgreSQL takes the big tables by COPY).

Recall is reported three ways. ``recall`` counts every true pair. Some pairs share no identifier chain
at all (a receipt with only a card never seen elsewhere, a guest order whose only email is garbage or
a second address): no linker that merges on identifiers can join them, so ``recall_ceiling`` is the
best any such linker reaches on this data and ``unlinkable_true_pair_share`` is its complement.
``recall_linkable`` counts only pairs some identifier chain joins (with no limits and no shared
threshold); it is what the linker and its rules decide, and it is the figure the 0.98 target holds.

Targets (``targets_met``, all of them make ``meets_target``): precision >= 0.999, recall_linkable >= 0.98,
full run <= 15 s and <= 2 GB, incremental <= 10 % of the full run, link_vs_splink_same_rules <= 0.5,
link_vs_components <= 2.0.

The last line printed is one JSON object; the exit status is 1 when a target is missed."""

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
# Splink's whole time (set-up and linking) on the machine the identity issue measured its targets on.
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


def plain_components(norm: pd.DataFrame, record_keys: pd.Series) -> tuple[np.ndarray, float]:
    """The floor: connected components of records x distinct (type, value) over the accepted identifier
    rows, from the same strings our resolver starts from (record keys looked up, values factorized).
    Also how long the graph part alone took (building it and ``connected_components`` on integer ids)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from voyado_sync.identity.keys import index_in

    ok = norm[(norm["status"] == "ok").to_numpy()]
    rec = index_in(ok["record_key"], pd.Index(record_keys))
    vcode, _ = pd.factorize(ok["value"])
    tcode, types = pd.factorize(ok["id_type"])
    node, distinct = pd.factorize(vcode.astype(np.int64) * len(types) + tcode)
    t = time.perf_counter()
    n = len(record_keys) + len(distinct)
    graph = coo_matrix((np.ones(len(rec), dtype=np.int8), (rec, len(record_keys) + node)), shape=(n, n)).tocsr()
    labels = connected_components(graph, directed=False)[1][:len(record_keys)]
    return labels, time.perf_counter() - t


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
    components, graph_only = [], []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        plain, graph_s = plain_components(norm, keys)
        components.append(time.perf_counter() - t)
        graph_only.append(graph_s)
    pd.DataFrame({"record_key": keys, "component": plain}).to_parquet(data / "components.parquet")

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
            "link_s": min(link), "link_nolimit_s": min(nolimit), "components_s": min(components),
            "components_graph_s": min(graph_only),
            "incremental_s": inc_s, "splice_s": splice_s,
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
    setups, links = [], []
    for _ in range(TIMED_RUNS):
        t = time.perf_counter()
        db = DuckDBAPI()
        sdf = db.register(wide)
        settings = SettingsCreator(link_type="dedupe_only", comparisons=[],
                                   blocking_rules_to_generate_predictions=[block_on(c) for c in cols],
                                   retain_matching_columns=False, retain_intermediate_calculation_columns=False)
        linker = Linker(sdf, settings)
        t_link = time.perf_counter()
        pairs = linker.inference.deterministic_link()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs).as_pandas_dataframe()
        links.append(time.perf_counter() - t_link)
        setups.append(t_link - t)
    clusters[["unique_id", "cluster_id"]].to_parquet(data / "splink.parquet")
    return {"splink_link_s": min(links), "splink_setup_s": min(setups), "rss_splink_mb": _rss_mb(),
            "blocking_rules": cols}


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


def main() -> int:
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
        return 0

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
        print(f"full run {full['full_s']:.2f}s, link {full['link_s']:.2f}s (same rules as Splink "
              f"{full['link_nolimit_s']:.2f}s, plain components {full['components_s']:.2f}s), "
              f"incremental {full['incremental_s']:.2f}s", file=sys.stderr)
        splink = {} if args.skip_splink else _child("splink", data)
        save = _child("save", data, "--save-url", args.save_url) if args.save_url else {}
        ours = pd.read_parquet(data / "ours.parquet").set_index("record_key")["profile_id"]
        nolimit = pd.read_parquet(data / "ours_nolimit.parquet").set_index("record_key")["cluster"]
        plain = pd.read_parquet(data / "components.parquet").set_index("record_key")["component"]
        q = quality(ours, truth, nolimit)
        q_same = quality(nolimit, truth, nolimit)
        link_vs_components = full["link_nolimit_s"] / full["components_s"]
        result = {
            "benchmark": "identity", "records": int(len(ours)), "identifier_rows": int(n_ids),
            "generate_s": round(gen_s, 2), "timed_runs": TIMED_RUNS,
            **{k: round(v, 5) if isinstance(v, float) else v for k, v in q.items()},
            "same_rules_precision": round(q_same["precision"], 5), "same_rules_recall": round(q_same["recall"], 5),
            "full_run_s": round(full["full_s"], 2), "full_run_peak_rss_mb": round(full["rss_full_mb"]),
            "input_loaded_rss_mb": round(full["rss_loaded_mb"]),
            "link_shipped_rules_s": round(full["link_s"], 3), "link_same_rules_s": round(full["link_nolimit_s"], 3),
            "components_s": round(full["components_s"], 3), "components_graph_only_s": round(full["components_graph_s"], 3),
            "components_identical_clusters": same_partition(nolimit, plain),
            "link_vs_components": round(link_vs_components, 3),
            "link_shipped_rules_vs_components": round(full["link_s"] / full["components_s"], 3),
            "incremental_s": round(full["incremental_s"], 3),
            "incremental_whole_graph_splice_s": round(full["splice_s"], 3),
            "incremental_changed_records": full["incremental_changed_records"],
            "incremental_scope_records": full["incremental_scope_records"],
            "incremental_share_of_full": round(full["incremental_s"] / full["full_s"], 4),
            "incremental_equals_full": full["incremental_equals_full"],
            "profiles": full["profiles"], "decisions": full["decisions"], "edge_outcomes": full["outcomes"],
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        targets = {"precision": q["precision"] >= 0.999, "recall_linkable": q["recall_linkable"] >= 0.98,
                   "full_run_s": full["full_s"] <= 15, "full_run_rss": full["rss_full_mb"] <= 2048,
                   "incremental_share": full["incremental_s"] <= 0.1 * full["full_s"],
                   "link_vs_components": link_vs_components <= 2.0}
        if splink:
            theirs = pd.read_parquet(data / "splink.parquet").set_index("unique_id")["cluster_id"]
            same_rules_ratio = full["link_nolimit_s"] / splink["splink_link_s"]
            splink_total = splink["splink_setup_s"] + splink["splink_link_s"]
            result.update({
                "splink_setup_s": round(splink["splink_setup_s"], 3), "splink_link_s": round(splink["splink_link_s"], 3),
                "splink_identical_clusters": same_partition(nolimit, theirs),
                "link_vs_splink_same_rules": round(same_rules_ratio, 3),
                "link_shipped_rules_vs_splink": round(full["link_s"] / splink["splink_link_s"], 3),
                # The full run as it would take on the reference machine, scaled by Splink's
                # whole time there (5.3 s) and here (a calibration, not a measurement).
                "full_run_s_scaled_to_reference": round(full["full_s"] * REFERENCE_SPLINK_S / splink_total, 2)})
            targets["link_vs_splink_same_rules"] = same_rules_ratio <= 0.5
        if save:
            result.update({"first_save_s": round(save["save_s"], 2), "first_save_dialect": save["dialect"]})
        result["targets_met"] = targets
        result["meets_target"] = all(targets.values())
        print(json.dumps(result))
        return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
