"""The canary suite through the real SMS and Telegram webhooks, against local fake providers.

Twilio webhooks are signed with twilio's own RequestValidator; Telegram updates carry
the secret header. Every phone number, chat id, Telegram name and message is a canary.
Afterwards the carrier's copies are gone (Twilio records deleted, the Telegram chat
wiped) and nothing the help line wrote holds a canary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.accounts import add_advocate
from bot.app import create_app
from bot.db import is_sqlite
from bot.helpline import build_helpline
from bot.i18n import catalogue
from tests import services
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes import telegram_api, twilio_api
from tests.privacy import flows
from tests.privacy.canaries import LANGUAGES, Canaries
from tests.privacy.scanner import scan_files, scan_postgres, scan_redis


class CanaryTelegramUser(telegram_api.TelegramUser):
    """A Telegram user whose names and username are canaries too."""

    def __init__(self, *args: Any, names: tuple[str, str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_name, self.last_name, self.username = names

    @property
    def user(self) -> dict[str, Any]:
        names = {"first_name": self.first_name, "last_name": self.last_name}
        return super().user | names | {"username": self.username}

    @property
    def chat(self) -> dict[str, Any]:
        return super().chat | {"first_name": self.first_name, "username": self.username}


@pytest.fixture
def fakes() -> Iterator[tuple[twilio_api.FakeTwilio, telegram_api.FakeTelegram]]:
    with twilio_api.running_fake() as twilio, telegram_api.running_fake() as telegram:
        yield twilio, telegram


async def test_no_canary_survives_sms_and_telegram_conversations(
    database_url: str,
    tmp_path: Path,
    debug_log: Path,
    private_tempdir: Path,
    fakes: tuple[twilio_api.FakeTwilio, telegram_api.FakeTelegram],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.channels import telegram

    monkeypatch.setattr(telegram, "DEFAULT_LIMITS", flows.QUICK_TELEGRAM_LIMITS)
    twilio_fake, telegram_fake = fakes
    overrides: dict[str, object] = {
        "HELPLINE_LOG_LEVEL": "DEBUG",
        **twilio_api.twilio_settings(twilio_fake),
        **telegram_api.telegram_settings(telegram_fake),
    }
    if not is_sqlite(database_url):
        services.require("Redis", services.redis_available())
        overrides["HELPLINE_REDIS_URL"] = services.REDIS_URL
    await prepare_database(database_url)
    helpline = build_helpline(make_settings(database_url, **overrides), clock=FrozenClock())
    advocate, _ = await add_advocate(
        helpline.sessions,
        helpline.sealer("totp-secret"),
        name="canary-shift",
        password="a-long-enough-password",
        languages=LANGUAGES,
    )
    assert advocate.id is not None
    canaries = Canaries()
    app = create_app(helpline=helpline)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=twilio_api.PUBLIC_URL) as client,
    ):
        for language in LANGUAGES:
            words = catalogue(language)
            # --- SMS ---------------------------------------------------------------
            phone = twilio_api.Phone(client, twilio_fake, canaries.phone())
            await phone.text(canaries.say(language, 0))
            await phone.text(words.first_word("keywords.talk"))
            await phone.text("1")  # yes, connect me
            await phone.text(canaries.say(language, 1))
            reply = f"{canaries.token()} we can help"

            async def texted(body: str, phone: twilio_api.Phone = phone) -> None:
                await phone.text(body)

            await flows.live_chat(
                helpline,
                ticket_id=await flows.waiting_ticket(helpline),
                advocate_id=advocate.id,
                person_writes=texted,
                said=canaries.say(language, 2),
                reply=reply,
            )
            await twilio_api.eventually(
                lambda p=phone, r=reply: r in twilio_fake.bodies_to(p.number)
            )
            await phone.text(words.first_word("keywords.forget"))
            await phone.delivered()
            for created in twilio_fake.created:
                if created.to == phone.number:  # sent by the API: its status comes by callback
                    params = twilio_api.status_params(created.sid, "delivered", to=phone.number)
                    await twilio_api.post_signed(client, "/webhooks/twilio/status", params)
            # --- Telegram ------------------------------------------------------------
            person = CanaryTelegramUser(
                client,
                telegram_fake,
                chat_id=int(canaries.chat_id()),
                language_code=language,
                names=(canaries.name(), canaries.name(), canaries.token().lower()),
            )
            await person.say(canaries.say(language, 0))
            await person.say(words.first_word("keywords.talk"))
            await telegram_fake.wait_for(
                lambda fake, c=person.chat_id: any(
                    "talk:yes" in telegram_api.payloads(call) for call in fake.sent(c)
                )
            )
            await person.press("talk:yes")
            reply = f"{canaries.token()} we can help"

            async def said(text: str, person: CanaryTelegramUser = person) -> None:
                await person.say(text)

            await flows.live_chat(
                helpline,
                ticket_id=await flows.waiting_ticket(helpline),
                advocate_id=advocate.id,
                person_writes=said,
                said=canaries.say(language, 2),
                reply=reply,
            )
            chat_id = person.chat_id
            await telegram_fake.wait_for(
                lambda fake, c=chat_id, r=reply: any(
                    call.params.get("text") == r for call in fake.sent(c)
                )
            )
            await person.say("/forget")
            await telegram_fake.settle()
            assert telegram_fake.deleted_ids(chat_id), "the Telegram chat is wiped on /forget"
        await twilio_api.eventually(lambda: twilio_fake.messages == set(), seconds=10)
        await helpline.counts.flush(helpline.sessions)
        hits, files = scan_files([tmp_path], canaries.all)
    await asyncio.sleep(0)
    if not is_sqlite(database_url):
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        hits += (await scan_postgres(dsn, canaries.all))[0]
        hits += (await scan_redis(services.REDIS_URL, canaries.all))[0]
    hits += scan_files([tmp_path], canaries.all)[0]
    log_text = await asyncio.to_thread(debug_log.read_text, encoding="utf-8")
    assert log_text.count("ticket opened") == 24
    assert files >= (4 if is_sqlite(database_url) else 1)
    assert hits == []
