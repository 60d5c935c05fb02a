"""The daily chain: which assets and checks one day's run materializes, shared by the job, the
schedules and the delta sensor (which live in different `defs/` modules, each a leaf)."""

import dagster as dg

DAILY_JOB = "daily_sync"
REFERENCE = dg.AssetSelection.assets(["voyado", "target_audiences"])
# Partition freshness: did these land by the deadline? Judged by their own sensor, not inside the run.
FRESHNESS_TRACKED = [["commercetools", "orders"], ["commercetools", "customers"], ["pos", "receipts"],
                     ["identity", "profiles"], ["voyado", "receipts_sync"], ["voyado", "contacts_sync"]]
FRESHNESS_CHECK = "freshness_check"  # the name dg.build_time_partition_freshness_checks gives its checks
CHAIN = (dg.AssetSelection.groups("commercetools", "identity", "voyado", "sync") - REFERENCE
         - dg.AssetSelection.checks(*(dg.AssetCheckKey(dg.AssetKey(k), FRESHNESS_CHECK) for k in FRESHNESS_TRACKED)))
