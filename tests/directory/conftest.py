"""Directory tests run at a known moment, with the fictional sample package loaded."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.directory import ensure_sample_loaded
from bot.helpline import Helpline
from tests.conftest import FrozenClock

SUNDAY_10_NEW_YORK = dt.datetime(2026, 11, 29, 15, 0, tzinfo=dt.UTC)
"""Sunday 10:00 in New York, 07:00 in Los Angeles, 15:00 in London."""
WEDNESDAY_10_NEW_YORK = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(SUNDAY_10_NEW_YORK)


@pytest.fixture
async def loaded(helpline: Helpline) -> Helpline:
    assert await ensure_sample_loaded(helpline.sessions) == 25
    return helpline
