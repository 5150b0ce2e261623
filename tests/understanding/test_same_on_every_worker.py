"""Every worker reads a message alike and answers it alike: nothing depends on the process.

Each uvicorn worker has its own hash seed, so anything that walks a set in its own
order can read the same words differently on two workers. Before these tests, 133 of
the corpus's 3,154 texts and pairs of texts were read differently under four seeds:
"تمام لا شكرا" ("fine, no thanks") as "no" by three and as "yes" by the fourth.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.helpline import Helpline
from bot.i18n import catalogue
from bot.models import Ticket
from tests.dialogue import Person

ROOT = Path(__file__).resolve().parents[2]

# Every example of the corpus, and each with the next one (two topics in one message,
# where ties happen), through ``understand``, printed as JSON.
READ_THE_CORPUS = """
import json, sys, tomllib
from pathlib import Path
from bot.i18n import catalogue
from bot.understanding.match import understand

def examples(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from examples(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in ("language", "reviewed"):
                yield from examples(item)

read = {}
for path in sorted(Path("content/corpus").glob("*.toml")):
    corpus = tomllib.loads(path.read_text(encoding="utf-8"))
    words = catalogue(corpus["language"])
    texts = list(examples(corpus))
    for text in texts + [a + " " + b for a, b in zip(texts, texts[1:])]:
        meaning = understand(text, words)
        read[corpus["language"] + "|" + text] = [
            None if intent is None else intent.value
            for intent in (meaning.intent, meaning.other, meaning.confirm)
        ]
json.dump(read, sys.stdout)
"""


# Two people per corpus language, one with the SIM's country and one on Telegram with
# none, each writing "hello", then two examples of every intent and of danger and
# harmless text, then each with the next (two topics in one message, where ties are),
# with "0" (the menu) every fifth message; every reply, as JSON.
HOLD_THE_DIALOGUES = """
import asyncio, json, sys, tempfile, tomllib
from pathlib import Path
from bot.helpline import build_helpline
from tests.conftest import FrozenClock, make_settings, prepare_database
from tests.dialogue import Person

COUNTRY = {"ar": "SA", "vi": "VN", "ro": "RO", "pt": "BR", "en": "KE", "es": "MX",
           "fr": "FR", "hi": "IN", "tl": "PH", "uk": "UA", "th": "TH", "ko": "KR",
           "pl": "PL", "bg": "BG", "hu": "HU", "sq": "AL", "so": "SO", "ht": "HT",
           "pt_PT": "PT", "ru": "KZ", "zh": "MY"}

async def main():
    replies = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/line.db"
        await prepare_database(url)
        line = build_helpline(make_settings(url), clock=FrozenClock())
        await line.start()
        for path in sorted(Path("content/corpus").glob("*.toml")):
            corpus = tomllib.loads(path.read_text(encoding="utf-8"))
            code = corpus["language"]
            texts = [text for examples in corpus["intents"].values() for text in examples[:2]]
            for section in ("danger", "harmless"):
                texts += corpus[section]["examples"][:2]
            texts += [first + " " + second for first, second in zip(texts, texts[1:])]
            for country in (COUNTRY[code], None):
                person = Person(line, country=country, user_id=f"{code}-{country}")
                said = []
                for index, text in enumerate(["hello", *texts]):
                    said.append(await person.send(text))
                    if index % 5 == 4:
                        said.append(await person.send("0"))
                replies[f"{code} {country}"] = said
        await line.stop()
    json.dump(replies, sys.stdout, ensure_ascii=False)

asyncio.run(main())
"""


def run_with_hash_seed(script: str, seed: str) -> dict[str, object]:
    environment = {**os.environ, "PYTHONHASHSEED": seed, "HELPLINE_LOG_LEVEL": "ERROR"}
    printed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        cwd=ROOT,
    ).stdout
    result: dict[str, object] = json.loads(printed)
    return result


def same_under_three_seeds(script: str) -> dict[str, object]:
    first, *others = (run_with_hash_seed(script, seed) for seed in ("0", "1", "2"))
    for other in others:
        differ = {key: (first[key], other[key]) for key in first if first[key] != other[key]}
        assert not differ
    return first


def test_the_corpus_is_read_alike_under_any_hash_seed() -> None:
    assert len(same_under_three_seeds(READ_THE_CORPUS)) > 3000


def test_people_writing_in_every_language_get_the_same_replies_under_any_hash_seed() -> None:
    replies = same_under_three_seeds(HOLD_THE_DIALOGUES)
    assert len(replies) == 2 * len(list(ROOT.joinpath("content", "corpus").glob("*.toml")))


@pytest.mark.parametrize(
    ("code", "country", "hello", "yes_and_no"),
    [
        ("ar", "SA", "مرحبا", "تمام لا شكرا"),
        ("bg", None, "здравей", "да, не"),
    ],
)
async def test_yes_and_no_at_once_to_the_consent_question_asks_it_again(
    helpline: Helpline, code: str, country: str | None, hello: str, yes_and_no: str
) -> None:
    """Neither word wins: joining the line, or being told no, would each be a guess."""
    person = Person(helpline, country=country)
    await person.send(hello)
    asked = await person.send("4")
    assert asked[0].startswith(catalogue(code).raw("talk.consent").split("{", 1)[0])
    replies = await person.send(yes_and_no)
    async with helpline.sessions() as session:
        assert (await session.get(Ticket, 1)) is None
    consent_options = asked[0].splitlines()[-2:]
    assert replies[-1].splitlines()[-2:] == consent_options
