"""The console script as a user runs it: `voyado-sync generate`, then `voyado-sync sandbox --data`."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def test_generate_then_sandbox_prints_one_json_line_and_serves_the_data(tmp_path):
    out = tmp_path / "shop"
    gen = subprocess.run([str(BIN / "voyado-sync"), "generate", "--out", str(out), "--seed", "3", "--persons", "12",
                          "--orders", "20", "--pos-receipts", "5", "--days", "1"],
                         capture_output=True, text=True, timeout=120)
    assert gen.returncode == 0, gen.stderr
    orders = [json.loads(line) for line in (out / "orders.ndjson").read_text().splitlines()]
    assert len(orders) == 20

    proc = subprocess.Popen([str(BIN / "voyado-sync"), "sandbox", "--data", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        described = json.loads(proc.stdout.readline())
        env = described["env"]
        assert env["CTP_API_URL"] == described["commercetools"]
        token = httpx.post(f"{env['CTP_AUTH_URL']}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(env["CTP_CLIENT_ID"], env["CTP_CLIENT_SECRET"])).json()["access_token"]
        page = httpx.get(f"{env['CTP_API_URL']}/{env['CTP_PROJECT_KEY']}/orders", params={"limit": 500},
                         headers={"Authorization": f"Bearer {token}"}).json()
        assert sorted(o["id"] for o in page["results"]) == sorted(o["id"] for o in orders)
        contacts = httpx.get(f"{env['VOYADO_ENGAGE_URL']}/api/v2/contacts/count",
                             headers={"apikey": env["VOYADO_API_KEY"], "Content-Type": "application/json"})
        assert contacts.status_code == 200 and contacts.json() > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_bad_configuration_fails_fast_with_one_clear_line(tmp_path):
    proc = subprocess.run([str(BIN / "voyado-sync"), "demo"], capture_output=True, text=True, timeout=60,
                          env={"PATH": str(BIN), "VOYADO_SYNC_START_DATE": "2999-01-01",
                               "VOYADO_SYNC_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dh")})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "voyado-sync demo: invalid voyado_sync settings: VOYADO_SYNC_START_DATE=2999-01-01 is after today; "
        "nothing to extract"]
