"""Real channels into the console: a person on SMS and one on Telegram, one advocate, two chats."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, expect
from sqlmodel import select

from bot.channels import telegram
from bot.channels.telegram_sender import SendLimits
from bot.i18n import catalogue
from bot.models import Ticket
from bot.states import TicketStatus
from tests.conftest import FrozenClock
from tests.console.conftest import Console, assert_nothing_stored, start_console
from tests.console.test_browser import browser, show_chat, signed_in_page
from tests.fakes import telegram_api, twilio_api

pytestmark = pytest.mark.browser
__all__ = ["browser"]

MX_NUMBER = "+525512345678"
CHAT_ID = 7301


@pytest.fixture
async def channels_console(
    tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Console, twilio_api.FakeTwilio, telegram_api.FakeTelegram]]:
    monkeypatch.setattr(
        telegram,
        "DEFAULT_LIMITS",
        SendLimits(per_chat=200.0, chat_burst=20, overall=500.0, overall_burst=50),
    )
    with twilio_api.running_fake() as sms_fake, telegram_api.running_fake() as telegram_fake:
        settings = twilio_api.twilio_settings(sms_fake) | telegram_api.telegram_settings(
            telegram_fake
        )
        async for console in start_console(
            f"sqlite+aiosqlite:///{tmp_path}/helpline.db", clock, **settings
        ):
            yield console, sms_fake, telegram_fake


async def open_ticket(console: Console, channel: str) -> Ticket:
    for _ in range(100):
        async with console.helpline.sessions() as session:
            found = (await session.exec(select(Ticket).where(Ticket.channel == channel))).first()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {channel} ticket")


async def test_one_advocate_chats_with_a_person_on_sms_and_one_on_telegram_at_once(
    channels_console: tuple[Console, twilio_api.FakeTwilio, telegram_api.FakeTelegram],
    browser: Browser,
) -> None:
    console, sms_fake, telegram_fake = channels_console
    ana = await console.add("ana", languages=("en", "es"))
    page = await signed_in_page(browser, console, ana)
    es, en = catalogue("es"), catalogue("en")

    async with httpx.AsyncClient(base_url=console.base_url) as client:
        maria = twilio_api.Phone(client, sms_fake, MX_NUMBER)
        await maria.text("hola")
        await maria.text("4")  # talk to a person
        await maria.text("1")  # yes, connect me
        sms_ticket = await open_ticket(console, "sms")
        assert sms_ticket.language == "es"

        tom = telegram_api.TelegramUser(client, telegram_fake, chat_id=CHAT_ID, language_code="en")
        await tom.say("/start")
        await telegram_fake.wait_for(lambda f: len(f.sent(CHAT_ID)) >= 2)
        await tom.press("talk")
        await telegram_fake.wait_for(lambda f: len(f.sent(CHAT_ID)) >= 3)
        await tom.press("talk:yes")
        telegram_ticket = await open_ticket(console, "telegram")

        # Languages, channels and countries by name, never as codes ("es · sms · MX").
        cards = {
            sms_ticket.public_alias: "Spanish · SMS · waiting",
            telegram_ticket.public_alias: "English · Telegram · waiting",
        }
        for alias, meta in cards.items():
            card = page.locator(f"#queue li[data-alias='{alias}'] .ticket-meta")
            await expect(card).to_have_text(meta)
        await expect(page.locator("#queue-summary")).to_have_text("English: 1 · Spanish: 1")

        aliases = {}
        chat_meta = {
            "sms": "Spanish · SMS · Mexico",
            "telegram": "English · Telegram · Country not known",
        }
        for ticket in (sms_ticket, telegram_ticket):
            await page.get_by_role("button", name=f"Claim {ticket.public_alias}").click()
            aliases[ticket.channel] = ticket.public_alias
            chat = await show_chat(page, ticket.public_alias)
            await expect(chat.locator(".chat-meta")).to_have_text(chat_meta[ticket.channel])

        def log_of(channel: str) -> Locator:
            # Every chat's transcript, shown or not: only one conversation is open at a time.
            return page.locator(f"article.chat[aria-label='Chat with {aliases[channel]}'] .log")

        await twilio_api.eventually(
            lambda: es.text("talk.connected") in sms_fake.bodies_to(MX_NUMBER)
        )

        def telegram_texts() -> list[str]:
            return [call.params["text"] for call in telegram_fake.sent(CHAT_ID)]

        await telegram_fake.wait_for(lambda f: en.text("talk.connected") in telegram_texts())

        sms_words, telegram_words = "SMSCANARY-51 ayuda", "TGCANARY-77 help"
        await maria.text(sms_words)
        await tom.say(telegram_words)
        await expect(log_of("sms").locator(".line.person")).to_contain_text(sms_words)
        await expect(log_of("telegram").locator(".line.person")).to_contain_text(telegram_words)
        await expect(log_of("sms").locator(".line.person")).not_to_contain_text(telegram_words)
        # The chat not on screen counts what arrived unseen.
        await expect(
            page.get_by_role(
                "button", name=re.compile(f"Open chat with {aliases['sms']}.*1 unread")
            )
        ).to_be_visible()

        to_sms, to_telegram = "ADVCANARY-sms aquí estoy", "ADVCANARY-tg I am here"
        for channel, words in (("sms", to_sms), ("telegram", to_telegram)):
            chat = await show_chat(page, aliases[channel])
            await chat.get_by_label("Message").fill(words)
            if channel == "telegram":
                # Telegram shows "typing…" while the advocate writes; SMS has nothing like it.
                await telegram_fake.wait_for(
                    lambda f: any(
                        str(c.params.get("chat_id")) == str(CHAT_ID)
                        and c.params.get("action") == "typing"
                        for c in f.of("sendChatAction")
                    )
                )
            await chat.get_by_role("button", name="Send", exact=True).click()
        await twilio_api.eventually(lambda: to_sms in sms_fake.bodies_to(MX_NUMBER))
        await telegram_fake.wait_for(lambda f: to_telegram in telegram_texts())
        assert to_telegram not in sms_fake.bodies_to(MX_NUMBER)

        for channel in ("sms", "telegram"):
            chat = await show_chat(page, aliases[channel])
            await chat.get_by_label("No response").check()
            await chat.get_by_role("button", name="Close chat").click()
            await expect(chat).to_contain_text("The chat is closed")
        await twilio_api.eventually(lambda: es.text("talk.closed") in sms_fake.bodies_to(MX_NUMBER))
        await telegram_fake.wait_for(lambda f: en.text("talk.closed") in telegram_texts())

    async with console.helpline.sessions() as session:
        statuses = [t.status for t in (await session.exec(select(Ticket))).all()]
    assert statuses == [TicketStatus.CLOSED, TicketStatus.CLOSED]
    await page.context.close()
    await assert_nothing_stored(console, [sms_words, telegram_words, to_sms, to_telegram, "CANARY"])
