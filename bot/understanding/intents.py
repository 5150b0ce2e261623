"""The things a person may mean, and which of them are safe to guess."""

from __future__ import annotations

from enum import StrEnum


class Intent(StrEnum):
    FEAR = "fear"
    # Descriptions of exploitation: the right information, and an urgent ticket if they
    # then ask for a person.
    DOCUMENTS = "documents"
    WAGES = "wages"
    CONFINED = "confined"
    DEBT = "debt"
    FORCED_SEX = "forced_sex"
    MINOR = "minor"
    TALK = "talk"
    HOTLINES = "hotlines"
    TEXT_LINE = "text_line"
    SAFETY = "safety"
    SHELTER = "shelter"
    FOOD = "food"
    LEGAL = "legal"
    MEDICAL = "medical"
    YES = "yes"
    NO = "no"
    GREETING = "greeting"
    EXIT = "exit"
    FORGET = "forget"
    STOP = "stop"
    MENU = "menu"
    LANGUAGE = "language"
    DISCREET = "discreet"
    HELP = "help"


EXPLOITATION = frozenset(
    {
        Intent.DOCUMENTS,
        Intent.WAGES,
        Intent.CONFINED,
        Intent.DEBT,
        Intent.FORCED_SEX,
        Intent.MINOR,
    }
)
"""Words that describe exploitation: remembered (as a flag) until the session ends."""

NEVER_GUESSED = frozenset({Intent.EXIT, Intent.FORGET, Intent.STOP})
"""Acting on a wrong guess here would hurt: no typos, no loose phrases; near misses are
asked about (exit, forget) or ignored (stop belongs to the carrier)."""

PRIORITY = (
    Intent.FEAR,
    Intent.MINOR,
    Intent.FORCED_SEX,
    Intent.CONFINED,
    Intent.DOCUMENTS,
    Intent.DEBT,
    Intent.WAGES,
)
"""On a tie these win outright: someone describing harm is not asked what they meant."""

CLEAR_CHOICE = frozenset({Intent.YES, Intent.NO, Intent.GREETING})
"""Small words that give way to any topic named in the same message."""
