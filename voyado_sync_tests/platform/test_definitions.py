import dagster as dg

from voyado_sync.definitions import defs


def test_definitions_load_and_validate():
    d = defs()
    dg.Definitions.validate_loadable(d)
    assert {"commercetools", "engage", "elevate", "state_db", "partition_store"} <= set(d.resources)
