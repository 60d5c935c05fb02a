"""Identity resolution assets (group ``identity``): thin wiring over ``voyado_sync.identity``.

One daily-partitioned multi-asset reads the day's source partitions (commercetools customers and
orders, POS receipts, Voyado contacts, customer erasure events), applies them to the identity graph
held in SQL (``state_db``) - recomputing only the components they reach - and writes the day's
results as Parquet: edges, the touched profiles, decisions, new aliases and the contact mapping.
The complete current state (all profiles with real identifiers for the sync) is in SQL.

Changing ``data/identity_rules.yaml`` makes the next run a full recompute with stable ids."""

# No ``from __future__ import annotations`` here: Dagster reads the config class from real annotations.
import json
from typing import Any

import dagster as dg
import pandas as pd

from voyado_sync.identity.explain import outcome_counts, reason_counts
from voyado_sync.identity.incremental import RunResult, apply_changes, full_run, graph_with_changes
from voyado_sync.identity.records import IdentityInput, extract
from voyado_sync.identity.rules import load_rules
from voyado_sync.partitions import daily_partitions
from voyado_sync.privacy import hash_value
from voyado_sync.resources.state import PartitionStoreResource, StateDatabase
from voyado_sync.settings import get_settings
from voyado_sync.state.identity import IdentityStateStore, StaleIdentityState
from voyado_sync.storage import PartitionStore

GROUP = "identity"
EDGES_KEY = dg.AssetKey(["identity", "edges"])
PROFILES_KEY = dg.AssetKey(["identity", "profiles"])
DECISIONS_KEY = dg.AssetKey(["identity", "decisions"])
ALIASES_KEY = dg.AssetKey(["identity", "aliases"])
CONTACT_MAP_KEY = dg.AssetKey(["identity", "contact_map"])
SOURCE_DATASETS = {  # argument of records.extract -> (dataset, upstream asset)
    "customers": ("commercetools/customers", dg.AssetKey(["commercetools", "customers"])),
    "orders": ("commercetools/orders", dg.AssetKey(["commercetools", "orders"])),
    "pos_receipts": ("pos/receipts", dg.AssetKey(["pos", "receipts"])),
    "voyado_contacts": ("voyado/contacts", dg.AssetKey(["voyado", "contacts"])),
}
ERASURE = ("commercetools/erasure_events", dg.AssetKey(["commercetools", "erasure_events"]))
GIANT_CHECK = "no_giant_profile"
_UPSTREAM = [key for _, key in SOURCE_DATASETS.values()] + [ERASURE[1]]


class IdentityConfig(dg.Config):
    full: bool = False  # recompute every component (ids stay stable), not only what the day touched


def _spec(key: dg.AssetKey, description: str, deps: list) -> dg.AssetSpec:
    return dg.AssetSpec(key, group_name=GROUP, kinds={"pandas", "parquet"}, deps=deps, description=description)


def _specs() -> list[dg.AssetSpec]:
    # Built by a function: a module-level list of AssetSpecs would be auto-loaded as external assets.
    return [
        _spec(EDGES_KEY, "Identifier edges (record, identifier) of the records this partition touched, with "
              "their outcome: merged, preserved_conflict, shared, blocked or invalid.", _UPSTREAM),
        _spec(PROFILES_KEY, "Golden profiles touched by this partition (stable profile_id, identifier lists with "
              "real values, survivorship attributes). The full current set lives in SQL (identity_golden).",
              [EDGES_KEY]),
        _spec(DECISIONS_KEY, "Decision log: every merge and refusal with rule and evidence; identifiers hashed.",
              [EDGES_KEY]),
        _spec(ALIASES_KEY, "Profile ids retired by this partition (merged into an older profile) -> surviving id.",
              [EDGES_KEY]),
        _spec(CONTACT_MAP_KEY, "Profile -> Voyado contact: existing contact wins, several contacts are reported as "
              "a conflict (never deleted), no contact -> create.", [PROFILES_KEY]),
    ]


def _raw(store: PartitionStore, dataset: str, key: str) -> list[str]:
    """The day's raw documents; a missing partition file is an empty day, not an error."""
    frame = store.read(dataset, [key], columns=None) if store.exists(dataset, key) else pd.DataFrame()
    return [r for r in frame["raw"] if isinstance(r, str)] if "raw" in frame.columns else []


def _erased_customers(store: PartitionStore, key: str) -> list[str]:
    frame = store.read(ERASURE[0], [key]) if store.exists(ERASURE[0], key) else pd.DataFrame()
    if not len(frame) or "resource_id" not in frame.columns:
        return []
    sel = frame["resource_type_id"].eq("customer") if "resource_type_id" in frame.columns else True
    return sorted({f"ct_customer:{rid}" for rid in frame.loc[sel, "resource_id"].dropna()})


def read_day(store: PartitionStore, key: str, rules) -> tuple[IdentityInput, list[str]]:
    docs = {arg: _raw(store, dataset, key) for arg, (dataset, _) in SOURCE_DATASETS.items()}
    return extract(rules=rules, **docs), _erased_customers(store, key)


def run_day(state: IdentityStateStore, inp: IdentityInput, removed: list[str], rules, full: bool) -> RunResult:
    """Read, apply, save; if another run saved meanwhile, redo once on the fresh state. A day's
    incremental run reads only the region of the stored graph its changes can reach."""
    for attempt in (1, 2):
        source = state.source()
        if source.run_seq == 0:
            result = full_run(inp, rules)
        elif full:
            graph = state.load()
            result = full_run(graph_with_changes(graph, inp, removed), rules, previous=graph)
        else:
            result = apply_changes(source, inp, rules, removed=removed)
        try:
            state.save(result, expected_run_seq=source.run_seq)
            return result
        except StaleIdentityState:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _edges_frame(edges: pd.DataFrame) -> pd.DataFrame:
    out = edges.copy()
    for c in ("status", "reason", "outcome", "rule"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Arrow-backed list columns as plain Python lists: the pandas metadata of an ArrowDtype list does
    not round-trip through Parquet for readers that call ``to_pandas()``."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.ArrowDtype):
            out[c] = pd.Series(out[c].array._pa_array.to_pylist(), index=out.index, dtype=object)
    return out


def _decision_sample(decisions: pd.DataFrame, n: int = 10) -> list[dict[str, Any]]:
    """Already hashed; one of each decision kind first, so a refusal is visible next to merges."""
    if not len(decisions):
        return []
    first = decisions.drop_duplicates("decision")
    rest = decisions.drop(first.index).head(max(0, n - len(first)))
    sample = pd.concat([first, rest]).head(n)
    cols = ["decision", "profile_id", "rule", "id_type", "value_hash", "record_count", "evidence"]
    return json.loads(sample[cols].to_json(orient="records"))


def _preview(profiles: pd.DataFrame, n: int = 10) -> str:
    if not len(profiles):
        return "(no profiles touched)"
    p = profiles.sort_values("identifier_count", ascending=False).head(n)
    view = pd.DataFrame({
        "profile_id": p["profile_id"], "records": p["record_count"], "identifiers": p["identifier_count"],
        "sources": p["sources"],
        "email": [None if not isinstance(v, str) else hash_value(v, "email") for v in p["email"]],
        "mobile_phone": [None if not isinstance(v, str) else hash_value(v, "phone") for v in p["mobile_phone"]],
        "ct_customer_id": p["ct_customer_id"], "voyado_contact_id": p["voyado_contact_id"]})
    return view.to_markdown(index=False)


@dg.multi_asset(
    specs=_specs(),
    partitions_def=daily_partitions,
    pool="identity_state",  # one identity run at a time: the graph is shared state
    check_specs=[dg.AssetCheckSpec(GIANT_CHECK, asset=PROFILES_KEY, blocking=True,
                                   description="Fails when a profile holds more distinct identifiers than "
                                               "giant_profile_identifiers in the rules file.")],
    description="Identity resolution for one day of source changes.",
)
def identity(context: dg.AssetExecutionContext, config: IdentityConfig, state_db: StateDatabase,
             partition_store: PartitionStoreResource):
    key = context.partition_key
    store = partition_store.store()
    rules = load_rules(config_dir=get_settings().config_dir)
    inp, removed = read_day(store, key, rules)
    state = IdentityStateStore(state_db.engine())
    result = run_day(state, inp, removed, rules, config.full)
    whole = state.summary(rules.giant_profile_identifiers)

    edges = _edges_frame(result.edges)
    store.write_frame("identity/edges", key, edges)
    store.write_frame("identity/profiles", key, _parquet_safe(result.profiles))
    store.write_frame("identity/decisions", key, result.decisions)
    store.write_frame("identity/aliases", key, result.aliases)
    store.write_frame("identity/contact_map", key, result.contact_map)

    outcomes = outcome_counts(result.edges)
    biggest, giants = whole["largest_profile_identifiers"], whole["giant_profile_count"]
    context.log.info(f"identity {key}: {result.mode} run over {len(result.scope_keys)} records, "
                     f"{len(result.profiles)} profiles touched, outcomes {outcomes}")
    common = {"mode": result.mode, "run_seq": result.run_seq}
    yield dg.MaterializeResult(asset_key=EDGES_KEY, metadata={
        **common, "dagster/row_count": len(edges), **{f"outcome/{k}": v for k, v in outcomes.items()},
        "refusals_by_reason": dg.MetadataValue.json(reason_counts(result.edges)),
        "rejected_documents": len(inp.rejects),
        "rejects_sample": dg.MetadataValue.json(inp.rejects.head(5).to_dict(orient="records"))})
    yield dg.MaterializeResult(asset_key=PROFILES_KEY, metadata={
        **common, "dagster/row_count": len(result.profiles), "profiles_total": whole["profiles_total"],
        "largest_profile_identifiers": biggest, "largest_profile_records": whole["largest_profile_records"],
        "retired_ids": len(result.retired), "preview": dg.MetadataValue.md(_preview(result.profiles))})
    yield dg.MaterializeResult(asset_key=DECISIONS_KEY, metadata={
        **common, "dagster/row_count": len(result.decisions),
        "by_decision": dg.MetadataValue.json({str(k): int(v) for k, v in
                                              result.decisions["decision"].value_counts().items()}),
        "sample": dg.MetadataValue.json(_decision_sample(result.decisions))})
    yield dg.MaterializeResult(asset_key=ALIASES_KEY, metadata={
        **common, "dagster/row_count": len(result.aliases), "aliases_total": whole["aliases_total"]})
    cm = result.contact_map
    yield dg.MaterializeResult(asset_key=CONTACT_MAP_KEY, metadata={
        **common, "dagster/row_count": len(cm),
        "by_status": dg.MetadataValue.json({str(k): int(v) for k, v in cm["status"].value_counts().items()})
        if len(cm) else dg.MetadataValue.json({})})
    yield dg.AssetCheckResult(
        check_name=GIANT_CHECK, asset_key=PROFILES_KEY, passed=giants == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"bound": rules.giant_profile_identifiers, "largest_profile_identifiers": biggest,
                  "giant_profiles": dg.MetadataValue.json(whole["giant_profiles"])},
        description=None if giants == 0 else
        f"{giants} profile(s) exceed {rules.giant_profile_identifiers} identifiers")
