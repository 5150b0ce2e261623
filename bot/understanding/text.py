"""Fold what a person typed so that case, accents, width and spacing do not matter.

Accents are dropped (people type "ayudame" for "ayúdame", "хочу" for "хочу́") except
in Thai, where the marks are vowels and tones that change the word. Chinese and Thai
do not put spaces between words, so their phrases are found as substrings.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STEMMERS = {
    "en": "english",
    "es": "spanish",
    "pt": "portuguese",
    "fr": "french",
    "ro": "romanian",
    "ru": "russian",
    # Snowball has no Ukrainian; the Russian rules strip most of the shared endings.
    "uk": "russian",
    "ar": "arabic",
}


def fold(text: str, *, keep_marks: bool = False) -> str:
    """Lower case, compatibility width, no accents (Thai marks kept), single spaces.

    ``keep_marks``: keep accents too (Vietnamese tones tell "sợ", afraid, from "số",
    number; they are dropped only when the person typed none).
    """
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(
        char
        for char in decomposed
        if keep_marks or not unicodedata.combining(char) or "\u0e00" <= char <= "\u0e7f"
    )
    # Arabic: tatweel and the hamza forms people type interchangeably.
    kept = kept.replace("\u0640", "").translate(_ARABIC_LETTERS)
    return " ".join(unicodedata.normalize("NFC", kept).split())


def has_marks(text: str) -> bool:
    """True when the text carries accents (a Vietnamese message typed with its tones)."""
    decomposed = unicodedata.normalize("NFD", text)
    return any(unicodedata.combining(char) for char in decomposed) or "đ" in text.casefold()


_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ة": "ه", "ى": "ي"})


def unspaced(text: str) -> bool:
    """Chinese and Thai: words are not separated by spaces."""
    return any("\u4e00" <= char <= "\u9fff" or "\u0e00" <= char <= "\u0e7f" for char in text)


def tokens(folded: str) -> list[str]:
    return _WORD.findall(folded)


@cache
def _stemmer(language: str) -> snowballstemmer.Stemmer | None:
    name = _STEMMERS.get(language)
    return snowballstemmer.stemmer(name) if name is not None else None


def stems(words: list[str], language: str) -> tuple[str, ...]:
    """Word stems, so "paid", "pay" and "paying" (or "pagan", "pagar") meet."""
    stemmer = _stemmer(language)
    if stemmer is None:
        return tuple(words)
    return tuple(stemmer.stemWords(words))
