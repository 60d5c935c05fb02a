"""The mapping configuration (`data/` or VOYADO_SYNC_CONFIG_DIR) as the assets use it: read once per process."""

from __future__ import annotations

from voyado_sync.mapping.config import MappingConfig, cached_config
from voyado_sync.settings import get_settings


def mapping_config() -> MappingConfig:
    return cached_config(str(get_settings().config_dir))
