"""Partition-level freshness checks fail until the closed day's partition lands, then pass."""

import dagster as dg

from voyado_sync.chain import CHAIN, FRESHNESS_TRACKED
from voyado_sync.defs.freshness import partition_freshness_checks
from voyado_sync.partitions import daily_partitions


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, bool]:
    result = defs.resolve_job_def("freshness").execute_in_process(instance=instance)
    return {f"{e.asset_key.to_user_string()}": e.passed for e in result.get_asset_check_evaluations()}


def test_partition_freshness_checks_track_the_latest_closed_day():
    keys = [dg.AssetKey(k) for k in FRESHNESS_TRACKED]
    defs = dg.Definitions(
        assets=[dg.AssetSpec(k, partitions_def=daily_partitions) for k in keys],
        asset_checks=partition_freshness_checks,
        jobs=[dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*partition_freshness_checks))])
    with dg.instance_for_test() as instance:
        before = _evaluate(defs, instance)
        assert set(before) == {k.to_user_string() for k in keys} and not any(before.values())
        # The open day and the last two closed days land (whichever the deadline expects now).
        for key in keys:
            for partition in daily_partitions.get_partition_keys()[-3:]:
                instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
        after = _evaluate(defs, instance)
        assert all(after.values()), after


def test_the_daily_run_leaves_the_freshness_checks_to_their_sensor():
    from voyado_sync.definitions import defs

    graph = defs().resolve_asset_graph()
    built = {key for checks in partition_freshness_checks for key in checks.check_keys}
    assert len(built) == len(FRESHNESS_TRACKED)
    in_run = CHAIN.resolve_checks(graph)
    assert in_run and not built & in_run
