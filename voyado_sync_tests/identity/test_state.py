"""Identity graph persistence on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

from voyado_sync.identity.incremental import apply_changes
from voyado_sync.identity.records import extract
from voyado_sync.state.db import get_engine
from voyado_sync.state.identity import IdentityStateStore, StaleIdentityState

from .helpers import RULES, customer, order, profile_of, receipt, run


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> IdentityStateStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    return IdentityStateStore(get_engine(url))


def test_roundtrip_incremental_save_and_stale_writer(store):
    first = run([customer("c1", "a@mail.se", "0701234567"), customer("c2", "b@mail.se")],
                [order("o1", None, "a@mail.se")])
    store.save(first, expected_run_seq=0)
    loaded = store.load()
    assert loaded.run_seq == 1 and loaded.rules_fingerprint == first.graph.rules_fingerprint
    assert profile_of_graph(loaded) == profile_of(first)
    assert set(loaded.golden["profile_id"]) == set(first.graph.golden["profile_id"])
    g = loaded.golden.set_index("profile_id")
    pid = profile_of(first)["ct_customer:c1"]
    assert g.loc[pid, "email"] == "a@mail.se" and g.loc[pid, "mobile_phone"] == "+46701234567"
    assert list(g.loc[pid, "emails"]) == ["a@mail.se"]

    # Day two on the loaded state: a receipt joins c2, and c1's profile absorbs nothing.
    second = run(receipts=[receipt("r1", email="b@mail.se")], graph=loaded)
    store.save(second, expected_run_seq=1)
    again = store.load()
    assert profile_of_graph(again) == profile_of(second)
    assert len(again.edges) == len(second.graph.edges)
    with pytest.raises(StaleIdentityState):
        store.save(second, expected_run_seq=1)  # another run already moved the state on


def test_aliases_resolve_to_the_survivor(store):
    first = run(orders=[order("o1", None, "x@mail.se"), order("o2", None, None, "0701110000")])
    store.save(first, expected_run_seq=0)
    second = apply_changes(store.load(), _input(order("o3", None, "x@mail.se", "0701110000")), RULES)
    store.save(second, expected_run_seq=1)
    [retired] = second.retired
    survivor = profile_of(second)["ct_order:o3"]
    assert store.profile_for(retired) == survivor
    assert store.profile_for(survivor) == survivor


def _input(*orders):
    return extract(orders=orders, rules=RULES)


def profile_of_graph(graph) -> dict[str, str]:
    return dict(zip(graph.records["record_key"], graph.records["profile_id"]))


def test_postgres_copy_stores_what_inserts_store(pg_url, tmp_path, monkeypatch):
    """A big save goes to PostgreSQL by COPY: forced here for a small graph whose values need COPY's
    escaping (tab, newline, backslash, empty and missing values), it loads back equal to the same
    graph saved by INSERTs into SQLite."""
    from voyado_sync.state import identity as state_identity

    result = run([customer("c1", "a@mail.se", "0701234567", first="Tab\there"),
                  customer("c2", "back\\slash@mail.se", first="new\nline"), customer("c3", "", first="")],
                 [order("o1", None, "a@mail.se"), order("o2", None, "  weird\r@x.se", "n/a")])
    IdentityStateStore(get_engine(f"sqlite:///{tmp_path / 'ref.db'}")).save(result, expected_run_seq=0)
    reference = IdentityStateStore(get_engine(f"sqlite:///{tmp_path / 'ref.db'}")).load()
    copied = []
    real_copy = state_identity._copy
    monkeypatch.setattr(state_identity, "_COPY_ROWS", 1)
    monkeypatch.setattr(state_identity, "_copy", lambda conn, table, df: (copied.append(table.name),
                                                                          real_copy(conn, table, df)))
    pg = IdentityStateStore(get_engine(pg_url))
    pg.save(result, expected_run_seq=0)
    loaded = pg.load()
    assert {"identity_records", "identity_edges", "identity_golden"} <= set(copied)
    for name in ("records", "edges", "profiles", "golden"):
        a, b = getattr(loaded, name), getattr(reference, name)
        key = "record_key" if name in ("records", "edges") else "profile_id"
        order_by = [key, "id_type", "raw_value"] if name == "edges" else [key]
        a, b = (x.sort_values(order_by).reset_index(drop=True).astype(object).where(x.notna(), None) for x in (a, b))
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert "Tab\there" in set(loaded.records["first_name"]) and "back\\slash@mail.se" in set(loaded.edges["raw_value"])


def test_load_of_an_empty_database_is_an_empty_graph(store):
    g = store.load()
    assert g.run_seq == 0 and g.records.empty and isinstance(g.records, pd.DataFrame)


def test_a_day_on_the_sql_state_reads_only_its_region_and_equals_the_in_memory_run(store, monkeypatch):
    """Three days: o1's and o2's profiles merge through o3 (an alias), then o9's profile joins them
    (another alias; an older alias must follow its target to the survivor). The SQL source never loads the whole graph,
    and every day's result equals the same day run on the in-memory graph."""
    days = [
        [order("o1", None, "x@mail.se"), order("o2", None, None, "0701110000"), order("o9", None, "far@mail.se"),
         order("o10", None, "untouched@mail.se", "0709998877")],  # o10: a region no later day reaches
        [order("o3", None, "x@mail.se", "0701110000")],
        # An account with o1's email places an order under o9's email: both profiles join.
        [customer("c1", "x@mail.se"), order("o6", "c1", "far@mail.se")],
    ]
    mem = run(orders=days[0])
    store.save(mem, expected_run_seq=0)
    whole_load = store.load
    monkeypatch.setattr(store, "load", lambda: pytest.fail("an incremental day loaded the whole graph"))
    for docs in days[1:]:
        source = store.source()
        assert source.run_seq == mem.run_seq
        changes = extract(customers=[d for d in docs if "email" in d], orders=[d for d in docs if "email" not in d],
                          rules=RULES)
        day = apply_changes(source, changes, RULES)
        mem = apply_changes(mem.graph, changes, RULES)
        assert dict(zip(day.records["record_key"], day.records["profile_id"])) == \
            dict(zip(mem.records["record_key"], mem.records["profile_id"]))
        assert "ct_order:o10" not in set(day.scope_keys)
        assert day.retired == mem.retired and day.decisions["decision"].tolist() == mem.decisions["decision"].tolist()
        store.save(day, expected_run_seq=source.run_seq)
    monkeypatch.setattr(store, "load", whole_load)
    loaded = store.load()
    assert profile_of_graph(loaded) == profile_of(mem)
    assert sorted(zip(loaded.aliases["alias_id"], loaded.aliases["profile_id"])) == \
        sorted(zip(mem.graph.aliases["alias_id"], mem.graph.aliases["profile_id"]))
    assert len(loaded.aliases) >= 2 and set(loaded.aliases["profile_id"]) <= set(loaded.records["profile_id"])
    summary = store.summary(giant_bound=2)
    assert summary["profiles_total"] == len(set(loaded.records["profile_id"]))
    assert summary["aliases_total"] == len(loaded.aliases) and summary["giant_profile_count"] >= 1
