"""Constants the generator tests share (fixtures are in conftest.py)."""

from datetime import date

ANCHOR = date(2026, 11, 26)
