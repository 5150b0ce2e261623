"""Telegram through its webhook: people tap buttons, the real python-telegram-bot answers
through a fake Bot API over real HTTP, and what they see is what the fake recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import SQLModel, col, select

from bot.app import create_app
from bot.channels import telegram
from bot.channels.telegram_sender import SendLimits
from bot.helpline import Helpline, build_helpline
from bot.i18n import catalogue
from bot.models import ChatMessageId, Contact, DailyCount, SeenMessage
from bot.types import Address, Channel, Reply
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.telegram_api import (
    FakeTelegram,
    TelegramUser,
    labels,
    next_update_id,
    payloads,
    running_fake,
    telegram_settings,
)

QUICK = SendLimits(per_chat=200.0, chat_burst=20, overall=500.0, overall_burst=50)


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running_fake() as server:
        yield server


@pytest.fixture
def quick_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most tests are about what is said, not pacing: let the bot talk fast."""
    monkeypatch.setattr(telegram, "DEFAULT_LIMITS", QUICK)


@pytest.fixture
async def line(
    database_url: str, clock: FrozenClock, fake: FakeTelegram
) -> AsyncIterator[Helpline]:
    await prepare_database(database_url)
    helpline = build_helpline(make_settings(database_url, **telegram_settings(fake)), clock=clock)
    yield helpline
    await helpline.db.dispose()


@pytest.fixture
async def client(line: Helpline, quick_limits: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(helpline=line)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def person(
    client: httpx.AsyncClient, fake: FakeTelegram, chat_id: int, code: str | None = "en"
) -> TelegramUser:
    return TelegramUser(client, fake, chat_id=chat_id, language_code=code)


def texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [call.params["text"] for call in fake.sent(chat_id)]


async def rows(line: Helpline, model: type[SQLModel]) -> list[SQLModel]:
    async with line.sessions() as session:
        return list((await session.exec(select(model))).all())


async def everything_stored(line: Helpline) -> str:
    """Every row of every table, as one string, for canary searches."""
    dump: list[str] = []
    async with line.sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            result = await session.exec(table.select())  # type: ignore[call-overload]
            dump.extend(repr(tuple(row)) for row in result.all())
    return "\n".join(dump)


# --- conversations -----------------------------------------------------------------------


async def test_a_conversation_with_buttons_in_english(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    en = catalogue("en")
    ana = person(client, fake, 7001)

    assert (await ana.say("/start")).status_code == 200
    await fake.wait_for(lambda f: len(f.sent(7001)) == 2)
    welcome, menu = fake.sent(7001)
    assert welcome.params["text"].startswith(en.raw("welcome").split("{")[0])
    assert menu.params["text"] == en.text("menu.main.title")
    assert labels(menu) == [
        en.text("option.hotlines"),
        en.text("option.safety"),
        en.text("option.services"),
        en.text("option.talk"),
        en.text("option.language"),
        en.text("option.discreet_on"),
        en.text("option.forget"),
    ]
    assert payloads(menu)[-1] == "forget"

    press = ana.button("safety")
    await ana.post(press)
    await fake.wait_for(lambda f: len(f.sent(7001)) == 3)
    assert [call.params["callback_query_id"] for call in fake.of("answerCallbackQuery")] == [
        press["callback_query"]["id"]
    ]
    assert fake.sent(7001)[-1].params["text"] == en.text("safety.title")
    assert en.text("safety.option.phone") in labels(fake.sent(7001)[-1])

    await ana.press("safety:phone")
    await fake.wait_for(lambda f: len(f.of("answerCallbackQuery")) == 2)
    await fake.settle()
    # Telegram gets its own phone-safety text: the bot can clear the chat (/forget).
    assert any(en.raw("safety.phone.telegram")[:40] in said for said in texts(fake, 7001))
    assert any("/forget" in said for said in texts(fake, 7001))


async def test_a_conversation_with_buttons_in_spanish_then_english(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    es, en = catalogue("es"), catalogue("en")
    lucia = person(client, fake, 7002, "es")

    await lucia.say("hola")
    await fake.wait_for(lambda f: len(f.sent(7002)) == 2)
    menu = fake.sent(7002)[1]
    assert menu.params["text"] == es.text("menu.main.title")
    assert labels(menu)[0] == es.text("option.hotlines")
    assert labels(menu)[-1] == es.text("option.forget")

    await lucia.press("language")
    await fake.wait_for(lambda f: len(f.sent(7002)) == 3)
    languages = fake.sent(7002)[2]
    assert "Español" in labels(languages)
    assert "lang:en" in payloads(languages)

    await lucia.press("lang:en")
    await fake.wait_for(lambda f: len(f.sent(7002)) == 5)
    assert texts(fake, 7002)[3:] == [en.text("language.set"), en.text("menu.main.title")]
    assert labels(fake.sent(7002)[4])[0] == en.text("option.hotlines")
    assert len(fake.of("answerCallbackQuery")) == 2


async def test_commands_open_the_menu_and_help(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    en = catalogue("en")
    ana = person(client, fake, 7003)
    await ana.say("/start")
    await fake.wait_for(lambda f: len(f.sent(7003)) == 2)

    await ana.say("/menu@helpline_bot")
    await fake.wait_for(lambda f: len(f.sent(7003)) == 3)
    assert texts(fake, 7003)[-1] == en.text("menu.main.title")

    await ana.say("/help")
    await fake.wait_for(lambda f: len(f.sent(7003)) == 5)
    assert texts(fake, 7003)[-2].startswith(en.raw("help.reply").split("{")[0])


# --- verification ------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
async def test_a_wrong_or_missing_secret_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline, secret: str | None
) -> None:
    ana = person(client, fake, 7004)
    response = await ana.post(ana.message(text="hello"), secret=secret)
    assert response.status_code == 403
    await fake.settle(0.2)
    assert fake.sent() == []
    assert await rows(line, Contact) == []
    assert await rows(line, SeenMessage) == []
    assert await rows(line, ChatMessageId) == []


async def test_a_malformed_update_is_acknowledged_and_dropped(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    # An error would make Telegram deliver it again and hold back the updates behind it.
    headers = {"X-Telegram-Bot-Api-Secret-Token": "fake-webhook-secret_0123456789"}
    assert (
        await client.post("/webhooks/telegram", content=b"{nope", headers=headers)
    ).status_code == 200
    assert (
        await client.post("/webhooks/telegram", json=[1, 2], headers=headers)
    ).status_code == 200
    await fake.settle(0.1)
    assert fake.sent() == []


async def test_a_redelivered_update_is_answered_once(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    not_kept = catalogue("en").text("media.not_kept")
    ana = person(client, fake, 7005)
    hello = ana.message(text="hello")
    photo = ana.message(photo=[{"file_id": "AgAD", "file_unique_id": "x", "width": 9, "height": 9}])
    for update in (hello, hello):
        assert (await ana.post(update)).status_code == 200
    await fake.wait_for(lambda f: len(f.sent(7005)) >= 2)
    await fake.settle()
    assert len(fake.sent(7005)) == 2  # welcome and menu, once
    for update in (photo, photo):
        assert (await ana.post(update)).status_code == 200
    await fake.wait_for(lambda f: not_kept in texts(f, 7005))
    await fake.settle()
    assert texts(fake, 7005).count(not_kept) == 1


async def test_an_edited_message_is_ignored(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    ana = person(client, fake, 7006)
    update = ana.message(text="hello")
    update["edited_message"] = update.pop("message") | {"edit_date": 1}
    assert (await ana.post(update)).status_code == 200
    await fake.settle(0.2)
    assert fake.sent() == []


# --- groups, media, contacts, places -------------------------------------------------------


async def test_a_group_chat_is_refused_in_the_persons_language_and_left(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline
) -> None:
    group = {"id": -100777, "type": "supergroup", "title": "Canary group"}
    user = {"id": 7007, "is_bot": False, "first_name": "Canary", "language_code": "es"}
    message = {
        "message_id": 5,
        "from": user,
        "chat": group,
        "date": 1,
        "text": "/start@helpline_bot",
    }
    response = await client.post(
        "/webhooks/telegram",
        json={"update_id": next_update_id(), "message": message},
        headers={"X-Telegram-Bot-Api-Secret-Token": "fake-webhook-secret_0123456789"},
    )
    assert response.status_code == 200
    await fake.wait_for(lambda f: len(f.of("leaveChat")) == 1)
    assert texts(fake, -100777) == [catalogue("es").text("telegram.private_only")]
    assert fake.of("leaveChat")[0].params["chat_id"] == -100777
    assert await rows(line, Contact) == []


async def test_being_added_to_a_group_is_refused_and_left(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    group = {"id": -4242, "type": "group", "title": "Canary"}
    adder = {"id": 7008, "is_bot": False, "first_name": "Canary", "language_code": "fr"}
    bot = {"id": 123456, "is_bot": True, "first_name": "Help line"}
    update = {
        "update_id": next_update_id(),
        "my_chat_member": {
            "chat": group,
            "from": adder,
            "date": 1,
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {"status": "member", "user": bot},
        },
    }
    response = await client.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": "fake-webhook-secret_0123456789"},
    )
    assert response.status_code == 200
    await fake.wait_for(lambda f: len(f.of("leaveChat")) == 1)
    assert texts(fake, -4242) == [catalogue("fr").text("telegram.private_only")]


MEDIA: dict[str, dict[str, Any]] = {
    "photo": {"photo": [{"file_id": "AgAD1", "file_unique_id": "p1", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "AwAD2", "file_unique_id": "v2", "duration": 3}},
    "sticker": {
        "sticker": {
            "file_id": "CAAD3",
            "file_unique_id": "s3",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "document": {"document": {"file_id": "BQAD4", "file_unique_id": "d4"}, "caption": "canary-doc"},
    "video": {
        "video": {
            "file_id": "BAAD5",
            "file_unique_id": "w5",
            "width": 9,
            "height": 9,
            "duration": 1,
        }
    },
}


async def test_media_is_never_downloaded_and_the_person_is_told(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    en = catalogue("en")
    ana = person(client, fake, 7009)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7009)) == 2)
    for content in MEDIA.values():
        assert (await ana.post(ana.message(**content))).status_code == 200
    await fake.wait_for(lambda f: texts(f, 7009).count(en.text("media.not_kept")) == len(MEDIA))
    await fake.settle()
    assert texts(fake, 7009)[-1] == en.text("menu.main.title")  # the person carries on
    assert "getFile" not in fake.methods()  # and running_fake() fails on any download


async def test_danger_words_in_a_caption_are_heard(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    ana = person(client, fake, 7020)
    await ana.post(ana.message(photo=MEDIA["photo"]["photo"], caption="he has a gun"))
    await fake.wait_for(lambda f: len(f.sent(7020)) >= 1)
    await fake.settle()
    danger = catalogue("en").raw("danger.reply").split("{")[0]
    assert texts(fake, 7020)[0].startswith(danger)


async def test_danger_words_in_the_caption_of_any_attachment_kind_are_heard(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    """A kind added to Telegram after the channel was written (live_photo) is still read."""
    ana = person(client, fake, 7021)
    live_photo = {"file_id": "LP6", "file_unique_id": "l6", "width": 9, "height": 9, "duration": 2}
    await ana.post(ana.message(live_photo=live_photo, caption="he has a gun"))
    await fake.wait_for(lambda f: len(f.sent(7021)) >= 1)
    await fake.settle()
    danger = catalogue("en").raw("danger.reply").split("{")[0]
    assert texts(fake, 7021)[0].startswith(danger)


async def test_a_shared_contact_is_never_read_or_kept(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline
) -> None:
    ana = person(client, fake, 918273645501)
    contact = {"phone_number": "+15550009137", "first_name": "Canaryfriend", "user_id": 99}
    await ana.post(ana.message(contact=contact))
    await fake.wait_for(lambda f: len(f.sent(918273645501)) == 1)
    assert texts(fake, 918273645501) == [catalogue("en").text("telegram.contact_not_kept")]
    stored = await everything_stored(line)
    for canary in ("15550009137", "Canaryfriend", "918273645501"):
        assert canary not in stored


async def test_a_shared_location_answers_the_services_search_once_and_is_not_kept(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline
) -> None:
    en = catalogue("en")
    ana = person(client, fake, 918273645502)
    where = {"latitude": 40.712776, "longitude": -74.005974}
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(918273645502)) == 2)

    # Outside the search, a location opens it.
    await ana.post(ana.message(location=where))
    await fake.wait_for(lambda f: len(f.sent(918273645502)) == 3)
    assert texts(fake, 918273645502)[-1] == en.text("referrals.need.title")

    await ana.press("services:need:shelter")
    await fake.wait_for(lambda f: len(f.sent(918273645502)) == 4)
    # Telegram gives no country: a town or city is asked for, never a ZIP code.
    assert texts(fake, 918273645502)[-1] == en.text("referrals.ask_city.telegram")

    # Asked where, the location is the answer: the search runs and the next step shows.
    await ana.post(ana.message(location=where))
    await fake.wait_for(lambda f: texts(f, 918273645502)[-1] == en.text("referrals.next.title"))
    stored = await everything_stored(line)
    for canary in ("40.712", "74.005", "40.7128", "918273645502"):
        assert canary not in stored


# --- forget this chat --------------------------------------------------------------------


async def test_forget_deletes_both_sides_of_the_chat_and_then_its_own_confirmation(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline
) -> None:
    ana = person(client, fake, 7011)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7011)) == 2)
    await ana.press("hotlines")
    await ana.post(ana.message(photo=MEDIA["photo"]["photo"]))
    await fake.wait_for(lambda f: len(f.sent(7011)) >= 4)
    await fake.settle()
    # An advocate's message sent later through the registered sender counts too.
    assert await line.senders.send(Address(Channel.TELEGRAM, "7011"), [Reply(text="later")])
    everything = sorted(ana.message_ids + [call.result_id for call in fake.sent(7011)])

    await ana.press("forget")
    await fake.wait_for(lambda f: len(f.of("deleteMessages")) >= 1)
    await fake.settle()
    assert sorted(fake.deleted_ids(7011)) == everything
    confirmation = fake.sent(7011)[-1]
    assert confirmation.params["text"] == catalogue("en").text("forget.done")
    assert confirmation.result_id not in fake.deleted_ids(7011)
    kept = [row.message_id for row in await rows(line, ChatMessageId)]  # type: ignore[attr-defined]
    assert kept == [confirmation.result_id]
    assert await rows(line, Contact) == []

    await ana.say("/forget")
    await fake.wait_for(lambda f: len(f.of("deleteMessages")) >= 2)
    second = fake.of("deleteMessages")[-1].params["message_ids"]
    assert sorted(second) == sorted([confirmation.result_id, ana.message_ids[-1]])


async def test_forget_after_a_quiet_session_still_wipes_and_confirms(
    client: httpx.AsyncClient, fake: FakeTelegram, clock: FrozenClock
) -> None:
    ana = person(client, fake, 7012)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7012)) == 2)
    clock.advance(minutes=20)  # the session closed; the messages are still on the phone

    await ana.say("/forget")
    await fake.wait_for(lambda f: len(f.of("deleteMessages")) == 1)
    await fake.settle()
    assert len(fake.deleted_ids(7012)) == 4
    assert texts(fake, 7012)[-1] == catalogue("en").text("forget.done")
    assert len(fake.sent(7012)) == 3  # no welcome in between


async def test_the_quick_exit_word_wipes_the_chat_behind_a_harmless_reply(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    ana = person(client, fake, 7013)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7013)) == 2)
    await ana.say("bye")
    await fake.wait_for(lambda f: len(f.of("deleteMessages")) == 1)
    await fake.settle()
    assert len(fake.deleted_ids(7013)) == 4
    assert texts(fake, 7013)[-1] == catalogue("en").text("exit.reply")


# --- when Telegram pushes back -----------------------------------------------------------


async def test_a_flood_wait_is_waited_out_and_the_reply_arrives(
    client: httpx.AsyncClient, fake: FakeTelegram
) -> None:
    fake.fail("sendMessage", status=429, retry_after=1)
    ana = person(client, fake, 7014)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7014)) == 2)
    refused = fake.of("sendMessage", ok=False)
    assert len(refused) == 1
    assert fake.sent(7014)[0].at - refused[0].at >= 0.95
    assert fake.sent(7014)[0].params["text"] == refused[0].params["text"]


async def test_network_errors_are_retried(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    fake.fail("sendMessage", status=502, times=2)
    ana = person(client, fake, 7015)
    await ana.say("hello")
    await fake.wait_for(lambda f: len(f.sent(7015)) == 2, seconds=15)
    assert len(fake.of("sendMessage", ok=False)) == 2


async def test_a_blocked_bot_stops_sending_and_keeps_the_persons_place(
    client: httpx.AsyncClient, fake: FakeTelegram, line: Helpline
) -> None:
    fake.block(7016)
    lucia = person(client, fake, 7016, "es")
    await lucia.say("hola")
    await fake.wait_for(lambda f: len(f.of("sendMessage", ok=False)) == 1)
    await fake.settle()
    assert len(fake.of("sendMessage", ok=False)) == 1  # the menu after the welcome was not tried
    await line.counts.flush(line.sessions)
    counted = await rows(line, DailyCount)
    assert [(c.metric, c.count) for c in counted if c.metric == "blocked"] == [("blocked", 1)]  # type: ignore[attr-defined]

    fake.unblock(7016)
    await lucia.say("menu")
    await fake.wait_for(lambda f: len(f.sent(7016)) == 1)
    assert texts(fake, 7016) == [catalogue("es").text("menu.main.title")]


async def test_messages_to_one_chat_are_paced(line: Helpline, fake: FakeTelegram) -> None:
    from bot.channels.telegram_sender import TelegramSender

    app = create_app(helpline=line)
    async with app.router.lifespan_context(app):
        sender = TelegramSender(telegram.build_bot(line.settings), line, telegram.DEFAULT_LIMITS)
        await sender.bot.initialize()
        replies = [Reply(text=f"part {n}") for n in range(5)]
        assert await sender.deliver(7017, None, replies, forget_label=None)
        await sender.bot.shutdown()
    sent = fake.sent(7017)
    assert len(sent) == 5
    # A burst of three, then about one a second.
    assert sent[2].at - sent[0].at < 0.5
    assert sent[4].at - sent[0].at >= 1.9


async def test_a_large_chat_is_deleted_in_batches_of_a_hundred(
    line: Helpline, fake: FakeTelegram
) -> None:
    from bot.channels.telegram_sender import TelegramSender

    app = create_app(helpline=line)
    async with app.router.lifespan_context(app):
        sender = TelegramSender(telegram.build_bot(line.settings), line, QUICK)
        await sender.bot.initialize()
        assert await sender.wipe(7018, list(range(1, 251))) == 250
        await sender.bot.shutdown()
    batches = [call.params["message_ids"] for call in fake.of("deleteMessages")]
    assert [len(batch) for batch in batches] == [100, 100, 50]
    assert sorted(id_ for batch in batches for id_ in batch) == list(range(1, 251))


async def test_ids_older_than_48_hours_are_not_deleted_and_are_purged(
    line: Helpline, clock: FrozenClock
) -> None:
    from bot.channels import telegram_ids

    await telegram_ids.remember(line.sessions, alias="a1", message_ids=[1, 2], now=clock())
    clock.advance(hours=47)
    await telegram_ids.remember(line.sessions, alias="a1", message_ids=[3], now=clock())
    clock.advance(hours=2)
    assert await telegram_ids.recent(line.sessions, aliases=["a1"], now=clock()) == [3]
    assert await telegram.purge_chat_ids(line.sessions, clock()) == 2
    remaining = await rows(line, ChatMessageId)
    assert [r.message_id for r in remaining] == [3]  # type: ignore[attr-defined]
    async with line.sessions() as session:
        left = (
            await session.exec(select(ChatMessageId).where(col(ChatMessageId.alias) == "a1"))
        ).all()
    assert len(left) == 1
