"""Words of imminent danger, found anywhere in a message (accents and case ignored)."""

from __future__ import annotations

import unicodedata

from bot.i18n import Catalogue
from bot.understanding.text import fold, unspaced

DANGER_WORDS = "keywords.danger"


def contains_danger(text: str, words: Catalogue) -> bool:
    """True when a danger phrase of the person's language or English is in ``text``."""
    said = fold(text)
    substrings, spaced = words.derived(_danger_phrases)
    if any(phrase in said for phrase in substrings):
        return True
    padded = f" {_spaced(said)} "
    return any(phrase in padded for phrase in spaced)


def _danger_phrases(words: Catalogue) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The language's and English danger phrases, folded once: those found as
    substrings (Chinese, Thai, Korean), then the spaced ones padded for whole words."""
    phrases = words.words(DANGER_WORDS) + (
        words.fallback.words(DANGER_WORDS) if words.fallback else ()
    )
    folded = [fold(phrase) for phrase in phrases]
    return (
        tuple(phrase for phrase in folded if unspaced(phrase)),
        tuple(f" {_spaced(phrase)} " for phrase in folded if not unspaced(phrase)),
    )


def _spaced(text: str) -> str:
    """Words separated by single spaces, punctuation dropped, so edges match cleanly."""
    return " ".join("".join(c if _in_word(c) else " " for c in text).split())


def _in_word(char: str) -> bool:
    # Devanagari vowel signs are marks, not letters: they belong inside the word.
    return char.isalnum() or char == "'" or unicodedata.category(char).startswith("M")
