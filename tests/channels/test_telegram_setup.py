"""Setting Telegram up: `helpline telegram set-webhook`, and polling for local development."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.channels.telegram import COMMANDS, set_webhook_command
from bot.helpline import Helpline, build_helpline
from bot.i18n import catalogue, languages
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.telegram_api import (
    SECRET,
    TOKEN,
    FakeTelegram,
    TelegramUser,
    next_update_id,
    running_fake,
    telegram_settings,
)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running_fake() as server:
        yield server


def test_set_webhook_registers_the_secret_and_the_commands_in_every_language(
    fake: FakeTelegram, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/unused.db",
        HELPLINE_PUBLIC_URL="https://help.example.org/",
        **telegram_settings(fake),
    )
    assert asyncio.run(set_webhook_command(settings)) == 0

    (webhook,) = fake.of("setWebhook")
    assert webhook.params["url"] == "https://help.example.org/webhooks/telegram"
    assert webhook.params["secret_token"] == SECRET
    assert webhook.params["drop_pending_updates"] is False
    assert set(webhook.params["allowed_updates"]) == {
        "message",
        "callback_query",
        "my_chat_member",
        "channel_post",
    }
    menus = {
        call.params.get("language_code"): call.params["commands"]
        for call in fake.of("setMyCommands")
    }
    # A regional variant (pt_PT) has no menu of its own: Telegram takes two-letter codes.
    codes = [language.code for language in languages() if language.base is None]
    assert set(menus) == {*codes, None}
    for code in codes:
        words = catalogue(code)
        assert menus[code] == [
            {"command": name, "description": words.text(f"telegram.command.{name}")}
            for name in COMMANDS
        ]
    assert menus["es"][3]["description"] == catalogue("es").text("telegram.command.forget")
    assert menus["es"][3]["description"] != menus["en"][3]["description"]
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    assert SECRET not in out.out + out.err


@pytest.mark.parametrize(
    "overrides",
    [{"TELEGRAM_BOT_TOKEN": None}, {"TELEGRAM_WEBHOOK_SECRET": "has spaces and !"}],
)
def test_set_webhook_refuses_an_incomplete_or_invalid_setup(
    fake: FakeTelegram, tmp_path: Any, overrides: dict[str, object]
) -> None:
    import asyncio

    values = telegram_settings(fake) | overrides
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/unused.db", **values)
    assert asyncio.run(set_webhook_command(settings)) == 2
    assert fake.of("setWebhook") == []


@pytest.fixture
async def polling_line(
    database_url: str, clock: FrozenClock, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Helpline]:
    monkeypatch.setenv("HELPLINE_TELEGRAM_POLLING", "1")
    await prepare_database(database_url)
    helpline = build_helpline(make_settings(database_url, **telegram_settings(fake)), clock=clock)
    yield helpline
    await helpline.db.dispose()


async def test_polling_answers_without_a_webhook(
    polling_line: Helpline, fake: FakeTelegram
) -> None:
    chat = {"id": 8001, "type": "private", "first_name": "Canary"}
    user = {"id": 8001, "is_bot": False, "first_name": "Canary", "language_code": "en"}
    update: dict[str, Any] = {
        "update_id": next_update_id(),
        "message": {"message_id": 1, "from": user, "chat": chat, "date": 1, "text": "hello"},
    }
    app = create_app(helpline=polling_line)
    async with app.router.lifespan_context(app):
        await fake.wait_for(lambda f: len(f.of("getUpdates")) >= 1)
        assert fake.of("deleteWebhook")[0].params["drop_pending_updates"] is False
        fake.queue_update(update)
        await fake.wait_for(lambda f: len(f.sent(8001)) == 2)
        # The next poll confirms the update, so Telegram would not send it again.
        await fake.wait_for(
            lambda f: f.of("getUpdates")[-1].params.get("offset") == update["update_id"] + 1
        )
        # The webhook route still refuses unsigned posts while polling.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.post("/webhooks/telegram", json=update)).status_code == 403
    assert catalogue("en").text("menu.main.title") == fake.sent(8001)[1].params["text"]


async def test_the_help_line_starts_while_telegram_is_unreachable_and_catches_up(
    database_url: str, clock: FrozenClock, fake: FakeTelegram
) -> None:
    fake.fail("getMe", status=502)
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url, **telegram_settings(fake)), clock=clock)
    app = create_app(helpline=line)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200
        ana = TelegramUser(http, fake, chat_id=8002)
        assert (await ana.say("hello")).status_code == 200
        await fake.wait_for(lambda f: len(f.sent(8002)) == 2)
    assert len(fake.of("getMe", ok=False)) == 1
