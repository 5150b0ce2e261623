"""Score a message against each intent's phrases, in one language, offline.

Each intent's phrases come from the catalogue key ``intent.<name>`` (words.po) of the
person's language, plus English. A phrase matches when its word stems appear in the
message in order (a word or two may come between); Chinese and Thai phrases match as
substrings. A long word typed with a slip (rapidfuzz ratio) still counts, except for
intents in ``NEVER_GUESSED``. Longer phrases score higher; a tie between two topics is a
question to ask, not a guess to make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.i18n import Catalogue, catalogue, normalise
from bot.understanding.intents import (
    CLEAR_CHOICE,
    NEVER_GUESSED,
    PRIORITY,
    Intent,
)
from bot.understanding.text import fold, has_marks, stems, tokens, unspaced

MAX_GAP = 2
"""Words allowed between two words of a phrase ("took my passport" ~ "took away my passport")."""
FUZZY_MIN_LENGTH = 6
FUZZY_RATIO = 86.0
_PUNCTUATION = " .,!?¡¿;:'\"()。！？，、،؟…~"
EXIT_KEYS = {Intent.EXIT: "keywords.exit", Intent.FORGET: "keywords.forget"}


@dataclass(frozen=True, slots=True)
class Meaning:
    intent: Intent | None = None
    other: Intent | None = None
    """A second intent as likely as the first: ask which."""
    confirm: Intent | None = None
    """Almost an exit or forget word: ask before acting."""


@dataclass(frozen=True, slots=True)
class _Phrase:
    intent: Intent
    words: tuple[str, ...]
    raw: tuple[str, ...]
    substring: str | None


_YES_AND_NO = frozenset({Intent.YES, Intent.NO})

MARKED_LANGUAGES = frozenset({"vi"})
"""Languages whose accents change the word: matched with them when the person typed them."""
SHORT_WORD = 4
"""Words this short are matched as typed, not by stem ("меня" and "меню" share a stem)."""


@dataclass(frozen=True, slots=True)
class _Lexicon:
    """One language's phrases, indexed so a message is scored against the few that can
    match it instead of all of them (profiled: most of the time of ``understand``)."""

    substrings: tuple[_Phrase, ...]
    """Chinese, Thai and Korean phrases, found as substrings."""
    by_first: dict[str, tuple[_Phrase, ...]]
    """Spaced phrases under their first stem and their first word as typed."""
    slips: dict[str, tuple[_Phrase, ...]]
    """Phrases whose first word is long enough to be typed with a slip, by that word."""
    slip_words: dict[int, tuple[str, ...]]
    """Those first words within two letters of each length: a typed word is compared
    only with words of about its own length (as ``_close`` would)."""

    def near(self, typed: Sequence[str]) -> list[_Phrase]:
        """The slip-tolerant phrases whose first word is close to a word typed."""
        found: list[_Phrase] = []
        for word in dict.fromkeys(typed):  # in the order typed, never a set's (see below)
            # One rapidfuzz call over the words of about its length, not ~40 ``_close``
            # calls from Python: ``understand`` of "hello" took 11 µs less.
            # Found in the order the words are held, as the loop found them: on a tie
            # between two intents the first one found is offered first.
            choices = self.slip_words.get(len(word), ())
            close = process.extract(
                word, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_RATIO, limit=None
            )
            for first, _, _ in sorted(close, key=lambda match: match[2]):
                if first != word:
                    found.extend(self.slips[first])
        return found


@cache
def _lexicon(language: str, marked: bool = False) -> _Lexicon:
    words = catalogue(language)
    sources = [(words, language)]
    if words.fallback is not None:
        sources.append((words.fallback, words.fallback.language.code))
    substrings: list[_Phrase] = []
    by_first: dict[str, list[_Phrase]] = {}
    slips: dict[str, list[_Phrase]] = {}
    for source, code in sources:
        for intent in Intent:
            if intent in NEVER_GUESSED:
                continue  # reached only by the exact keyword or a confirming question
            for phrase in _entries(source, f"intent.{intent.value}"):
                folded = fold(phrase, keep_marks=marked and code == language)
                if unspaced(folded):
                    substrings.append(_Phrase(intent, (), (), folded.replace(" ", "")))
                    continue
                raw = tuple(tokens(folded))
                if not raw:
                    continue  # no word to match: it could never score
                entry = _Phrase(intent, stems(list(raw), code), raw, None)
                if len(raw[0]) >= FUZZY_MIN_LENGTH:
                    slips.setdefault(raw[0], []).append(entry)
                for first in {entry.words[0], raw[0]}:
                    by_first.setdefault(first, []).append(entry)
    return _Lexicon(
        tuple(substrings),
        {first: tuple(phrases) for first, phrases in by_first.items()},
        {first: tuple(phrases) for first, phrases in slips.items()},
        _words_near(tuple(slips)),
    )


def _words_near(words: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    """For each length, the words within two letters of it: shorter words first, each
    length's words in the order given."""
    by_length: dict[int, list[str]] = {}
    for word in words:
        by_length.setdefault(len(word), []).append(word)
    return {
        length: near
        for length in range(FUZZY_MIN_LENGTH - 2, max(by_length, default=0) + 3)
        if (near := tuple(w for at in range(length - 2, length + 3) for w in by_length.get(at, ())))
    }


def _stems(words: list[str], language: str) -> tuple[str, ...]:
    """``stems(words, language)``, with the catalogue's own words looked up.

    Snowball's rules in pure Python take about 20 µs a word, and most messages are
    words the catalogue has ("hello", "menu", "help"). Only the catalogue's words are
    held; a word a person typed that it lacks is stemmed and forgotten.
    """
    known = _known_stems(language)
    if all(word in known for word in words):
        return tuple(known[word] for word in words)
    return stems(words, language)


@cache
def _known_stems(language: str) -> dict[str, str]:
    """The stem of every word of ``language``'s own phrases and keyword lists."""
    words = catalogue(language)
    found = {
        word
        for key in words.entries
        if key.startswith(("intent.", "keywords."))
        for phrase in _entries(words, key)
        for word in tokens(fold(phrase))
    }
    ordered = sorted(found)
    return dict(zip(ordered, stems(ordered, language), strict=True))


def _entries(words: Catalogue, key: str) -> list[str]:
    entry = words.entries.get(key)
    return [part.strip() for part in entry.text.split(",") if part.strip()] if entry else []


def understand(text: str, words: Catalogue) -> Meaning:
    """What ``text`` most likely asks for; empty when nothing is clear enough."""
    folded = fold(text)
    if not folded:
        return Meaning()
    confirm = _near_exit(folded, normalise(text), words)
    if confirm is not None:
        return Meaning(confirm=confirm)
    language = words.language.code
    marked = language in MARKED_LANGUAGES and has_marks(text)
    if marked:
        folded = fold(text, keep_marks=True)
    raw = tokens(folded)
    own = _stems(raw, language)
    english = own if language == "en" else _stems(raw, "en")
    message = _Message(
        stems=own,
        english=english,
        raw=tuple(raw),
        squeezed=folded.replace(" ", ""),
        known=frozenset(own + english + tuple(raw)),
    )
    scores: dict[Intent, float] = {}
    lexicon = _lexicon(language, marked)
    candidates = list(lexicon.substrings)
    # Phrases in the order of the words typed: the order intents are first scored in
    # breaks ties, and a set's order would change with each worker's hash seed (the
    # same words were read as "yes" by one worker and "no" by another).
    for word in dict.fromkeys(own + english + message.raw):
        candidates.extend(lexicon.by_first.get(word, ()))
    # A long first word may be typed with a slip ("pasport"): its phrases are tried
    # when a word of the message is close to it.
    candidates.extend(lexicon.near([word for word in raw if len(word) >= FUZZY_MIN_LENGTH - 2]))
    for phrase in candidates:
        score = _score(phrase, message)
        if score > scores.get(phrase.intent, 0.0):
            scores[phrase.intent] = score
    short = len(raw) <= 2 if not unspaced(folded) else len(message.squeezed) <= 4
    return _decide(scores, short=short)


@dataclass(frozen=True, slots=True)
class _Message:
    stems: tuple[str, ...]
    english: tuple[str, ...]
    raw: tuple[str, ...]
    squeezed: str
    known: frozenset[str]


def _score(phrase: _Phrase, message: _Message) -> float:
    if phrase.substring is not None:
        if phrase.intent in CLEAR_CHOICE:
            # "是", "好", "ได้" sit inside most sentences: only a reply of nearly that word.
            whole = message.squeezed.strip(_PUNCTUATION)
            fits = whole.startswith(phrase.substring) and len(whole) <= len(phrase.substring) + 3
            return float(len(phrase.substring)) if fits else 0.0
        return float(len(phrase.substring)) if phrase.substring in message.squeezed else 0.0
    fuzzy = phrase.intent not in NEVER_GUESSED
    if (
        phrase.words
        and phrase.words[0] not in message.known
        and phrase.raw[0] not in message.known
        and (not fuzzy or len(phrase.raw[0]) < FUZZY_MIN_LENGTH)
    ):
        return 0.0  # its first word is nowhere in the message: most phrases stop here
    readings = (
        (message.stems,)
        if message.english is message.stems
        else (
            message.stems,
            message.english,
        )
    )
    for candidate in readings:
        found = _in_order(phrase, candidate, message.raw, fuzzy=fuzzy)
        if found:
            return 2.0 * len(phrase.words) + (1.0 if found == "exact" else 0.5)
    return 0.0


def _in_order(
    phrase: _Phrase, stems_: tuple[str, ...], raw: tuple[str, ...], *, fuzzy: bool
) -> str | None:
    if not phrase.words:
        return None
    exact = True
    position, last = 0, -1
    for index, wanted in enumerate(phrase.words):
        limit = len(stems_) if last < 0 else min(len(stems_), last + 2 + MAX_GAP)
        hit = None
        as_typed = phrase.raw[index]
        short = len(as_typed) <= SHORT_WORD
        slips = fuzzy and len(as_typed) >= FUZZY_MIN_LENGTH
        for at in range(position, limit):
            if (raw[at] == as_typed) if short else (stems_[at] == wanted):
                hit = at
                break
            if slips and _close(as_typed, raw[at]):
                hit, exact = at, False
                break
        if hit is None:
            return None
        position, last = hit + 1, hit
    return "exact" if exact else "fuzzy"


def _close(wanted: str, typed: str) -> bool:
    # Words of quite different length cannot reach the ratio: skip the arithmetic.
    if len(wanted) < FUZZY_MIN_LENGTH or abs(len(wanted) - len(typed)) > 2:
        return False
    return fuzz.ratio(wanted, typed) >= FUZZY_RATIO


def _decide(scores: dict[Intent, float], *, short: bool) -> Meaning:
    if not scores:
        return Meaning()
    if Intent.FEAR in scores:
        return Meaning(intent=Intent.FEAR)
    harms = [intent for intent in PRIORITY if intent in scores]
    if harms:
        # Several kinds of harm named: the most specific phrase wins, then the order.
        return Meaning(intent=max(harms, key=lambda intent: scores[intent]))
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    topics = [(intent, score) for intent, score in ranked if intent not in CLEAR_CHOICE]
    small = [(intent, score) for intent, score in ranked if intent in CLEAR_CHOICE]
    # "yes", "hello" win over weaker topic words, or as a reply of a word or two
    # ("sigur" is "sure", not safety); in a sentence, the topic it names wins.
    if not topics or (
        small and (small[0][1] > topics[0][1] or (short and small[0][1] == topics[0][1]))
    ):
        if (
            len(small) > 1
            and small[1][1] == small[0][1]
            and {small[0][0], small[1][0]} >= _YES_AND_NO
        ):
            return Meaning()  # "yes" and "no" as strongly: the question is asked again
        return Meaning(intent=ranked[0][0] if not small else small[0][0])
    best, score = topics[0]
    if len(topics) > 1 and topics[1][1] == score:
        return Meaning(intent=best, other=topics[1][0])
    return Meaning(intent=best)


@cache
def _exit_words(language: str) -> tuple[tuple[Intent, frozenset[str], tuple[str, ...]], ...]:
    """Per intent: the exact keywords (as normalised) and their folded forms."""
    words = catalogue(language)
    found = []
    for intent, key in EXIT_KEYS.items():
        exact = set(words.words(key)) | (
            set(words.fallback.words(key)) if words.fallback else set()
        )
        found.append((intent, frozenset(exact), tuple(sorted({fold(word) for word in exact}))))
    return tuple(found)


def _near_exit(folded: str, said: str, words: Catalogue) -> Intent | None:
    """An exit or forget word typed with a slip ("exitt", "salír"): ask, never act."""
    message = folded.strip(_PUNCTUATION)
    if len(message) > 16:
        return None  # a sentence, not a mistyped word
    for intent, exact, targets in _exit_words(words.language.code):
        if said in exact:
            return None  # the exact word: the keyword trigger acts on it
        for target in targets:
            if message == target:
                return intent
            allowed = 0 if len(target) < 4 else 1 if len(target) < 7 else 2
            if allowed and Levenshtein.distance(message, target) <= allowed:
                return intent
    return None
