import dagster as dg

from voyado_sync.definitions import defs


def test_definitions_load_and_validate():
    d = defs()
    dg.Definitions.validate_loadable(d)
    assert {"commercetools", "engage", "elevate", "state_db", "partition_store"} <= set(d.resources)


def test_cli_validates_the_workspace_and_the_hands_off_path_is_wired():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    bin_dir = Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], cwd=repo,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr

    d = defs()
    chain = {k.to_user_string() for k in d.resolve_job_def("daily_sync").asset_layer.executable_asset_keys}
    assert {"commercetools/orders", "pos/receipts", "identity/profiles", "voyado/receipts_payload",
            "voyado/receipts_sync", "voyado/contacts_sync", "sync/log"} <= chain
    assert d.resolve_sensor_def("commercetools_delta_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert d.resolve_schedule_def("commercetools_daily_schedule").job_name == "daily_sync"
