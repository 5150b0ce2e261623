"""Scripted dialogues in the eight newer languages and European Portuguese.

Each person writes from a home country of their language. Expected wording comes from
that language's catalogue, every number from the hotline directory: the tests check
that the first message is answered in the person's language, that danger words get the
country's emergency number first, that the quick-exit word closes quietly, and that a
request for a person typed in their own words reaches the consent question.
"""

import pytest

from bot.helpline import Helpline
from bot.hotlines import directory
from bot.i18n import catalogue
from tests.dialogue import Person

LANGUAGES = [
    # (language, home country, a first message, danger words, asking for a person)
    (
        "sq",
        "AL",
        "Përshëndetje, kam nevojë për ndihmë",
        "më ndihmo tani, ka armë",
        "dua të flas me dikë",
    ),
    (
        "sq",
        "XK",
        "Mirëdita, a më ndihmoni?",
        "do të më vrasë",
        "a mund të flas me një njeri të vërtetë",
    ),
    (
        "ko",
        "KR",
        "안녕하세요, 도움이 필요해요",
        "살려 주세요, 총을 들고 있어요",
        "상담원과 이야기하고 싶어요",
    ),
    (
        "bg",
        "BG",
        "Здравейте, имам нужда от помощ",
        "помогнете ми сега, има пистолет",
        "искам да говоря с човек",
    ),
    (
        "pl",
        "PL",
        "Dzień dobry, potrzebuję pomocy",
        "pomóżcie mi teraz, on ma nóż",
        "chcę porozmawiać z kimś",
    ),
    (
        "hu",
        "HU",
        "Szia, segítségre van szükségem",
        "segítsetek most, fegyvere van",
        "beszélni szeretnék valakivel",
    ),
    ("hi", "IN", "नमस्ते, मुझे मदद चाहिए", "मुझे बचाओ, उसके पास बंदूक है", "मुझे किसी से बात करनी है"),
    (
        "ht",
        "HT",
        "Bonjou, mwen bezwen èd",
        "ede m kounye a, li gen zam",
        "mwen vle pale ak yon moun",
    ),
    (
        "so",
        "SO",
        "Salaan, waxaan u baahanahay caawimaad",
        "i caawi hadda, mindi ayuu haystaa",
        "waxaan rabaa inaan la hadlo qof",
    ),
    (
        "pt_PT",
        "PT",
        "Olá, preciso de ajuda",
        "ajude-me agora, ele tem uma arma",
        "quero falar com uma pessoa",
    ),
]
CASES = pytest.mark.parametrize(("code", "country", "first", "danger", "talk"), LANGUAGES)


def opening(code: str) -> str:
    """The welcome's first sentence in ``code`` (the rest has placeholders)."""
    return catalogue(code).raw("welcome").split("{", 1)[0].split(".")[0]


def emergency(country: str) -> str:
    number = directory().country(country).urgent_number()
    assert number is not None, f"{country} has no emergency number in the directory"
    return number.dial


@CASES
async def test_the_first_message_is_answered_in_the_persons_language(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline, country=country)
    replies = await person.send(first)
    assert opening(code) in replies[0]
    assert emergency(country) in replies[0]
    assert catalogue(code).raw("option.hotlines") in "\n".join(replies)


@CASES
async def test_the_first_message_is_understood_without_a_country(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline)
    replies = await person.send(first)
    # Without a country the language alone decides; Portugal's Portuguese needs its words.
    expected = "pt" if code == "pt_PT" else code
    assert opening(expected) in replies[0]


@CASES
async def test_danger_words_get_the_countrys_emergency_number_first(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(first)
    replies = await person.send(danger)
    assert replies[0] == catalogue(code).text("danger.reply", emergency=emergency(country))


@CASES
async def test_danger_words_as_the_very_first_message(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline, country=country)
    replies = await person.send(danger)
    assert emergency(country) in replies[0]


@CASES
async def test_the_quick_exit_word_closes_with_a_harmless_reply(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(first)
    exit_word = catalogue(code).first_word("keywords.exit")
    replies = await person.send(exit_word.lower())
    assert replies == [catalogue(code).text("exit.reply")]


@CASES
async def test_asking_for_a_person_in_their_own_words_reaches_the_consent_question(
    helpline: Helpline, code: str, country: str, first: str, danger: str, talk: str
) -> None:
    person = Person(helpline, country=country)
    await person.send(first)
    replies = await person.send(talk)
    consent = catalogue(code).raw("talk.consent").split("{", 1)[0]
    assert any(consent in reply for reply in replies), replies


async def test_haitian_creole_names_countries_in_creole(helpline: Helpline) -> None:
    person = Person(helpline, country="HT")
    await person.send("Bonjou, mwen bezwen èd")
    replies = await person.send("1")
    assert "Ayiti" in replies[0]


async def test_a_country_typed_in_creole_is_understood(helpline: Helpline) -> None:
    person = Person(helpline)
    await person.send("Bonjou, mwen bezwen èd")
    await person.send("1")
    replies = await person.send("Etazini")
    us = directory().country("US")
    assert any(line.dial in replies[0] for line in us.shown_lines())


async def test_european_portuguese_shares_the_brazilian_catalogue_where_it_is_the_same(
    helpline: Helpline,
) -> None:
    european, brazilian = catalogue("pt_PT"), catalogue("pt")
    assert european.raw("option.hotlines") == brazilian.raw("option.hotlines")
    assert "telemóvel" in european.raw("safety.phone")
    assert "celular" in brazilian.raw("safety.phone")


HOME_COUNTRIES = {
    "sq": ("AL", "XK"),
    "ko": ("KR",),
    "bg": ("BG",),
    "pl": ("PL",),
    "hu": ("HU",),
    "hi": ("IN",),
    "ht": ("HT",),
    # Somaliland has no ISO 3166 code: its phones carry +252 and are Somalia's (SO).
    "so": ("SO",),
    "pt_PT": ("PT", "AO", "MZ"),
}


@pytest.mark.parametrize(
    ("code", "country"),
    [(code, country) for code, countries in HOME_COUNTRIES.items() for country in countries],
)
async def test_a_home_country_phone_gets_its_language_and_its_emergency_number(
    helpline: Helpline, code: str, country: str
) -> None:
    person = Person(helpline, country=country)
    replies = await person.send("ok")  # says nothing about the language: the phone decides
    assert opening(code) in replies[0]
    assert emergency(country) in replies[0]
