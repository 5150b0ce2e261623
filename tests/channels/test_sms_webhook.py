"""SMS through Twilio webhooks: people text the help line and read the TwiML it answers."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import col, select

from bot.app import create_app
from bot.channels.sms_sender import opted_out
from bot.helpline import Helpline, build_helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from bot.models import DailyCount
from bot.segments import measure
from bot.types import Address, Channel, Reply
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.fakes.twilio_api import (
    AUTH_TOKEN,
    PUBLIC_URL,
    FakeTwilio,
    Phone,
    eventually,
    inbound_sid,
    post_signed,
    sign,
    twilio_settings,
)

US_NUMBER = "+12025550143"
MX_NUMBER = "+525512345678"
RU_NUMBER = "+74951234567"
SMS_PATH = "/webhooks/twilio/sms"


@pytest.fixture
async def line(
    database_url: str, clock: FrozenClock, twilio_fake: FakeTwilio
) -> AsyncIterator[Helpline]:
    await prepare_database(database_url)
    settings = make_settings(database_url, **twilio_settings(twilio_fake))
    yield build_helpline(settings, clock=clock)


@pytest.fixture
async def client(line: Helpline) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(helpline=line)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http,
    ):
        yield http


def phone(client: httpx.AsyncClient, fake: FakeTwilio, number: str) -> Phone:
    return Phone(client, fake, number)


async def daily(line: Helpline, metric: str) -> int:
    await line.counts.flush(line.sessions)
    async with line.sessions() as session:
        rows = (await session.exec(select(DailyCount).where(DailyCount.metric == metric))).all()
    return sum(row.count for row in rows)


# --- a conversation ---------------------------------------------------------------------


async def test_a_full_conversation_in_english_by_sms(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    replies = await person.text("hello")
    assert "This is a help line" in replies[0] and "911" in replies[0]
    assert "1 Hotline numbers" in replies[1] and "4 Talk to a person" in replies[1]

    replies = await person.text("1")
    nhth = directory().numbers["us-nhth"]
    assert nhth.call is not None and nhth.call in replies[0]

    replies = await person.text("menu")
    assert "2 Staying safe" in replies[-1]
    replies = await person.text("2")
    assert "2 Phone safety" in replies[-1]
    replies = await person.text("2")
    assert "If it is safe, you could" in replies[0]

    replies = await person.text("EXIT")
    assert replies == ["Thanks for your message. Have a nice day!"]


async def test_a_full_conversation_in_spanish_from_a_mexican_number(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    spanish = catalogue("es")
    person = phone(client, twilio_fake, MX_NUMBER)
    replies = await person.text("hola")
    urgent = directory().countries["MX"].urgent_number()
    assert urgent is not None and urgent.dial in replies[0]
    # The Spanish welcome arrives as two SMS ("(1/2) …"); the emergency number is in the first.
    assert spanish.raw("welcome")[:20] in replies[0]
    assert f"1 {spanish.text('option.hotlines')}" in replies[-1]

    replies = await person.text("1")
    trata = directory().numbers["mx-trata"]
    assert trata.call is not None and trata.call in replies[0]

    replies = await person.text("HELP")
    assert replies[0] == spanish.text(
        "help.reply", exit_word=spanish.first_word("keywords.exit"), emergency=urgent.dial
    )
    replies = await person.text("info")
    assert replies[0] == spanish.text(
        "help.reply", exit_word=spanish.first_word("keywords.exit"), emergency=urgent.dial
    )


async def test_every_reply_asks_twilio_to_report_its_delivery(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text("hello")
    assert len(person.undelivered) == 2
    assert all(action == f"{PUBLIC_URL}/webhooks/twilio/status" for _, action in person.undelivered)


async def test_cyrillic_replies_are_measured_as_ucs2_and_kept_within_budget(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, RU_NUMBER)
    replies = await person.text("привет")
    assert "линия помощи" in replies[0]
    sizes = [measure(reply) for reply in replies]
    assert {size.encoding for size in sizes} == {"UCS-2"}
    assert all(size.count <= 3 for size in sizes)
    assert await daily(line, "sms.segments") == sum(size.count for size in sizes)
    assert await daily(line, "sms.messages") == len(replies)


# --- signatures -------------------------------------------------------------------------


async def test_forged_unsigned_altered_and_wrong_url_requests_are_refused_and_change_nothing(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    sid = inbound_sid()
    params = person.inbound_params("hello", sid)

    unsigned = await client.post(SMS_PATH, data=params)
    garbage = await client.post(SMS_PATH, data=params, headers={"X-Twilio-Signature": "AAAA"})
    wrong_token = await post_signed(client, SMS_PATH, params, token="not-the-auth-token")
    altered = await client.post(
        SMS_PATH,
        data=params | {"Body": "STOP"},
        headers={"X-Twilio-Signature": sign(SMS_PATH, params)},
    )
    # Signed for another host, and sent with proxy headers naming that host: the URL the
    # bot checks against comes from its settings, never from the request.
    other_host = "https://attacker.example/webhooks/twilio/sms"
    wrong_url = await client.post(
        SMS_PATH,
        data=params,
        headers={
            "X-Twilio-Signature": sign(SMS_PATH, params, url=other_host),
            "Host": "attacker.example",
            "X-Forwarded-Host": "attacker.example",
            "X-Forwarded-Proto": "https",
        },
    )
    wrong_path = await post_signed(
        client, SMS_PATH, params, url=f"{PUBLIC_URL}/webhooks/twilio/status"
    )
    for response in (unsigned, garbage, wrong_token, altered, wrong_url, wrong_path):
        assert response.status_code == 403
        assert "Message" not in response.text

    assert await daily(line, "message") == 0
    assert not await opted_out(line.engine, await line.engine.identify(Channel.SMS, US_NUMBER))
    await asyncio.sleep(0.1)  # time for any background work a forgery might have started
    assert twilio_fake.attempts == {"create": 0, "delete": 0}
    # The same message, properly signed, is new to the bot: the forgeries left no trace.
    replies = await person.text("hello", sid=sid)
    assert "This is a help line" in replies[0]


async def test_a_webhook_signed_over_the_url_with_its_port_is_accepted(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    # Twilio sometimes signs https://host:443/path; twilio's own validator accepts both.
    person = phone(client, twilio_fake, US_NUMBER)
    sid = inbound_sid()
    twilio_fake.receive(sid)
    params = person.inbound_params("hello", sid)
    with_port = PUBLIC_URL.replace(".org", ".org:443") + SMS_PATH
    response = await post_signed(client, SMS_PATH, params, url=with_port)
    assert response.status_code == 200
    assert "This is a help line" in response.text


async def test_a_signature_that_is_not_ascii_is_refused_not_a_crash(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    params = phone(client, twilio_fake, US_NUMBER).inbound_params("hello", inbound_sid())
    forged = sign(SMS_PATH, params)[:-2] + "é="
    response = await client.post(
        SMS_PATH, data=params, headers={"X-Twilio-Signature": forged.encode()}
    )
    assert response.status_code == 403


async def test_a_signed_form_sent_as_multipart_is_refused_and_accented_text_is_read_whole(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    params = person.inbound_params("hello", inbound_sid())
    # Twilio posts url-encoded text only; the same fields as multipart are not Twilio.
    multipart = await client.post(
        SMS_PATH,
        files={name: (None, value) for name, value in params.items()},
        headers={"X-Twilio-Signature": sign(SMS_PATH, params)},
    )
    assert multipart.status_code == 403
    assert twilio_fake.attempts["create"] == 0
    # Percent-encoded UTF-8 arrives as the person wrote it: Vietnamese is recognised.
    replies = await phone(client, twilio_fake, "+84912345678").text("tôi cần giúp đỡ")
    assert any("Đây là đường dây hỗ trợ" in reply for reply in replies)


async def test_forged_status_callback_is_refused(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    params = {"MessageSid": "SM" + "a" * 32, "MessageStatus": "delivered", "To": US_NUMBER}
    twilio_fake.receive(params["MessageSid"])
    response = await client.post(
        "/webhooks/twilio/status", data=params, headers={"X-Twilio-Signature": "forged"}
    )
    assert response.status_code == 403
    assert twilio_fake.attempts["delete"] == 0


async def test_webhooks_refuse_everything_when_sms_is_not_configured(
    database_url: str, twilio_fake: FakeTwilio
) -> None:
    await prepare_database(database_url)
    line = build_helpline(make_settings(database_url, HELPLINE_PUBLIC_URL=PUBLIC_URL))
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        params = Phone(http, twilio_fake, US_NUMBER).inbound_params("hello", inbound_sid())
        response = await post_signed(http, SMS_PATH, params, token=AUTH_TOKEN)
        assert response.status_code == 403
        assert not line.senders.has(Channel.SMS)


# --- redelivery -------------------------------------------------------------------------


async def test_a_redelivered_message_is_answered_only_once(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text("hello")
    sid = inbound_sid()
    first = await person.text("1", sid=sid)
    again = await person.text("1", sid=sid)
    assert "Hotline" in first[0] or "Help lines" in first[0]
    assert again == []
    # The conversation did not move twice: "1" is still read in the hotline menu.
    replies = await person.text("menu")
    assert "1 Hotline numbers" in replies[-1]


# --- opt-out ----------------------------------------------------------------------------


CARRIER_WORDS_AS_TYPED = (
    "STOP",
    "stopall",
    "Unsubscribe",
    "CANCEL",
    "end",
    "QUIT",
    "revoke",
    "OPTOUT",
    " Stop. ",
)


async def test_every_carrier_opt_out_word_silences_the_bot_until_start(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    for n, word in enumerate(CARRIER_WORDS_AS_TYPED):
        number = f"+1202555{n:04d}"
        person = phone(client, twilio_fake, number)
        address = Address(Channel.SMS, number)
        await person.text("hello")

        assert await person.text(word) == [], word  # the carrier sends its own confirmation
        assert await person.text("hello") == [], word
        assert await person.text("help me now") == [], word
        api_calls = twilio_fake.attempts["create"]
        assert await line.senders.send(address, [Reply(text="Hi")]) is False
        assert twilio_fake.attempts["create"] == api_calls, word  # not even tried

        assert await person.text("START") == [], word  # Twilio confirms the opt-in itself
        assert await person.text("hello"), word  # a conversation again
        assert await line.senders.send(address, [Reply(text="Hi")])
        assert twilio_fake.bodies_to(number) == ["Hi"], word
    assert await daily(line, "sms.opt_out") == len(CARRIER_WORDS_AS_TYPED)


async def test_opt_in_words_are_conversation_for_someone_who_never_opted_out(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    replies = await person.text("start")
    assert "This is a help line" in replies[0]
    await person.text("4")  # talk to a person: asks for consent
    replies = await person.text("yes")
    assert replies  # "yes" answers the bot's question; it is not swallowed


async def test_opt_out_takes_the_person_out_of_the_waiting_line(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text("hello")
    await person.text("talk")
    await person.text("1")  # yes, connect me
    assert len(await line.queue.entries()) == 1
    await person.text("STOP")
    assert await line.queue.entries() == []


async def test_a_day_later_an_advocates_message_still_knows_the_stop_and_the_language(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline, clock: FrozenClock
) -> None:
    """Aliases turn over daily; until the person writes again their state is under
    yesterday's alias, and what is sent to them later must still find it."""
    spanish, stopped = phone(client, twilio_fake, MX_NUMBER), phone(client, twilio_fake, RU_NUMBER)
    await spanish.text("hola, necesito ayuda")
    await stopped.text("hello")
    await stopped.text("STOP")
    clock.advance(hours=24)  # the next alias period
    before = await messages_by_language(line)
    assert await line.senders.send(Address(Channel.SMS, MX_NUMBER), [Reply(text="Hola.")])
    assert not await line.senders.send(Address(Channel.SMS, RU_NUMBER), [Reply(text="Hello?")])
    assert twilio_fake.bodies_to(MX_NUMBER) == ["Hola."]
    assert twilio_fake.bodies_to(RU_NUMBER) == []
    after = await messages_by_language(line)
    assert after["es"] - before["es"] == 1  # counted as a message in Spanish, not English
    assert after["en"] == before["en"]


async def messages_by_language(line: Helpline) -> Counter[str]:
    await line.counts.flush(line.sessions)
    async with line.sessions() as session:
        metric = col(DailyCount.metric) == "sms.messages"
        rows = (await session.exec(select(DailyCount).where(metric))).all()
    counted: Counter[str] = Counter()
    for row in rows:
        counted[row.language] += row.count
    return counted


# --- pictures ---------------------------------------------------------------------------


async def test_a_picture_is_never_fetched_and_the_person_learns_where_to_report_it(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text("hello")
    replies = await person.text("", media=["photo1.jpg", "photo2.jpg"])

    english = catalogue("en")
    cybertip = directory().numbers["us-cybertipline"]
    assert replies[0] == english.text("media.not_kept")
    assert "NCMEC CyberTipline" in replies[1]
    assert cybertip.call is not None and cybertip.call in replies[1]
    assert "report.cybertip.org" in replies[1]
    assert "1 Hotline numbers" in replies[-1]  # and the menu, to go on in words
    assert twilio_fake.media_fetches == []
    assert await daily(line, "sms.media_refused") == 1


async def test_a_picture_with_words_gets_the_notice_and_an_answer_to_the_words(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    person = phone(client, twilio_fake, MX_NUMBER)
    await person.text("hola")
    replies = await person.text("1", media=["photo.jpg"])
    spanish = catalogue("es")
    assert replies[0] == spanish.text("media.not_kept")
    trata = directory().numbers["mx-trata"]
    assert trata.call is not None and any(trata.call in reply for reply in replies[2:])
    assert twilio_fake.media_fetches == []


# --- nothing left at the carrier --------------------------------------------------------


async def test_message_records_are_deleted_at_twilio_after_delivery(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    first, second = inbound_sid(), inbound_sid()
    await person.text("hello", sid=first)
    await person.text("1", media=["photo.jpg"], sid=second)
    await eventually(lambda: {first, second} <= set(twilio_fake.deleted))

    replies = await person.delivered("delivered")
    await eventually(lambda: set(replies) <= set(twilio_fake.deleted))

    assert await line.senders.send(Address(Channel.SMS, US_NUMBER), [Reply(text="Later")])
    (sent,) = twilio_fake.created
    assert sent.status_callback == f"{PUBLIC_URL}/webhooks/twilio/status"
    assert sent.sid not in twilio_fake.deleted  # not before Twilio is done with it
    params = {"MessageSid": sent.sid, "MessageStatus": "undelivered", "To": US_NUMBER}
    response = await post_signed(client, "/webhooks/twilio/status", params)
    assert response.status_code == 204
    await eventually(lambda: sent.sid in twilio_fake.deleted)

    assert twilio_fake.messages == set()  # nothing of this conversation is left
    assert await daily(line, "sms.status.delivered") == len(replies)
    assert await daily(line, "sms.status.undelivered") == 1


async def test_a_status_callback_still_in_progress_deletes_nothing(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio
) -> None:
    sid = "SM" + "b" * 32
    twilio_fake.receive(sid)
    for status in ("queued", "sending", "sent"):
        params = {"MessageSid": sid, "MessageStatus": status, "To": US_NUMBER}
        response = await post_signed(client, "/webhooks/twilio/status", params)
        assert response.status_code == 204
    assert twilio_fake.attempts["delete"] == 0


async def test_records_stay_at_twilio_when_the_operator_turns_deletion_off(
    database_url: str, twilio_fake: FakeTwilio
) -> None:
    await prepare_database(database_url)
    settings = make_settings(
        database_url, **twilio_settings(twilio_fake, HELPLINE_TWILIO_DELETE_MESSAGES="false")
    )
    line = build_helpline(settings)
    app = create_app(helpline=line)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
    ):
        person = Phone(http, twilio_fake, US_NUMBER)
        await person.text("hello")
        await person.delivered()
    assert twilio_fake.attempts["delete"] == 0


async def test_a_status_callback_with_21610_records_the_opt_out(
    client: httpx.AsyncClient, twilio_fake: FakeTwilio, line: Helpline
) -> None:
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text("hello")
    params = {
        "MessageSid": "SM" + "c" * 32,
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "To": US_NUMBER,
    }
    response = await post_signed(client, "/webhooks/twilio/status", params)
    assert response.status_code == 204
    assert await person.text("hello") == []


# --- privacy ----------------------------------------------------------------------------


async def test_logs_never_carry_a_number_or_a_word_the_person_wrote(
    client: httpx.AsyncClient,
    twilio_fake: FakeTwilio,
    line: Helpline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "canary-q7x2-lighthouse"
    person = phone(client, twilio_fake, US_NUMBER)
    await person.text(f"hello {canary}")
    await person.text(canary, media=["photo.jpg"])
    await person.delivered()
    twilio_fake.fail("create", status=400, code=21211)
    assert not await line.senders.send(
        Address(Channel.SMS, US_NUMBER), [Reply(text=f"advocate {canary}")]
    )
    await person.text("STOP")
    await eventually(lambda: twilio_fake.attempts["delete"] >= 2)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "sms" in logged  # the channel did log
    for secret in (canary, US_NUMBER, US_NUMBER.lstrip("+"), "2025550143"):
        assert secret not in logged


def test_a_form_is_read_exactly_as_the_standard_library_reads_it() -> None:
    """Names and values, escapes, plus signs, blanks, broken escapes and non-ASCII text
    come out of the webhook's own form reader as ``parse_qsl`` gives them; past the
    field limit the form is refused, where ``parse_qsl`` raises."""
    import random
    from urllib.parse import parse_qsl

    from bot.channels.sms_webhook import MAX_FIELDS, form_pairs

    pieces = ["a", "Body", "=", "&", "+", "%", "%2", "%20", "%C3%A9", "%E2%82%AC", "%zz", "é", ";"]
    rng = random.Random(20261201)
    texts = ["", "&&", "=", "a", "a=", "=b", "Body=ol%C3%A1+tudo+bem%3F&From=%2B5511987650001"]
    texts += ["".join(rng.choices(pieces, k=rng.randint(1, 24))) for _ in range(20_000)]
    texts += ["&".join(["x=1"] * MAX_FIELDS), "&".join(["x=1"] * (MAX_FIELDS + 1))]
    for text in texts:
        try:
            expected = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError:
            assert form_pairs(text) is None, text
        else:
            assert form_pairs(text) == expected, text
