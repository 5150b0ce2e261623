"""The language menu's pages: twenty-one languages in their own scripts do not fit one SMS.

Each name is written in its own script, so the menu is UCS-2 and five segments long:
more than a basic phone reliably puts together (bot/render.SEGMENT_BUDGET). The first
page holds as many languages as fit the budget and ends with "More languages"; the
second holds the rest and "Back". `helpline content check` prints both pages' sizes in
every menu language and fails when one does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import Catalogue, Language, languages
from bot.render import SEGMENT_BUDGET
from bot.segments import measure

MORE = "more"
"""The argument of the "More languages" choice (no language code is spelled so)."""
BACK_KEY = "topic.option.back"
MORE_KEY = "language.more"
TITLE_KEY = "language.prompt"


def menu_text(title: str, labels: Sequence[str]) -> str:
    """The menu as SMS shows it: the title, then one numbered line per choice."""
    lines = [title, *(f"{index} {label}" for index, label in enumerate(labels, start=1))]
    return "\n".join(lines)


def fits(title: str, labels: Sequence[str], budget: int = SEGMENT_BUDGET) -> bool:
    return measure(menu_text(title, labels)).count <= budget


@dataclass(frozen=True, slots=True)
class Pages:
    first: tuple[Language, ...]
    rest: tuple[Language, ...]


def pages(words: Catalogue, first: str | None = None, *, discreet: bool = False) -> Pages:
    """The menu's two pages in ``words``' language.

    ``first``: a language to put at the top (the SIM country's), when it is one we speak.
    """
    title = words.text(TITLE_KEY, discreet=discreet)
    more = words.text(MORE_KEY, discreet=discreet)
    ordered = sorted(languages(), key=lambda language: language.code != first)
    front: list[Language] = []
    for language in ordered:
        if not fits(title, [*(item.native_name for item in front), language.native_name, more]):
            break
        front.append(language)
    if len(front) == len(ordered) - 1:
        front = ordered  # one left over: no second page just for it
    return Pages(tuple(front), tuple(ordered[len(front) :]))


def page_sizes(words: Catalogue) -> tuple[tuple[int, int], tuple[int, int]]:
    """(choices, SMS segments) of the first page and of the second, in ``words``' language."""
    menu = pages(words)
    title = words.text(TITLE_KEY)
    first = [*(item.native_name for item in menu.first), words.text(MORE_KEY)]
    rest = [*(item.native_name for item in menu.rest), words.text(BACK_KEY)]
    return (
        (len(first), measure(menu_text(title, first)).count),
        (len(rest), measure(menu_text(title, rest)).count),
    )
