from voyado_sync_tests.sync.conftest import engage  # noqa: F401  (the Engage sandbox fixture)
