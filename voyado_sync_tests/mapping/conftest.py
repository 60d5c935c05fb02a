from __future__ import annotations

import pytest

from voyado_sync.mapping.config import load_config, store_row
from voyado_sync.mapping.context import MappingContext

JP_STORE = store_row("store", "web-jp", "ECOM-JP", timezone="Asia/Tokyo", channel="web", country="JP",
                     locale="ja-JP", currency="JPY")


@pytest.fixture(scope="session")
def config():
    """The shipped data/ tables plus a Japanese web store (not part of the defaults)."""
    return load_config().with_stores(JP_STORE)


@pytest.fixture
def ctx(config):
    return MappingContext(config)
