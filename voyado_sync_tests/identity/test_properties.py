"""Property-based checks (hypothesis) on small random identity graphs built to collide a lot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voyado_sync.identity.incremental import apply_changes, full_run
from voyado_sync.identity.resolve import MERGED

from .helpers import RULES, as_input, groups

POOLS = {
    "ct_customer_id": ["c1", "c2", "c3"],
    "voyado_contact_id": ["v1", "v2"],
    "member_number": ["M1", "M2", "0000"],
    "email": ["a@mail.se", "A@Mail.se ", "b@mail.se", "c@mail.se", "d@mail.se", "noreply@x.se", "bad@"],
    "phone": ["0701234567", "+46 70 123 45 67", "0707654321", "0702223344", "123", ""],
    "card_id": ["K1", "K2"],
}
SOURCES = ["ct_customer", "ct_order", "pos_receipt", "voyado_contact"]

record = st.tuples(st.sampled_from(SOURCES),
                   st.lists(st.tuples(st.sampled_from(list(POOLS)), st.integers(0, 6)), min_size=1, max_size=4),
                   st.integers(0, 400))


def build(recs) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, ids = [], []
    for i, (source, idents, day) in enumerate(recs):
        key = f"{source}:r{i}"
        rows.append((key, source, f"r{i}", "SE", pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=day),
                     f"F{i % 3}", None))
        for t, k in idents:
            ids.append((key, t, POOLS[t][k % len(POOLS[t])], "SE"))
    records = pd.DataFrame(rows, columns=["record_key", "source", "record_id", "country", "observed_at",
                                          "first_name", "last_name"])
    identifiers = pd.DataFrame(ids, columns=["record_key", "id_type", "raw_value", "country"]).drop_duplicates()
    return records, identifiers


FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(record, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_result_is_independent_of_input_order(recs, rnd):
    records, identifiers = build(recs)
    a = full_run(as_input(records, identifiers), RULES)
    perm_r = records.sample(frac=1, random_state=rnd.randint(0, 10**6)).reset_index(drop=True)
    perm_i = identifiers.sample(frac=1, random_state=rnd.randint(0, 10**6)).reset_index(drop=True)
    b = full_run(as_input(perm_r, perm_i), RULES)
    assert groups(a) == groups(b)
    pa_ = a.graph.records.set_index("record_key")["profile_id"].sort_index()
    pb_ = b.graph.records.set_index("record_key")["profile_id"].sort_index()
    assert pa_.to_dict() == pb_.to_dict()
    ga = a.profiles.set_index("profile_id").sort_index()[["email", "mobile_phone", "first_name", "ct_customer_id"]]
    gb = b.profiles.set_index("profile_id").sort_index()[["email", "mobile_phone", "first_name", "ct_customer_id"]]
    assert ga.astype(object).fillna("").to_dict() == gb.astype(object).fillna("").to_dict()


@FAST
@given(st.lists(record, min_size=1, max_size=25))
def test_rerun_is_idempotent(recs):
    records, identifiers = build(recs)
    first = full_run(as_input(records, identifiers), RULES)
    second = full_run(as_input(records, identifiers), RULES, previous=first.graph)
    assert second.graph.records.set_index("record_key")["profile_id"].to_dict() == \
        first.graph.records.set_index("record_key")["profile_id"].to_dict()
    assert second.aliases.empty and second.retired == []
    assert not second.decisions["decision"].astype(str).str.startswith("profile_").any()


@FAST
@given(st.lists(record, min_size=1, max_size=30))
def test_limits_are_never_violated(recs):
    records, identifiers = build(recs)
    r = full_run(as_input(records, identifiers), RULES)
    e = r.graph.edges.merge(r.graph.records[["record_key", "profile_id"]], on="record_key")
    merged = e[e["outcome"] == MERGED]
    counts = merged.drop_duplicates(["profile_id", "id_type", "value"]).groupby(["profile_id", "id_type"]).size()
    for (pid, t), n in counts.items():
        assert n <= RULES.limits.get(t, 10**9), (pid, t, n)
    # Garbage never links: every blocked/invalid occurrence is counted with a reason.
    bad = e[e["outcome"].isin(["blocked", "invalid"])]
    assert bad["rule"].notna().all()


@FAST
@given(st.lists(record, min_size=2, max_size=25), st.lists(record, max_size=6), st.data())
def test_incremental_equals_full_recompute(base, extra, data):
    records, identifiers = build(base + extra)
    n_base = len(base)
    base_keys = records["record_key"].iloc[:n_base]
    start = full_run(as_input(records.iloc[:n_base], identifiers[identifiers["record_key"].isin(base_keys)]), RULES)
    # Day two: the extra records arrive, some base records change identifiers, some are deleted.
    changed = data.draw(st.lists(st.integers(0, n_base - 1), max_size=4, unique=True))
    removed_pos = data.draw(st.lists(st.integers(0, n_base - 1), max_size=3, unique=True))
    removed = sorted({records["record_key"].iloc[i] for i in removed_pos} -
                     {records["record_key"].iloc[i] for i in changed})
    new_keys = list(records["record_key"].iloc[n_base:]) + [records["record_key"].iloc[i] for i in changed]
    upd_recs = records[records["record_key"].isin(new_keys)].copy()
    upd_recs["observed_at"] = pd.Timestamp("2027-01-01", tz="UTC")  # newer than any base record
    upd_ids = identifiers[identifiers["record_key"].isin(new_keys)].copy()
    rng = np.random.default_rng(len(upd_ids))
    flip = rng.random(len(upd_ids)) < 0.5
    upd_ids.loc[flip, "raw_value"] = [POOLS[t][rng.integers(0, len(POOLS[t]))] for t in upd_ids.loc[flip, "id_type"]]
    upd_ids = upd_ids.drop_duplicates()
    inc = apply_changes(start.graph, as_input(upd_recs, upd_ids), RULES, removed=removed)
    gone = set(removed) | set(new_keys)
    all_recs = pd.concat([records.iloc[:n_base][~records["record_key"].iloc[:n_base].isin(gone)], upd_recs])
    all_ids = pd.concat([identifiers[identifiers["record_key"].isin(base_keys) & ~identifiers["record_key"].isin(gone)],
                         upd_ids])
    full = full_run(as_input(all_recs, all_ids), RULES, previous=start.graph)
    a = inc.graph.records.set_index("record_key")["profile_id"].sort_index()
    b = full.graph.records.set_index("record_key")["profile_id"].sort_index()
    assert a.to_dict() == b.to_dict()
    assert sorted(inc.graph.aliases["alias_id"]) == sorted(full.graph.aliases["alias_id"])
