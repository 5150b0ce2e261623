"""What the channel tests share: a fake Twilio REST API on a real socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.twilio_api import FakeTwilio, running_fake


@pytest.fixture
def twilio_fake() -> Iterator[FakeTwilio]:
    with running_fake() as fake:
        yield fake
