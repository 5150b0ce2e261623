"""What a button, a menu number, a keyword or an understood sentence asks for.

A payload names a topic (a member of ``Topic``: a misspelt one does not type-check)
and an optional argument. It travels to Telegram as callback data and back as text;
``Payload.parse`` is the one place where such text becomes a payload again, and an
unknown topic parses to ``None`` rather than to a silent "did not understand".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topic(StrEnum):
    START = "start"
    MENU = "menu"
    LANGUAGE = "language"
    LANG = "lang"
    HOTLINES = "hotlines"
    COUNTRY = "country"
    WHERE = "where"
    SAFETY = "safety"
    SERVICES = "services"
    TALK = "talk"
    MEDIA = "media"
    EXIT = "exit"
    FORGET = "forget"
    HELP = "help"
    DISCREET = "discreet"
    CONFIRM = "confirm"
    FEAR = "fear"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Payload:
    topic: Topic
    argument: str = ""

    def __str__(self) -> str:
        return f"{self.topic}:{self.argument}" if self.argument else str(self.topic)

    @classmethod
    def parse(cls, text: str | None) -> Payload | None:
        """Read a payload back from a button's callback data; ``None`` if no topic has it."""
        if not text:
            return None
        topic, _, argument = text.partition(":")
        if topic not in Topic.__members__.values():
            return None
        return cls(Topic(topic), argument)


ANY_TIME = frozenset({Topic.EXIT, Topic.FORGET})
"""Topics that act at once, even as the first message of a session."""
