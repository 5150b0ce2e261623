"""Words of imminent danger, found anywhere in a message (accents and case ignored)."""

from __future__ import annotations

from bot.i18n import Catalogue
from bot.understanding.text import fold, unspaced

DANGER_WORDS = "keywords.danger"


def contains_danger(text: str, words: Catalogue) -> bool:
    """True when a danger phrase of the person's language or English is in ``text``."""
    said = fold(text)
    phrases = words.words(DANGER_WORDS) + (
        words.fallback.words(DANGER_WORDS) if words.fallback else ()
    )
    padded = f" {_spaced(said)} "
    for phrase in phrases:
        folded = fold(phrase)
        if unspaced(folded):
            if folded in said:
                return True
        elif f" {_spaced(folded)} " in padded:
            return True
    return False


def _spaced(text: str) -> str:
    """Words separated by single spaces, punctuation dropped, so edges match cleanly."""
    return " ".join("".join(c if c.isalnum() or c == "'" else " " for c in text).split())
