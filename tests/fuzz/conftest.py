"""One real help line served by uvicorn in a thread, with the fake Bot API and Twilio,
and every log line it writes captured (redacted as in production, at DEBUG)."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn

from bot.app import create_app
from bot.channels import telegram
from bot.channels.telegram_sender import SendLimits
from bot.logs import configure_logging
from bot.migrate import migrate
from tests.conftest import make_settings
from tests.fakes import telegram_api, twilio_api
from tests.scale.cluster import free_port


@dataclass
class LiveHelpline:
    url: str
    log: io.StringIO
    canaries: list[str] = field(default_factory=list)

    def log_text(self) -> str:
        return self.log.getvalue()


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHelpline]:
    database = tmp_path_factory.mktemp("fuzz") / "helpline.db"
    url = f"sqlite+aiosqlite:///{database}"
    asyncio.run(migrate(url))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    with (
        telegram_api.running_fake() as bot_api,
        twilio_api.running_fake() as twilio,
        pytest.MonkeyPatch.context() as patch,
    ):
        # Many people at once: pace sends no slower than the fake needs.
        patch.setattr(telegram, "DEFAULT_LIMITS", SendLimits(1000.0, 100, 5000.0, 500))
        settings = make_settings(
            url, **telegram_api.telegram_settings(bot_api), **twilio_api.twilio_settings(twilio)
        )
        configure_logging("DEBUG", handler)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host="127.0.0.1",
                port=port,
                log_config=None,
                access_log=False,
                http="h11",
                h11_max_incomplete_event_size=16 * 1024,
                ws_max_size=64 * 1024,
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, stream.getvalue()
            time.sleep(0.05)
        try:
            yield LiveHelpline(f"http://127.0.0.1:{port}", stream)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            root.removeHandler(handler)
            root.setLevel(level)


@pytest.fixture(scope="package")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-work")
