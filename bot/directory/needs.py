"""The kinds of help a person can ask for, and how HSDS taxonomy terms map to them.

A service belongs to a need when one of its taxonomy terms (through ``attribute``
rows) has the need's own code (``shelter``, ``legal`` …), or a code or name that
starts with one of the need's words below. Operators whose data uses another
taxonomy can add terms with these codes to their package; docs/directory.md says how.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Need(StrEnum):
    SHELTER = "shelter"
    LEGAL = "legal"
    MEDICAL = "medical"
    COUNSELLING = "counselling"
    LABOUR = "labour"
    YOUTH = "youth"
    SUBSTANCE = "substance"


# Words a taxonomy term's code or name may start with (after folding), per need.
# Codes from the AIRS/211 taxonomy appear as prefixes (BH-1800 is shelter, FT legal …).
_TERM_WORDS: dict[Need, tuple[str, ...]] = {
    Need.SHELTER: ("shelter", "housing", "emergency housing", "refuge", "safe house", "bh 1800"),
    Need.LEGAL: ("legal", "immigration", "law", "asylum", "visa", "ft "),
    Need.MEDICAL: ("medical", "health care", "healthcare", "clinic", "health", "ln "),
    Need.COUNSELLING: (
        "counselling",
        "counseling",
        "mental health",
        "therapy",
        "trauma",
        "psychological",
        "rp ",
    ),
    Need.LABOUR: ("labour", "labor", "worker", "employment rights", "wage", "workplace"),
    Need.YOUTH: ("youth", "child", "minor", "young people", "teen", "adolescent"),
    Need.SUBSTANCE: ("substance", "addiction", "drug", "alcohol", "harm reduction", "rx 8"),
}


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: 'Los Ángeles' and 'los angeles' match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s\-_.,'’()/]+", " ", bare).strip()


def needs_of_term(code: str, name: str) -> set[Need]:
    """Return the needs a taxonomy term stands for (often none)."""
    found: set[Need] = set()
    for text in (fold(code), fold(name)):
        if not text:
            continue
        padded = text + " "
        for need, words in _TERM_WORDS.items():
            if text == need.value or any(padded.startswith(word) for word in words):
                found.add(need)
    return found
