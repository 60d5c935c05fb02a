"""Every setting is read through `voyado_sync.settings`: typed, validated, and free of secrets."""

import pytest

from voyado_sync.settings import ENV_VARS, ConfigError, get_settings


@pytest.mark.parametrize("var, value", [
    ("VOYADO_MAX_CONCURRENCY", "eight"), ("VOYADO_RATE_LIMIT_PER_SECOND", "fast"),
    ("VOYADO_CONTACTS_BULK_MIN", "many"), ("VOYADO_SYNC_MAX_FAILURE_RATE", "5%"),
    ("VOYADO_SYNC_SAFETY_LAG_MINUTES", "soon"), ("VOYADO_SYNC_CT_DELTA_MODE", "push"),
    ("VOYADO_SYNC_RECONCILE_DAYS", "week"), ("VOYADO_SYNC_RECONCILE_DAYS", "91"),
])
def test_a_bad_value_is_one_config_error_naming_its_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=f"^invalid voyado_sync settings: {var}"):
        get_settings()


def test_values_are_typed_and_an_empty_variable_is_unset(monkeypatch):
    monkeypatch.setenv("VOYADO_SYNC_CT_DATASETS", " orders, customers,")
    monkeypatch.setenv("VOYADO_SYNC_CT_DELTA_MODE", " Watermark")
    monkeypatch.setenv("VOYADO_RATE_LIMIT_PER_SECOND", "12.5")
    monkeypatch.setenv("VOYADO_MAX_CONCURRENCY", "")
    s = get_settings()
    assert s.ct_datasets == ("orders", "customers") and s.ct_delta_mode == "watermark"
    assert s.rate_limit_per_second == 12.5 and s.max_concurrency == 8


def test_secrets_are_never_settings(monkeypatch):
    for var in ("VOYADO_SYNC_HASH_KEY", "VOYADO_API_KEY", "VOYADO_ELEVATE_API_KEY", "CTP_CLIENT_SECRET"):
        monkeypatch.setenv(var, f"s3cret-{var}")
    assert "s3cret" not in repr(get_settings())
    assert not [v for v in ENV_VARS.values() if "KEY" in v or "SECRET" in v]
