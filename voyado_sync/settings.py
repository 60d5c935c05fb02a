"""Typed settings read from the environment: one place for defaults that are not secrets.

Secrets (client secrets, API keys) are never read here; resources take them through `dagster.EnvVar`."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError, field_validator, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = REPO_ROOT / "data"


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

    @field_validator("timezone")
    @classmethod
    def _known_tz(cls, tz: str) -> str:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"VOYADO_SYNC_TIMEZONE={tz!r} is not an IANA time zone") from exc
        return tz

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
        env = os.environ
        values: dict[str, object] = {}
        for field, var in (("home", "VOYADO_SYNC_HOME"), ("data_dir", "VOYADO_SYNC_DATA_DIR"),
                           ("state_db_url", "VOYADO_SYNC_STATE_DB"), ("config_dir", "VOYADO_SYNC_CONFIG_DIR"),
                           ("pos_drop_dir", "VOYADO_SYNC_POS_DROP"), ("start_date", "VOYADO_SYNC_START_DATE"),
                           ("timezone", "VOYADO_SYNC_TIMEZONE"),
                           ("safety_lag_minutes", "VOYADO_SYNC_SAFETY_LAG_MINUTES")):
            if env.get(var):
                values[field] = env[var]
        try:
            return cls(**values)
        except ValidationError as exc:  # one line per problem, not pydantic's multi-line report
            problems = [str(e["msg"]).removeprefix("Value error, ") if e["type"] == "value_error"
                        else f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise ConfigError("invalid voyado_sync settings: " + "; ".join(problems)) from None


def get_settings() -> Settings:
    return Settings.from_env()
