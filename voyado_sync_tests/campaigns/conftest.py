from collections.abc import Iterator

import pytest

from voyado_sync_tests.sync.support import Engage, engage_sandbox


@pytest.fixture
def engage() -> Iterator[Engage]:
    with engage_sandbox() as box:
        yield box
