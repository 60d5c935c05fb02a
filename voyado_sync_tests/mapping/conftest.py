from __future__ import annotations

import pytest

from voyado_sync.mapping.config import load_config, store_row
from voyado_sync.mapping.context import MappingContext

JP_STORE = store_row("store", "web-jp", "ECOM-JP", timezone="Asia/Tokyo", channel="web", country="JP",
                     locale="ja-JP", currency="JPY")


# The raw-key contact fallbacks: the money and shape rules are tested here without identity resolution
# (the shipped default, contactId alone, is tested in test_contact_policy.py).
RAW_KEYS = {"contact": {"match_keys": ["contactId", "externalId", "email"]},
            "pos": {"contact_keys": ["contact_id", "member_number", "card_id", "email", "phone"]}}


@pytest.fixture(scope="session")
def config():
    """The shipped data/ tables plus a Japanese web store (not part of the defaults), with `RAW_KEYS`."""
    return load_config().with_stores(JP_STORE).with_rules(**RAW_KEYS)


@pytest.fixture
def ctx(config):
    return MappingContext(config)
