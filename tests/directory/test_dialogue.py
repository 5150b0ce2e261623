"""Finding services in a conversation: need, then place, then cards; nothing kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlmodel import select

from bot.directory import location_text
from bot.helpline import Helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from bot.models import Contact
from bot.segments import measure
from bot.types import Channel
from tests.dialogue import Person


async def test_sms_person_reaches_shelter_cards_and_asks_for_more(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.SMS, country="US")
    await person.send("hello")
    need_menu = await person.send("3")
    assert need_menu[0].startswith("What kind of help are you looking for?\n1 Shelter")
    ask = await person.send("1")
    assert "don't keep it" in ask[0]

    replies = await person.send("10001")
    assert replies[0] == "Shelter near New York, NY 10001, open now first:"
    cards = replies[1:4]
    assert [card.splitlines()[0] for card in cards] == [
        "SAMPLE Harbor House Shelter - 1.3 mi",
        "SAMPLE Chelsea Family Shelter - 0.3 mi",
        "SAMPLE Youth Drop-In Center - 4.9 mi",
    ]
    assert all(measure(card).count == 1 for card in cards)
    assert replies[4] == "What next?\n1 More places\n2 Other kind of help\n3 Main menu"

    again = await person.send("1")
    assert "send the ZIP code or city again" in again[0]
    more = await person.send("10001")
    assert more[0].startswith("SAMPLE Bronx Safe Haven")
    assert more[-1] == "What next?\n1 Other kind of help\n2 Main menu"


async def test_nothing_near_by_gives_the_national_line(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.SMS, country="US")
    await person.send("hello")
    await person.send("3")
    await person.send("7")  # drugs and alcohol
    replies = await person.send("Houston")
    national = directory().countries["US"].main_line()
    assert national is not None
    assert replies[0] == (
        "We have no drug and alcohol services listed near Houston. "
        f"Call {national.dial}: they can refer you to local services."
    )


async def test_an_unknown_place_is_asked_again(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.SMS, country="US")
    await person.send("hello")
    await person.send("3")
    await person.send("2")
    replies = await person.send("Zzyzxqua")
    assert replies[0].startswith("We couldn't find that place.")
    replies = await person.send("Nueva York")
    assert replies[0] == catalogue("en").text("referrals.found.legal", place="New York City")


async def test_spanish_person_gets_spanish_cards_for_a_spanish_city_name(
    loaded: Helpline,
) -> None:
    person = Person(loaded, country="MX", language_code="es")
    await person.send("hola")
    await person.send("3")
    await person.send("2")  # ayuda legal
    replies = await person.send("Los Ángeles")
    assert replies[0] == "Ayuda legal y migratoria cerca de Los Angeles, primero los abiertos:"
    assert "Llama al +1 213-555-0111" in replies[1]
    assert "Idiomas: español, inglés" in replies[1]


async def test_a_language_no_service_lists_still_gets_the_nearest_with_a_note(
    loaded: Helpline,
) -> None:
    person = Person(loaded, country="TH", language_code="th")
    await person.send("สวัสดี")
    await person.send("3")
    await person.send("1")  # shelter
    replies = await person.send("Houston")
    assert "ไม่มีที่ใดใกล้ Houston ที่ระบุภาษาไทย" in replies[0]
    assert replies[1].startswith("SAMPLE Bayou Refuge")


async def test_a_shared_telegram_location_is_searched_once(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.TELEGRAM, country="GB", language_code="en")
    await person.send("hi")
    await person.send(choice="services")
    ask = await person.send(choice="services:need:shelter")
    assert "share a location" in ask[0]
    replies = await person.send(location_text(51.5155, -0.0922), choice="services:place")
    assert replies[0].startswith("Shelter near ")
    assert "SAMPLE Thames Safe House" in replies[1]
    assert "Thames Safe House (SAMPLE)" in replies[1]  # Telegram cards name the organization
    assert "1 Sample Lane, London" in replies[1]


async def test_a_location_shared_before_choosing_a_need_asks_the_need(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.TELEGRAM, country="GB", language_code="en")
    await person.send("hi")
    replies = await person.send(location_text(51.5155, -0.0922), choice="services:place")
    assert replies[0].startswith("What kind of help are you looking for?")


async def test_the_place_typed_is_not_stored_or_logged(
    loaded: Helpline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    person = Person(loaded, channel=Channel.SMS, country="US")
    await person.send("hello")
    await person.send("3")
    await person.send("1")
    await person.send("Nueva York")
    async with loaded.sessions() as session:
        contact = (
            await session.exec(select(Contact).where(Contact.alias == await person.alias()))
        ).one()
    assert contact.state == "services_more:shelter"  # the need only; no place
    assert "nueva" not in caplog.text.casefold()
    url = loaded.settings.database_url
    if url.startswith("sqlite"):
        await loaded.db.dispose()
        database = Path(url.split("///", 1)[1])
        for path in database.parent.glob(database.name + "*"):
            assert b"Nueva York" not in path.read_bytes(), path.name


async def test_a_postcode_outside_the_us_is_refused_with_a_city_of_that_country(
    loaded: Helpline,
) -> None:
    person = Person(loaded, channel=Channel.SMS, country="PT", language_code="pt")
    await person.send("olá")
    await person.send(choice="services")
    await person.send(choice="services:need:shelter")
    replies = await person.send("10001")  # a Lisbon-style five digits, not New York
    assert replies[0].startswith("Por enquanto só entendemos códigos postais dos Estados Unidos")
    assert "Lisbon" in replies[0] and "Houston" not in replies[0]
    assert "New York" not in "\n".join(replies)


async def test_a_person_whose_country_is_unknown_is_never_given_a_us_example(
    loaded: Helpline,
) -> None:
    person = Person(loaded, channel=Channel.TELEGRAM, language_code="en")
    await person.send("hi")
    await person.send(choice="services")
    await person.send(choice="services:need:shelter")
    replies = await person.send("Zzyzxqua")
    assert replies[0] == "We couldn't find that place. Send the name of your city or town."


async def test_a_country_is_named_in_the_persons_language(loaded: Helpline) -> None:
    person = Person(loaded, channel=Channel.SMS, country="US", language_code="es")
    await person.send("hola")
    await person.send(choice="services")
    await person.send(choice="services:need:shelter")
    replies = await person.send("Poland")
    assert "Polonia" in replies[0] and "Poland" not in replies[0]


@pytest.mark.parametrize(
    ("country", "code", "greeting", "sentence"),
    [
        ("KE", "en", "hello", "I need a place to sleep"),
        ("RO", "ro", "bună ziua", "nu am unde să dorm"),
        ("US", "en", "hello", "I need a place to sleep"),
    ],
)
async def test_only_a_person_in_the_us_is_asked_for_a_zip_code(
    loaded: Helpline, country: str, code: str, greeting: str, sentence: str
) -> None:
    person = Person(loaded, channel=Channel.SMS, country=country)
    await person.send(greeting)
    replies = await person.send(sentence)
    words = catalogue(code)
    key = "referrals.ask_place" if country == "US" else "referrals.ask_city"
    assert replies[0].startswith(words.text(key))
    if country != "US":
        assert "ZIP" not in replies[0] and words.text("referrals.ask_place") not in replies[0]
