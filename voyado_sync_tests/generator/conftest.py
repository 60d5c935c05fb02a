from __future__ import annotations

import pytest

from voyado_sync.sandbox.generator import Dataset, GeneratorConfig, generate

from .support import ANCHOR


@pytest.fixture(scope="session")
def default_cfg() -> GeneratorConfig:
    return GeneratorConfig(seed=42, anchor_date=ANCHOR)


@pytest.fixture(scope="session")
def ds(default_cfg) -> Dataset:
    """The default configuration (the noise scenarios must all be present in it)."""
    return generate(default_cfg)
