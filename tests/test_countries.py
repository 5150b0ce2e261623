"""The right numbers wherever the person is: their own country's, never another's.

People text from phones of many countries; the bot's first answer to danger must carry
that country's emergency number, a country typed at any point wins over the SIM's, and
a person whose country nobody knows gets what every mobile dials and is asked where
they are.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from bot.channels.sms_webhook import country_of
from bot.countries import country_in_text, sim_country
from bot.helpline import Helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from bot.types import Channel
from tests.dialogue import Person

# Every continent: Europe, Asia, the Middle East, Africa, the Americas (the Caribbean
# apart from the US on +1), Oceania, and territories that share another's calling code.
SIM_COUNTRIES = [
    "RO",
    "VN",
    "SA",
    "BR",
    "KE",
    "PT",
    "RU",
    "CN",
    "EG",
    "ZA",
    "CO",
    "JP",
    "IN",
    "FR",
    "DE",
    "US",
    "CA",
    "MX",
    "GB",
    "ES",
    "UA",
    "PH",
    "AU",
    "TH",
    "NG",
    "AR",
    "CL",
    "PE",
    "KR",
    "ID",
    "PK",
    "BD",
    "TR",
    "IT",
    "PL",
    "NL",
    "MA",
    "DZ",
    "GH",
    "ET",
    "TZ",
    "NZ",
    "FJ",
    "JM",
    "BB",
    "IE",
    "SE",
    "AE",
    "KZ",
    "IM",
    "GG",
    "JE",
]

DASH_FOR_A_NUMBER = re.compile(r"(^|\s)-(\s|[.,;:)!?]|$)")


TERRITORY_NUMBERS = {"IM": "+447624123456", "GG": "+447781123456", "JE": "+447797712345"}
"""Ranges that only the territory uses (phonenumbers' examples are shared with the UK)."""


def mobile_number(region: str) -> str:
    if region in TERRITORY_NUMBERS:
        return TERRITORY_NUMBERS[region]
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    assert example is not None, region
    return phonenumbers.format_number(example, PhoneNumberFormat.E164)


def sms_person(helpline: Helpline, region: str) -> Person:
    """A person texting from a phone of ``region``: the SMS adapter's guess is the hint."""
    number = mobile_number(region)
    return Person(helpline, channel=Channel.SMS, user_id=number, country=country_of(number))


async def test_people_from_fifty_countries_get_their_own_emergency_number_first(
    helpline: Helpline,
) -> None:
    assert len(SIM_COUNTRIES) >= 40
    danger_template = catalogue("en").raw("danger.reply")
    for region in SIM_COUNTRIES:
        person = sms_person(helpline, region)
        await person.send("hi")
        replies = await person.send("help me now")
        expected = directory().country(region).urgent_number()
        assert expected is not None, region
        assert replies[0] == danger_template.format(emergency=expected.dial), region
        # The SIM's country is a guess: the next reply says so, and how to change it.
        assert catalogue("en").country_name(region) in replies[1], region


async def test_a_typed_country_beats_the_sims_country(helpline: Helpline) -> None:
    person = sms_person(helpline, "VN")
    await person.send("hi")
    replies = await person.send("I am in Brazil")
    assert "Help lines for Brazil" in replies[0]
    assert "113" not in replies[0]  # Vietnam's police
    replies = await person.send("help me now")
    assert replies[0].startswith("If you are in danger now, call 190.")
    # Said, not guessed: no "we guessed from your phone" any more.
    assert not any("guessed" in reply for reply in replies)


@pytest.mark.parametrize(
    ("language", "greeting", "typed", "code"),
    [
        ("ro", "bună ziua", "Portugalia", "PT"),
        ("uk", "привіт", "Польща", "PL"),
        ("vi", "xin chào", "Nhật Bản", "JP"),
        ("ar", "مرحبا", "السعودية", "SA"),
        ("en", "hello", "Saudi Arabia", "SA"),
    ],
)
async def test_a_country_typed_in_any_language_switches_the_numbers(
    helpline: Helpline, language: str, greeting: str, typed: str, code: str
) -> None:
    person = Person(helpline, channel=Channel.TELEGRAM, language_code=language)
    await person.send(greeting)
    replies = await person.send(typed)
    name = catalogue(language).country_name(code)
    assert name in replies[0]
    first = directory().country(code).urgent_number()
    assert first is not None and first.dial in replies[0]


async def test_telegram_without_a_country_never_shows_another_countrys_lines(
    helpline: Helpline,
) -> None:
    person = Person(helpline, channel=Channel.TELEGRAM, language_code="es")
    await person.send("hola")
    replies = await person.send("1")
    shown = "\n".join(replies)
    assert "112 / 911" in shown
    curated = [n.dial for n in directory().numbers.values() if len(n.dial) > 3]
    assert not [dial for dial in curated if dial in shown]
    # Asked once, with the countries where Spanish is spoken and a way to type another.
    assert catalogue("es").raw("country.prompt") in replies[1]
    assert "México" in replies[1] and catalogue("es").raw("country.other") in replies[1]
    danger = await person.send("tiene una pistola")
    assert danger[0] == catalogue("es").text("danger.reply", emergency="112 / 911")
    assert catalogue("es").raw("country.unknown_note").split("{")[0] in danger[1]


async def test_a_country_button_sets_the_country(helpline: Helpline) -> None:
    person = Person(helpline, channel=Channel.TELEGRAM, language_code="es")
    await person.send("hola")
    await person.send("1")
    replies = await person.send(choice="country:MX")
    assert "México" in replies[0] and "800 5533 000" in replies[0]


ADULT_WRONG_LINES = {
    "FR": ("119",),  # child protection
    "DE": ("116 016",),  # violence against women
    "BR": ("100",),  # a reporting line
    "IN": ("1098",),  # the child line
}


@pytest.mark.parametrize("code", sorted(ADULT_WRONG_LINES))
async def test_adults_are_never_sent_to_a_line_that_is_not_for_them(
    helpline: Helpline, code: str
) -> None:
    person = sms_person(helpline, code)
    await person.send("hi")
    said: list[str] = []
    for topic in ("plan", "leaving", "rights", "friend"):
        said += await person.send(choice=f"safety:{topic}")
    said += await person.send(choice="talk")
    said += await person.send(choice="talk:yes")  # nobody online in tests
    danger = await person.send("help me now")
    for reply in said + danger:
        for wrong in ADULT_WRONG_LINES[code]:
            assert not re.search(rf"(?<![\d ]){wrong}(?![\d])", reply), (code, reply)
    if code == "BR":
        assert danger[0].startswith("If you are in danger now, call 190.")
    if directory().country(code).talk_line() is None:
        # Nobody online and no checked 24/7 line for adults: said honestly.
        name = catalogue("en").country_name(code)
        assert f"We have no checked 24/7 line for adults in {name} yet." in said


@pytest.mark.parametrize("code", ["IN", "BR", "UA", "DE", "FR", "KE", "JP", None])
async def test_no_reply_has_a_dash_in_place_of_a_number(
    helpline: Helpline, code: str | None
) -> None:
    person = sms_person(helpline, code) if code else Person(helpline, channel=Channel.TELEGRAM)
    said = await person.send("hi")
    for choice in (
        "hotlines",
        "safety",
        *(f"safety:{t}" for t in ("phone", "plan", "leaving", "rights", "under18", "friend")),
        "talk",
        "talk:yes",
    ):
        said += await person.send(choice=choice)
    said += await person.send("help me now")
    for reply in said:
        assert not DASH_FOR_A_NUMBER.search(reply), (code, reply)
        assert "{" not in reply, (code, reply)


@pytest.mark.parametrize(
    ("text", "language", "code"),
    [
        ("Portugalia", "ro", "PT"),
        ("Польща", "uk", "PL"),
        ("Nhật Bản", "vi", "JP"),
        ("nhat ban", "vi", "JP"),
        ("Saudi Arabia", "en", "SA"),
        ("السعودية", "ar", "SA"),
        ("أنا في السعودية", "ar", "SA"),
        ("I'm in Romania", "en", "RO"),
        ("estoy en España", "es", "ES"),
        ("je suis en France", "fr", "FR"),
        ("я в Польше", "ru", "PL"),
        ("我在日本", "zh", "JP"),
        ("ฉันอยู่ที่ญี่ปุ่น", "th", "JP"),
        ("nasa Japan", "tl", "JP"),
        ("USA", "en", "US"),
    ],
)
def test_country_names_are_read_in_every_language(text: str, language: str, code: str) -> None:
    assert country_in_text(text, language) == code


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mali", "tl"),  # Tagalog for "wrong"
        ("hello", "en"),
        ("help me now", "en"),
        ("in", "en"),
        ("no", "pt"),
        ("pt", "en"),
        ("I went to France last year", "en"),
        ("ở đây", "vi"),
    ],
)
def test_ordinary_words_are_not_taken_for_a_country(text: str, language: str) -> None:
    assert country_in_text(text, language) is None


def test_a_bare_code_counts_only_as_an_answer_to_the_question() -> None:
    assert country_in_text("pt", "en") is None
    assert country_in_text("pt", "en", asked=True) == "PT"
    assert country_in_text("mali", "tl", asked=True) == "ML"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+447624000000", "IM"),
        ("+447911123456", "GG"),
        ("+358181234567", "AX"),
        ("+77011234567", "KZ"),
        ("+12465551234", "BB"),
        ("+18765551234", "JM"),
        ("+40721000000", "RO"),
    ],
)
def test_the_sims_country_is_read_from_the_number(number: str, code: str) -> None:
    assert sim_country(number) == code


def test_a_number_with_no_country_is_no_country() -> None:
    assert sim_country("+882123456") is None
    assert sim_country("+447700900123") is None
    assert sim_country("+447700900123", "GB") == "GB"


async def test_line_names_are_in_the_persons_language(helpline: Helpline) -> None:
    person = sms_person(helpline, "RO")
    await person.send("bună ziua")
    replies = await person.send(choice="hotlines")
    assert "Linia de ajutor pentru copii" in replies[0] and "116 111" in replies[0]
    assert "child helpline" not in replies[0]


def test_every_curated_number_has_a_source_and_a_purpose_and_audience() -> None:
    for number in directory().numbers.values():
        assert number.source.strip(), number.id
        assert number.purpose and number.audience, number.id
        if number.report_only:
            for country in directory().countries.values():
                assert country.talk_line() is not number


async def test_someone_who_cannot_call_is_told_honestly_about_text_lines(
    helpline: Helpline,
) -> None:
    # The US text line waits for the operator's confirmation (content check lists it):
    # until then it is never offered, and the person hears that plainly.
    flagged = directory().numbers["us-nhth-text"]
    assert not flagged.confirmed and flagged.text is not None
    lifeline = directory().numbers["us-988"]
    assert lifeline.confirmed and lifeline.text == "988"
    person = Person(helpline, country="US")
    await person.send("hello")
    replies = await person.send("I can't call, is there a line I can text?")
    assert replies[0].startswith(
        catalogue("en").text("hotlines.text_lines", country="United States")
    )
    assert "text 988" in replies[0]  # confirmed: it takes texts
    assert not any(flagged.text in reply for reply in replies)
    mexico = directory().numbers["mx-trata"]
    assert mexico.confirmed and mexico.text is not None
    person = Person(helpline, country="MX")
    await person.send("hola")
    replies = await person.send("no puedo llamar")
    assert replies[0].startswith(catalogue("es").text("hotlines.text_lines", country="México"))
    assert mexico.text in replies[0]
    assert not directory().countries["RO"].text_lines()
    person = Person(helpline, country="RO")
    await person.send("bună ziua")
    replies = await person.send("nu pot suna")
    assert replies[0] == catalogue("ro").text("hotlines.no_text_line", country="România")


def test_only_confirmed_lines_are_offered_to_text() -> None:
    import dataclasses

    us = directory().countries["US"]
    flagged = directory().numbers["us-nhth-text"]
    assert flagged not in us.text_lines()
    confirmed = dataclasses.replace(flagged, confirmed=True)
    with_confirmed = dataclasses.replace(us, lines=(*us.lines, confirmed))
    assert confirmed in with_confirmed.text_lines()
