"""People write sentences, not menu numbers: dialogues in six languages.

Expected wording comes from the catalogues and numbers from the hotline directory;
each test sends what a person might write mid-conversation and checks the reply a
person would notice (the topic they asked for, never "did not understand").
"""

import pytest
from sqlmodel import select

from bot.helpline import Helpline
from bot.hotlines import directory, emergency_dial
from bot.i18n import catalogue
from bot.models import Ticket
from tests.dialogue import Person


def title(code: str, key: str) -> str:
    """The text before its first placeholder, to whole sentences: a sentence naming a line
    the person's country lacks is left out whole, so only what comes before it is sure."""
    raw = catalogue(code).raw(key)
    before = raw.split("{", 1)[0]
    if "{" in raw:
        ends = [before.rfind(mark) for mark in (". ", "。", "! ", "? ", "؟ ")]
        cut = max(ends)
        if cut > 0:
            before = before[: cut + 1]
    return before.strip()


GREETINGS = {"en": "hello", "es": "hola", "pt": "oi", "ru": "привет", "zh": "你好", "ar": "مرحبا"}
COUNTRY = {"en": "US", "es": "MX", "pt": "BR", "ru": None, "zh": None, "ar": None}

# (language, sentence, catalogue key the reply must start with)
SENTENCES = [
    ("en", "I want to talk to someone", "talk.consent"),
    ("en", "I need a place to sleep", "referrals.ask_place"),
    ("en", "my boss took my passport", "topic.documents"),
    ("en", "they won't pay me", "referrals.ask_place"),
    ("en", "what number can I call", "hotlines.title"),
    ("es", "quiero hablar con alguien", "talk.consent"),
    ("es", "necesito un lugar donde dormir", "referrals.ask_place"),
    ("es", "el patrón no me paga", "referrals.ask_place"),
    ("es", "necesito un abogado", "referrals.ask_place"),
    ("pt", "quero falar com alguém", "talk.consent"),
    ("pt", "pegaram meu passaporte", "topic.documents"),
    ("ru", "хочу поговорить с человеком", "talk.consent"),
    ("ru", "мне нужно где переночевать", "referrals.ask_place"),
    ("ru", "хозяин не платит зарплату", "referrals.ask_place"),
    ("zh", "我想跟人说话", "talk.consent"),
    ("zh", "老板拿走了我的护照", "topic.documents"),
    ("zh", "我需要看医生", "referrals.ask_place"),
    ("ar", "أريد أن أتكلم مع شخص", "talk.consent"),
    ("ar", "أحتاج مكان للنوم", "referrals.ask_place"),
    ("ar", "الكفيل أخذ جواز سفري", "topic.documents"),
]


@pytest.mark.parametrize(("code", "sentence", "key"), SENTENCES)
async def test_a_sentence_mid_conversation_reaches_its_topic(
    helpline: Helpline, code: str, sentence: str, key: str
) -> None:
    if key == "referrals.ask_place" and COUNTRY[code] != "US":
        key = "referrals.ask_city"  # a ZIP code is asked for only in the US
    person = Person(helpline, country=COUNTRY[code])
    await person.send(GREETINGS[code])
    await person.send("2")  # somewhere else in the menus first
    replies = await person.send(sentence)
    assert title(code, "fallback") not in replies[0]
    assert replies[0].startswith(title(code, key)), replies[0]


FEAR = [
    ("en", "I'm scared", "US"),
    ("en", "he is outside", "GB"),
    ("es", "tengo miedo", "MX"),
    ("ru", "мне страшно", None),
    ("zh", "我很害怕", None),
    ("ar", "أنا خائفة", None),
    ("pt", "estou com medo", "BR"),
]


@pytest.mark.parametrize(("code", "sentence", "country"), FEAR)
async def test_fear_gets_the_countrys_emergency_number_and_the_offer_of_a_person(
    helpline: Helpline, code: str, sentence: str, country: str | None
) -> None:
    person = Person(helpline, country=country)
    await person.send(GREETINGS[code])
    replies = await person.send(sentence)
    places = directory()
    emergency = emergency_dial(places.country(country), places.mobile)
    assert replies[0] == catalogue(code).text("danger.reply", emergency=emergency)
    assert any(reply.startswith(title(code, "talk.consent")) for reply in replies[1:])


async def test_fear_in_the_very_first_message_is_answered_before_any_menu(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    replies = await person.send("please help, I'm so scared")
    assert "911" in replies[0]
    assert any(reply.startswith(title("en", "talk.consent")) for reply in replies)


@pytest.mark.parametrize(
    ("code", "yes"), [("en", "yes"), ("es", "sí"), ("ru", "да"), ("zh", "好的")]
)
async def test_yes_at_the_consent_question_joins_the_line(
    helpline: Helpline, code: str, yes: str
) -> None:
    person = Person(helpline, country=COUNTRY[code])
    await person.send(GREETINGS[code])
    await person.send("4")
    replies = await person.send(yes)
    assert title(code, "fallback") not in replies[0]
    async with helpline.sessions() as session:
        assert len((await session.exec(select(Ticket))).all()) == 1


@pytest.mark.parametrize(
    ("code", "typo"), [("en", "exitt"), ("en", "exiit"), ("es", "salír"), ("es", "salirr")]
)
async def test_a_mistyped_exit_word_is_asked_about_and_only_yes_leaves(
    helpline: Helpline, code: str, typo: str
) -> None:
    person = Person(helpline, country=COUNTRY[code])
    await person.send(GREETINGS[code])
    replies = await person.send(typo)
    assert replies[0].startswith(catalogue(code).raw("confirm.exit"))
    assert (await person.turn("1")).end_session
    assert person.last[0].text == catalogue(code).text("exit.reply")


async def test_no_to_the_exit_question_keeps_the_conversation(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("exitt")
    turn = await person.turn("no")
    assert not turn.end_session
    assert catalogue("en").raw("menu.main.title") in turn.replies[0].text


@pytest.mark.parametrize(
    "harmless",
    ["I want to exit this job", "bye for now, thanks", "can you forget the money part"],
)
async def test_sentences_with_exit_words_never_run_the_quick_exit(
    helpline: Helpline, harmless: str
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    turn = await person.turn(harmless)
    assert not turn.end_session


async def test_exploitation_described_before_asking_for_a_person_makes_the_ticket_urgent(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("they took my passport and won't give it back")
    await person.send("I want to talk to someone")
    await person.send("yes")
    async with helpline.sessions() as session:
        tickets = (await session.exec(select(Ticket))).all()
    assert [ticket.urgent for ticket in tickets] == [True]


async def test_danger_words_before_asking_for_a_person_keep_the_ticket_urgent(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("he has a gun")
    await person.send("1")  # looks at the numbers first
    await person.send(choice="talk")
    await person.send(choice="talk:yes")
    async with helpline.sessions() as session:
        tickets = (await session.exec(select(Ticket))).all()
    assert [ticket.urgent for ticket in tickets] == [True]


async def test_a_message_that_could_mean_two_things_asks_one_question(
    helpline: Helpline,
) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    replies = await person.send("shelter or a lawyer")
    words = catalogue("en")
    assert replies[0].startswith(words.raw("confirm.which"))
    assert words.raw("referrals.need.shelter") in replies[0]
    assert words.raw("referrals.need.legal") in replies[0]
    replies = await person.send("2")
    assert replies[0].startswith(title("en", "referrals.ask_place"))


async def test_a_greeting_after_stop_and_start_gets_the_menu(helpline: Helpline) -> None:
    person = Person(helpline, country="US")
    await person.send("hello")
    alias = await person.alias()
    await helpline.engine.set_opt_out(alias, True)
    await helpline.engine.set_opt_out(alias, False)
    replies = await person.send("hi")
    assert title("en", "fallback") not in "".join(replies)
    assert catalogue("en").raw("option.hotlines") in replies[-1]
