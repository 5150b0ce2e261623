"""Guess a person's language from the first thing they write, offline and cheaply.

Scripts decide most cases (Cyrillic, Arabic, Thai, Han); letters only one language
in the set uses decide others (Vietnamese, Romanian, Ukrainian); Latin-script text
is matched against each catalogue's greetings and keywords. No guess is better than
a wrong one: the caller falls back to the channel's hint, then to a language menu.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

from bot.i18n import catalogue, language_codes, normalise

_UKRAINIAN_ONLY = set("іїєґ")
_RUSSIAN_ONLY = set("ыэъё")
_VIETNAMESE_ONLY = set("đơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
_ROMANIAN_ONLY = set("șțşţ")
_KEYWORD_KEYS = (
    "keywords.greetings",
    "keywords.menu",
    "keywords.help",
    "keywords.language",
    "keywords.talk",
    "keywords.danger",
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _script_guess(text: str) -> str | None:
    letters = set(text)
    if any("\u0400" <= char <= "\u04ff" for char in text):
        if letters & _UKRAINIAN_ONLY:
            return "uk"
        return "ru" if letters & _RUSSIAN_ONLY else None
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
    return None


@dataclass(frozen=True, slots=True)
class _Clues:
    """Every catalogue's keywords, indexed once: single words by word, phrases in a list."""

    words: dict[str, list[tuple[str, int]]]
    phrases: list[tuple[str, str, int]]


@cache
def _clues() -> _Clues:
    words: dict[str, list[tuple[str, int]]] = defaultdict(list)
    phrases: list[tuple[str, str, int]] = []
    for code in language_codes():
        for key in _KEYWORD_KEYS:
            weight = 2 if key == "keywords.greetings" else 1
            for keyword in catalogue(code).words(key):
                if " " in keyword:
                    phrases.append((f" {keyword} ", code, weight))
                else:
                    words[keyword].append((code, weight))
    return _Clues(dict(words), phrases)


def _keyword_guess(text: str) -> str | None:
    clues = _clues()
    scores: Counter[str] = Counter()
    for word in set(_WORD.findall(text)):
        for code, weight in clues.words.get(word, ()):
            scores[code] += weight
    padded = f" {text} "
    for phrase, code, weight in clues.phrases:
        if phrase in padded:
            scores[code] += weight
    if not scores:
        return None
    best = max(scores.values())
    leaders = [code for code, score in scores.items() if score == best]
    return leaders[0] if len(leaders) == 1 else None


def guess_language(text: str) -> str | None:
    """Return a language code when the text makes it clear, else None."""
    folded = normalise(text)
    if not folded:
        return None
    return _script_guess(folded) or _keyword_guess(folded)
