"""Typed settings read from the environment: one place for defaults that are not secrets.

Secrets (client secrets, API keys, the hash key) are never fields here, so no repr of `Settings` can
show them: resources take them through `dagster.EnvVar`; the few read outside Dagster go through `secret`."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = REPO_ROOT / "data"
DELTA_MODES = ("auto", "messages", "watermark")

# Settings field -> the environment variable it is read from (an empty variable counts as unset).
ENV_VARS = {
    "home": "VOYADO_SYNC_HOME", "data_dir": "VOYADO_SYNC_DATA_DIR", "state_db_url": "VOYADO_SYNC_STATE_DB",
    "config_dir": "VOYADO_SYNC_CONFIG_DIR", "pos_drop_dir": "VOYADO_SYNC_POS_DROP",
    "start_date": "VOYADO_SYNC_START_DATE", "timezone": "VOYADO_SYNC_TIMEZONE",
    "safety_lag_minutes": "VOYADO_SYNC_SAFETY_LAG_MINUTES", "ct_datasets": "VOYADO_SYNC_CT_DATASETS",
    "ct_delta_mode": "VOYADO_SYNC_CT_DELTA_MODE", "reconcile_days": "VOYADO_SYNC_RECONCILE_DAYS",
    "ct_scopes": "CTP_SCOPES", "engage_url": "VOYADO_ENGAGE_URL", "elevate_url": "VOYADO_ELEVATE_URL",
    "rate_limit_per_second": "VOYADO_RATE_LIMIT_PER_SECOND", "max_concurrency": "VOYADO_MAX_CONCURRENCY",
    "contacts_bulk_min": "VOYADO_CONTACTS_BULK_MIN", "max_failure_rate": "VOYADO_SYNC_MAX_FAILURE_RATE",
    "readback_sample": "VOYADO_SYNC_READBACK_SAMPLE", "readback_grace_minutes": "VOYADO_SYNC_READBACK_GRACE_MINUTES",
}


class ConfigError(ValueError):
    """A bad configuration, reported once and clearly before any work starts."""


class Settings(BaseModel):
    home: Path = REPO_ROOT / ".voyado_sync"
    data_dir: Path | None = None  # Parquet partitions; default <home>/data
    state_db_url: str | None = None  # SQLAlchemy URL of ledger/DLQ/identity state; default SQLite in <home>
    config_dir: Path = PACKAGE_DATA  # mapping tables and rules (stores, payment methods, identity rules)
    pos_drop_dir: Path | None = None  # POS receipt file drop; default <home>/pos_drop
    start_date: date = date(2025, 1, 1)
    timezone: str = "UTC"
    safety_lag_minutes: int = 5
    ct_datasets: tuple[str, ...] | None = None  # Commercetools datasets to define; None: all
    ct_delta_mode: Literal["auto", "messages", "watermark"] = "auto"  # auto: messages when the project has them
    reconcile_days: int = 7  # days re-extracted by the weekly reconciliation sweep
    ct_scopes: str = ""  # space-separated scopes to request; empty: all scopes of the client
    engage_url: str | None = None  # the resources read it at launch (dg.EnvVar); here for the replay CLI
    elevate_url: str | None = None  # unset: Elevate is not licensed, the catalog is built but not pushed
    rate_limit_per_second: float = 40.0  # the shared request budget of the Engage key
    max_concurrency: int = 8  # requests in flight per push
    contacts_bulk_min: int = 200  # creates per store from which contacts go through the bulk endpoint
    max_failure_rate: float = 0.05  # the sync log's failure-rate bound
    # Share of a day's contacts whose receipts are read back from Voyado (1: all; production may sample
    # within the rate budget), and how long Engage may take to process an accepted receipt.
    readback_sample: float = Field(1.0, gt=0, le=1)
    readback_grace_minutes: float = Field(30.0, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"VOYADO_SYNC_TIMEZONE={tz!r} is not an IANA time zone") from exc
        return tz

    @field_validator("ct_datasets", mode="before")
    @classmethod
    def _dataset_list(cls, names: Any) -> Any:
        """A comma-separated list; the dataset registry judges the names when the assets are defined."""
        if isinstance(names, str):
            return tuple(n.strip() for n in names.split(",") if n.strip()) or None
        return names

    @field_validator("ct_delta_mode", mode="before")
    @classmethod
    def _delta_mode(cls, mode: Any) -> Any:
        mode = mode.strip().lower() if isinstance(mode, str) else mode
        if mode not in DELTA_MODES:
            raise ConfigError(f"VOYADO_SYNC_CT_DELTA_MODE={mode!r}; expected one of {', '.join(DELTA_MODES)}")
        return mode

    @field_validator("reconcile_days", mode="before")
    @classmethod
    def _reconcile_days(cls, days: Any) -> int:
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise ConfigError("VOYADO_SYNC_RECONCILE_DAYS must be an integer number of days") from None
        if not 1 <= days <= 90:
            raise ConfigError(f"VOYADO_SYNC_RECONCILE_DAYS={days} must be within 1..90")
        return days

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if self.start_date > datetime.now(timezone.utc).date():
            raise ConfigError(f"VOYADO_SYNC_START_DATE={self.start_date} is after today; nothing to extract")
        self.data_dir = self.data_dir or self.home / "data"
        self.pos_drop_dir = self.pos_drop_dir or self.home / "pos_drop"
        self.state_db_url = self.state_db_url or f"sqlite:///{self.home / 'state.db'}"
        return self

    @classmethod
    def from_env(cls) -> "Settings":
        values = {field: os.environ[var] for field, var in ENV_VARS.items() if os.environ.get(var)}
        try:
            return cls(**values)
        except ValidationError as exc:  # one line per problem, not pydantic's multi-line report
            raise ConfigError("invalid voyado_sync settings: " + "; ".join(map(_problem, exc.errors()))) from None


def _problem(error: Any) -> str:
    if error["type"] == "value_error":  # our validators' messages already name the variable
        return str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(map(str, error["loc"]))
    var = ENV_VARS.get(field)
    return f"{var}={error['input']!r}: {error['msg']}" if var else f"{field}: {error['msg']}"


def get_settings() -> Settings:
    return Settings.from_env()


def secret(var: str, default: str = "") -> str:
    """A secret from the environment, read when it is used and never kept in `Settings`."""
    return os.environ.get(var, default)
