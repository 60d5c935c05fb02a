"""The production instance config (docker/dagster.yaml) loads and runs a partitioned materialization
on real PostgreSQL storage."""


import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from voyado_sync.partitions import daily_partitions

REPO = Path(__file__).resolve().parents[2]
ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def dagster_pg_db(monkeypatch):
    name = f"dagster_it_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    for var, value in {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
                       "DAGSTER_PG_PASSWORD": "unused-with-trust-auth", "DAGSTER_PG_DB": name}.items():
        monkeypatch.setenv(var, value)
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dg.asset(partitions_def=daily_partitions)
def probe(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partition": context.partition_key})


@pytest.mark.postgres
def test_docker_instance_config_materializes_a_partition_on_postgres(dagster_pg_db, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docker" / "dagster.yaml", home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        key = daily_partitions.get_partition_keys()[-2]
        result = dg.materialize([probe], partition_key=key, instance=instance)
        assert result.success
        assert instance.get_materialized_partitions(probe.key) == {key}
    # The rows really are in PostgreSQL, not in some SQLite fallback.
    engine = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{dagster_pg_db}")
    with engine.connect() as conn:
        runs = conn.execute(sa.text("select count(*) from runs")).scalar_one()
    engine.dispose()
    assert runs == 1
