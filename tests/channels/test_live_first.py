"""Live chats first: during a burst of menu texts, a live conversation is not kept waiting.

A person talking to an advocate writes while many others walk the menus at once. Their
words reach the advocate's screen, and the advocate's answer reaches their phone,
while menu texts are still waiting for their turn; every menu text is still answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from bot.app import create_app
from bot.helpline import Helpline, build_helpline
from bot.priority import LiveChats
from bot.relay import ticket_topic
from bot.types import Channel
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.dialogue import first_waiting_claimed
from tests.fakes.twilio_api import (
    PUBLIC_URL,
    FakeTwilio,
    Phone,
    eventually,
    inbound_sid,
    post_signed,
    read_twiml,
    twilio_settings,
)

SMS_PATH = "/webhooks/twilio/sms"
LIVE_NUMBER = "+12025550143"
BURST = 40
MENU_AT_ONCE = 2


@pytest.fixture
async def line(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> AsyncIterator[Helpline]:
    await prepare_database(database_url)
    settings = make_settings(
        database_url,
        HELPLINE_MENU_CONCURRENCY=MENU_AT_ONCE,
        HELPLINE_TWILIO_DELETE_MESSAGES=False,
        **twilio_settings(twilio_fake),
    )
    yield build_helpline(settings, clock=clock)


@pytest.fixture
async def app(line: Helpline) -> AsyncIterator[FastAPI]:
    app = create_app(helpline=line)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def live_chat(app: FastAPI, line: Helpline, person: Phone) -> int:
    """The person asks for someone; an advocate claims them; every worker knows it is live."""
    await person.text("hello")
    await person.text("talk")
    await person.text("1")
    ticket_id = await first_waiting_claimed(line)
    live: LiveChats = app.state.live_chats
    alias, previous = await line.engine.identify(Channel.SMS, person.number)
    await eventually(lambda: live.holds(alias, previous))
    return ticket_id


def menu_text(number: str) -> dict[str, str]:
    sid = inbound_sid()
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": number,
        "To": "+15005550006",
        "Body": "hello",
        "NumMedia": "0",
    }


async def test_a_live_chat_goes_before_a_burst_of_menu_texts_and_none_is_lost(
    app: FastAPI, client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = Phone(client, twilio_fake, LIVE_NUMBER)
    ticket_id = await live_chat(app, line, person)
    answered: list[httpx.Response] = []

    async def menu(index: int) -> None:
        params = menu_text(f"+1202555{index:04d}")
        twilio_fake.receive(params["MessageSid"])
        answered.append(await post_signed(client, SMS_PATH, params))

    async with line.relay.subscribe(ticket_topic(ticket_id)) as advocate_page:
        burst = [asyncio.create_task(menu(index)) for index in range(BURST)]
        await asyncio.sleep(0)  # every menu text is in flight
        words = asyncio.create_task(person.text("are you still there"))
        event = await advocate_page.get()
        while event["type"] != "message":
            event = await advocate_page.get()
        answered_before_the_advocate_saw_it = len(answered)
        await words
        advocate = await line.queue.holder(ticket_id)
        assert advocate is not None
        await line.queue.send_to_person(
            ticket_id=ticket_id, advocate_id=advocate, text="yes, I am here"
        )
        answered_before_the_reply_left = len(answered)
        await asyncio.gather(*burst)

    assert event["text"] == "are you still there"
    assert twilio_fake.bodies_to(LIVE_NUMBER)[-1] == "yes, I am here"
    # The live chat did not wait for the burst to be answered...
    assert answered_before_the_advocate_saw_it < BURST
    assert answered_before_the_reply_left < BURST
    # ...and no menu text was dropped: each got its welcome.
    assert len(answered) == BURST
    assert all(response.status_code == 200 for response in answered)
    assert all("This is a help line" in read_twiml(r.text)[0].body for r in answered)


async def test_the_live_set_follows_claims_and_closes(
    app: FastAPI, client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = Phone(client, twilio_fake, LIVE_NUMBER)
    live: LiveChats = app.state.live_chats
    alias, previous = await line.engine.identify(Channel.SMS, person.number)
    ticket_id = await live_chat(app, line, person)
    assert live.holds(alias)

    advocate = await line.queue.holder(ticket_id)
    assert advocate is not None
    await line.queue.close(ticket_id=ticket_id, advocate_id=advocate, outcomes=["hotline_given"])
    await eventually(lambda: not live.holds(alias, previous))
    # A closed chat is menu traffic again and is answered as such.
    replies = await person.text("hello")
    assert replies
