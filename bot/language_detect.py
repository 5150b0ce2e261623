"""Guess a person's language from the first thing they write, offline and cheaply.

Three steps, cheapest first, and no guess is better than a wrong one (the caller falls
back to the channel's hint, then to a language menu):

1. Letters. A script or a letter only one of the help line's languages uses decides
   (Hangul, Thai, Arabic, Han; Ukrainian "ї", Russian "ы", Bulgarian "ъ" before a
   consonant, Polish "ł", Hungarian "ő", Vietnamese tones, Romanian "ș").
2. Words. A message is matched against each catalogue's greetings, keywords and intent
   phrases; one language clearly ahead decides. Haitian Creole is told from French by
   its own small words ("mwen", "bezwen", "yo").
3. A statistical detector for whole sentences: lingua (``lingua-language-detector``),
   restricted to the languages the help line speaks plus look-alikes it does not
   (Marathi beside Hindi), so a message in one of those is not answered in the other.

Why lingua: it runs in-process with its models inside the wheel (no download, no
network, nothing written anywhere), it is built for short texts, and it knows 19 of
the 20 languages (not Haitian Creole, handled in step 2). In its low-accuracy mode
(trigram models only) the detector for these languages costs about 30 MB of memory and
well under a second to build on first use, and about 3 ms a message, measured on the
project's 2-core machine; the high-accuracy mode cost 420 MB and 9 s for little gain on
the help line's first messages, most of which steps 1 and 2 already decide. fastText's
language model (fasttext-langdetect) needs a 126 MB download at run time; langdetect is
unmaintained and random unless seeded.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

from lingua import Language as Lingua
from lingua import LanguageDetector, LanguageDetectorBuilder

from bot.i18n import base_language, catalogue, language_codes, language_for_country, normalise
from bot.understanding.intents import Intent

_UKRAINIAN_ONLY = set("іїєґ")
_RUSSIAN_ONLY = set("ыэё")
_VIETNAMESE_ONLY = set("đơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
_ROMANIAN_ONLY = set("șțşţ")
_POLISH_ONLY = set("łąęśźżń")
_HUNGARIAN_ONLY = set("őű")
_SHARED_SMALL_WORDS = frozenset(
    {Intent.YES, Intent.NO, Intent.GREETING, Intent.EXIT, Intent.FORGET, Intent.STOP}
)
_KEYWORD_KEYS = (
    "keywords.greetings",
    "keywords.menu",
    "keywords.help",
    "keywords.language",
    "keywords.talk",
    "keywords.danger",
    # What people write about: "took my passport", "не ми плащат". Yes/no, greetings
    # and the exit words are left out: short words many languages share ("no", "pa").
    *(f"intent.{intent.value}" for intent in Intent if intent not in _SHARED_SMALL_WORDS),
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_PUNCTUATION = ".,!?¡¿;:'\"()[]«»。！？،؟…।-"

MIN_CONFIDENCE = 0.6
"""The detector's answer counts only above this share of its confidence."""
MIN_LETTERS = 8
"""Below this many letters the detector guesses at random: no guess."""

_LINGUA: dict[str, Lingua] = {
    "en": Lingua.ENGLISH,
    "es": Lingua.SPANISH,
    "pt": Lingua.PORTUGUESE,
    "fr": Lingua.FRENCH,
    "ro": Lingua.ROMANIAN,
    "uk": Lingua.UKRAINIAN,
    "ru": Lingua.RUSSIAN,
    "zh": Lingua.CHINESE,
    "vi": Lingua.VIETNAMESE,
    "tl": Lingua.TAGALOG,
    "th": Lingua.THAI,
    "ar": Lingua.ARABIC,
    "sq": Lingua.ALBANIAN,
    "ko": Lingua.KOREAN,
    "bg": Lingua.BULGARIAN,
    "pl": Lingua.POLISH,
    "hu": Lingua.HUNGARIAN,
    "hi": Lingua.HINDI,
    "so": Lingua.SOMALI,
}
"""The help line's languages as lingua names them (lingua has no Haitian Creole)."""
_LOOK_ALIKES = (Lingua.MARATHI,)
"""Languages the help line does not speak, written like one it does: detected, then not guessed."""

# Haitian Creole and French share most letters and many roots; these everyday words
# are Creole spellings French never uses (accents folded: "mèsi" is "mesi").
_HAITIAN_WORDS = frozenset(
    [
        "mwen",
        "nou",
        "yo",
        "ak",
        "kounye",
        "konnen",
        "bezwen",
        "tanpri",
        "mesi",
        "kijan",
        "ede",
        "anpil",
        "fe",
        "gen",
        "yon",
        "nan",
        "pou",
        "ap",
        "map",
        "kap",
        "pa",
        "ki",
        "li",
        "w",
        "kote",
        "paspo",
        "lajan",
        "travay",
        "peye",
        "kay",
        "moun",
        "bonjou",
        "bonswa",
        "sak",
        "danje",
        "vle",
        "kapab",
        "kenbe",
        "pran",
        "timoun",
        "dwe",
        "avek",
        "epi",
        "men",
        "rele",
        "fanmi",
        "patwon",
        "manje",
        "pitit",
        "konsa",
        "poukisa",
        "deja",
        "sove",
        "touye",
        "bat",
        "zam",
        "lapolis",
        "tande",
        "pale",
        "ede'm",
        "sitou",
        "ankò",
        "anko",
    ]
)
_FRENCH_WORDS = frozenset(
    [
        "je",
        "j'ai",
        "suis",
        "est",
        "vous",
        "les",
        "des",
        "une",
        "pas",
        "avec",
        "pour",
        "moi",
        "mon",
        "ma",
        "aide",
        "besoin",
        "c'est",
        "que",
        "qui",
        "le",
        "il",
        "elle",
        "nous",
        "et",
        "ai",
        "au",
        "du",
        "bonjour",
        "merci",
        "ne",
        "mais",
        "d'aide",
        "tres",
        "très",
        "mes",
        "sont",
        "peux",
        "veux",
        "aidez",
        "m'aider",
        "ont",
    ]
)
# Nepali shares Hindi's script: its own verb endings and pronouns mark it.
_NEPALI_WORDS = frozenset(
    [
        "छ",
        "छु",
        "छन्",
        "छैन",
        "छौं",
        "हुन्छ",
        "मलाई",
        "तपाईं",
        "तपाई",
        "गर्नु",
        "गर्न",
        "भयो",
        "हुनुहुन्छ",
        "मेरो",
        "हजुर",
        "चाहिन्छ",
        "सक्छु",
        "सक्दिन",
        "पर्छ",
        "गर्छ",
        "गर्छु",
        "थियो",
    ]
)
_HINDI_WORDS = frozenset(
    ["है", "हैं", "मुझे", "मैं", "क्या", "नहीं", "चाहिए", "मेरा", "मेरी", "कर", "रहा", "रही"]
)
# European Portuguese (Portugal, Angola, Mozambique …) and Brazilian differ in a few
# everyday words and in "estou a trabalhar" for "estou trabalhando".
_EUROPEAN_PORTUGUESE = frozenset(
    [
        "telemóvel",
        "telemovel",
        "autocarro",
        "comboio",
        "rapariga",
        "miúda",
        "miuda",
        "casa-de-banho",
        "pequeno-almoço",
        "contacto",
        "facto",
        "connosco",
    ]
)
_BRAZILIAN_PORTUGUESE = frozenset(
    [
        "celular",
        "ônibus",
        "onibus",
        "trem",
        "moça",
        "banheiro",
        "você",
        "voce",
        "vocês",
        "voces",
        "gente",
        "tá",
        "contato",
        "fato",
    ]
)
_PORTUGUESE_PROGRESSIVE = re.compile(
    r"\b(?:estou|estás|estas|está|esta|estamos|estão|estao) a [a-zà-ú]+(?:ar|er|ir)\b"
)
_BRAZILIAN_GERUND = re.compile(r"\b(?:estou|está|esta|estamos|estão|estao) [a-zà-ú]+ndo\b")


def _tokens(text: str) -> list[str]:
    """Words as typed (marks kept): Devanagari vowel signs are not ``\\w`` to ``re``."""
    return [word.strip(_PUNCTUATION) for word in text.split() if word.strip(_PUNCTUATION)]


def _cyrillic_guess(text: str, letters: set[str]) -> str | None:
    if letters & _UKRAINIAN_ONLY:
        return "uk"
    if letters & _RUSSIAN_ONLY:
        return "ru"
    # Bulgarian writes "ъ" as a vowel (съм, път, България) and "ѝ"; Russian keeps "ъ"
    # for a sign before е/ё/ю/я only (объявление) and ends words with "ь", which
    # Bulgarian never does.
    if "ѝ" in letters or re.search(r"ъ(?:[^еёюя]|$)", text):
        return "bg"
    if re.search(r"ь(?:[^о]|$)", text):
        return _detect(text, ("ru", "uk"))
    return _detect(text, ("bg", "ru", "uk"))


def _devanagari_guess(text: str) -> str | None:
    words = set(_tokens(text))
    if len(words & _NEPALI_WORDS) > len(words & _HINDI_WORDS):
        return None  # Nepali: the help line has no Nepali, and Hindi is not theirs
    if sum(1 for char in text if char.isalpha()) < MIN_LETTERS:
        return "hi"  # a greeting or a word: Hindi is the one Devanagari language here
    return _detect(text, ("hi",), look_alikes=True)


_UNDECIDED = "?"


def _script_guess(text: str) -> str | None:
    """A code, None when the letters rule every language out, or ``_UNDECIDED``."""
    letters = set(text)
    if any("\u0400" <= char <= "\u04ff" for char in text):
        return _cyrillic_guess(text, letters) or _keyword_guess(text)
    if any("\u0900" <= char <= "\u097f" for char in text):
        return _devanagari_guess(text)
    if any("\uac00" <= char <= "\ud7a3" or "\u1100" <= char <= "\u11ff" for char in text):
        return "ko"
    if any("\u0600" <= char <= "\u06ff" for char in text):
        return "ar"
    if any("\u0e00" <= char <= "\u0e7f" for char in text):
        return "th"
    if any("\u4e00" <= char <= "\u9fff" for char in text):
        return "zh"
    if letters & _VIETNAMESE_ONLY:
        return "vi"
    if letters & _ROMANIAN_ONLY:
        return "ro"
    if letters & _POLISH_ONLY:
        return "pl"
    if letters & _HUNGARIAN_ONLY:
        return "hu"
    return _UNDECIDED


def _haitian(text: str) -> bool:
    """Creole rather than French: more of its own small words than French ones, two at least."""
    words = [_fold_accents(word) for word in _WORD.findall(text)]
    creole = sum(1 for word in words if word in _HAITIAN_WORDS)
    french = sum(1 for word in words if word in _FRENCH_WORDS)
    return creole >= 2 and creole > french


def _fold_accents(word: str) -> str:
    return word.translate(_ACCENTS)


_ACCENTS = str.maketrans("èòàé", "eoae")


@dataclass(frozen=True, slots=True)
class _Clues:
    """Every catalogue's keywords, indexed once: single words by word, phrases by their
    first word (a phrase can only be in a message that has its first word)."""

    words: dict[str, list[tuple[str, int]]]
    phrases: dict[str, list[tuple[str, str, int]]]


def prepare() -> None:
    """Read every language's keywords now, at a worker's start.

    The first message that needs them would otherwise read and parse every catalogue
    on the event loop: a pause of 130-190 ms in which no webhook is answered (measured
    2026-12-01 under the benchmark's SMS mix; docs/benchmarks.md, step eleven). They
    cost 3.7 MB, which a worker spends on its first messages anyway. The detector stays
    lazy (``_detector``)."""
    _clues()


@cache
def _clues() -> _Clues:
    words: dict[str, list[tuple[str, int]]] = defaultdict(list)
    phrases: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for code in language_codes():
        if base_language(code) != code:
            continue  # a regional variant shares its base language's words
        for key in _KEYWORD_KEYS:
            weight = 2 if key == "keywords.greetings" else 1
            for keyword in catalogue(code).words(key):
                if " " in keyword:
                    first = keyword.split(" ", 1)[0]
                    phrases[first].append((f" {keyword} ", code, weight + 1))
                else:
                    words[keyword].append((code, weight))
    return _Clues(dict(words), dict(phrases))


def _keyword_guess(text: str) -> str | None:
    clues = _clues()
    scores: Counter[str] = Counter()
    found = _WORD.findall(text)
    padded = f" {' '.join(found)} "
    for word in set(found):
        for code, weight in clues.words.get(word, ()):
            scores[code] += weight
        for phrase, code, weight in clues.phrases.get(word, ()):
            if phrase in padded:
                scores[code] += weight
    if not scores:
        return None
    best = max(scores.values())
    leaders = [code for code, score in scores.items() if score == best]
    return leaders[0] if len(leaders) == 1 else None


@cache
def _detector() -> LanguageDetector:
    """Built on first use: most first messages never need it (the keywords place them).

    The first Latin-script message the keywords cannot place loads the Latin languages'
    models: 126 ms of CPU and 15-18 MB (about 2 s from a cold disk), a pause of the
    event loop once per worker (docs/benchmarks.md, step eleven, says what is left)."""
    wanted = [_LINGUA[code] for code in language_codes() if code in _LINGUA]
    return (
        LanguageDetectorBuilder.from_languages(*wanted, *_LOOK_ALIKES)
        .with_low_accuracy_mode()
        .build()
    )


_CODES = {lingua: code for code, lingua in _LINGUA.items()}


def _detect(
    text: str, among: tuple[str, ...] | None = None, *, look_alikes: bool = False
) -> str | None:
    """The detector's language when it is confident enough, else None."""
    if sum(1 for char in text if char.isalpha()) < MIN_LETTERS:
        return None
    values = _detector().compute_language_confidence_values(text)
    allowed = {_LINGUA[code] for code in among} if among else set(_CODES)
    if look_alikes:
        allowed |= set(_LOOK_ALIKES)
    total = sum(value.value for value in values if value.language in allowed)
    ranked = [value for value in values if value.language in allowed]
    if not ranked or total <= 0:
        return None
    best = ranked[0]
    if best.value / total < MIN_CONFIDENCE:
        return None
    return _CODES.get(best.language)  # a look-alike has no code: no guess


def portuguese_variant(text: str, country: str | None = None) -> str:
    """``pt_PT`` for European Portuguese words or a country that writes it, else ``pt``."""
    words = set(_WORD.findall(text))
    european = len(words & _EUROPEAN_PORTUGUESE) + len(_PORTUGUESE_PROGRESSIVE.findall(text))
    brazilian = len(words & _BRAZILIAN_PORTUGUESE) + len(_BRAZILIAN_GERUND.findall(text))
    if european != brazilian:
        return "pt_PT" if european > brazilian else "pt"
    regional = language_for_country(country)
    return regional if regional is not None and base_language(regional) == "pt" else "pt"


def guess_language(text: str, country: str | None = None) -> str | None:
    """Return a language code when the text makes it clear, else None.

    ``country``: the SIM's country, used only to tell two written forms of a language
    apart (Portuguese of Portugal or of Brazil), never to pick the language itself.
    """
    folded = normalise(text)
    if not folded:
        return None
    guess = _script_guess(folded)
    if guess == _UNDECIDED:
        guess = "ht" if _haitian(folded) else _latin_guess(folded)
    if guess == "pt":
        return portuguese_variant(folded, country)
    return guess


def _latin_guess(folded: str) -> str | None:
    # The catalogues' own words first: a name or a string of letters the detector has
    # never seen ("hello, I am Xochitl") can tip its statistics to another language.
    return _keyword_guess(folded) or _detect(folded)
