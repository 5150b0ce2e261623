"""The console in the advocate's own language: catalogue strings, dates and numbers.

Console strings live in the ``console`` gettext domain (keys ``console.*``) beside the
help line's other catalogues, so they are merged, checked and reviewed the same way.
Languages listed under ``[console]`` in content/languages.toml must have every console
key; any other language falls back to English, key by key. Dates, times and numbers
are formatted with Babel in the same language; Arabic pages lay out right to left.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from bot.countries import country_codes
from bot.i18n import DEFAULT_LANGUAGE, catalogue, language_codes, placeholders
from bot.types import Channel
from content import LANGUAGES_FILE

PREFIX = "console."
DEFAULT_ZONE = "UTC"
LANGUAGE_COOKIE = "helpline_console_language"
"""A language code only (never who someone is): the sign-in page speaks it before a session exists."""

requested_language: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "console_language", default=None
)
"""The language this request's console page should speak (set by ConsoleLanguage)."""
requested_zone: contextvars.ContextVar[str] = contextvars.ContextVar(
    "console_zone", default=DEFAULT_ZONE
)
"""The IANA time zone this request's console page shows times in (set by ConsoleLanguage)."""
wanted_language: contextvars.ContextVar[str] = contextvars.ContextVar("console_wanted", default="")
"""The advocate's own language when the console has no catalogue for it ("" otherwise)."""

PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
"""CLDR plural categories: a plural family ``inbox.p.<name>`` has one key per category its
language uses (``.other`` always), chosen by Babel here and by Intl.PluralRules in the page."""


@cache
def console_languages() -> tuple[str, ...]:
    """The languages whose console strings are complete (content/languages.toml [console])."""
    with LANGUAGES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    listed = tuple(data.get("console", {}).get("languages", (DEFAULT_LANGUAGE,)))
    known = set(language_codes())
    return tuple(code for code in listed if code in known)


def chosen(code: str | None) -> str:
    """A console language for ``code``: itself when the console speaks it, else English."""
    if code and code in console_languages():
        return code
    return DEFAULT_LANGUAGE


def from_accept_language(header: str) -> str | None:
    """The first console language the browser asks for (``Accept-Language``), if any."""
    ranked: list[tuple[float, str]] = []
    for part in header.split(",")[:20]:
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        ranked.append((quality, tag.split("-")[0].casefold()))
    for _, code in sorted(ranked, key=lambda item: -item[0]):
        if code in console_languages():
            return code
    return None


@cache
def plural_categories(code: str) -> frozenset[str]:
    """The CLDR plural categories ``code`` uses ("other" always): Ukrainian one/few/many/other."""
    return frozenset({"other", *Locale.parse(code).plural_form.tags})


@dataclass(frozen=True, slots=True)
class Words:
    """One console language: ``t`` for strings, the rest for numbers and times.

    ``zone`` is the advocate's IANA time zone: every time shown is in it. ``wanted`` is
    the advocate's own language when the console has no catalogue for it (the page says
    so), else "".
    """

    code: str
    zone: str = DEFAULT_ZONE
    wanted: str = ""

    @property
    def dir(self) -> str:
        return catalogue(self.code).language.direction

    @property
    def name(self) -> str:
        return catalogue(self.code).language.native_name

    def t(self, key: str, **params: str | int) -> str:
        """The console string ``console.<key>`` with its placeholders filled."""
        words = catalogue(self.code)
        filled: dict[str, str | None] = {
            name: self.number(v) if isinstance(v, int) else v for name, v in params.items()
        }
        return words.text(PREFIX + key, discreet=False, **filled)

    def has(self, key: str) -> bool:
        return catalogue(self.code).has(PREFIX + key)

    def plural(self, family: str, count: int, **params: str | int) -> str:
        """The form of ``console.<family>`` for ``count`` in this language, filled."""
        category = str(Locale.parse(self.code).plural_form(count))
        key = f"{family}.{category}"
        return self.t(key if self.has(key) else f"{family}.other", count=count, **params)

    def html(self, key: str, **params: Markup) -> Markup:
        """A sentence whose placeholders are markup (``<code>…</code>``); its own text escaped."""
        # The catalogue text is escaped first: only the given markup goes in as markup.
        return escape(catalogue(self.code).raw(PREFIX + key)).format(**params)

    def message(self, english: str) -> str:
        """Translate a message the console composed in English (an error), when it is known."""
        for pattern, key in _english_messages():
            found = pattern.match(english)
            if found is not None:
                return self.t(key, **found.groupdict())
        return english

    def number(self, value: float) -> str:
        return str(format_decimal(value, locale=self.code))

    def percent(self, value: float) -> str:
        return str(format_percent(value, locale=self.code))

    def date(self, value: dt.date, form: str = "medium") -> str:
        return str(format_date(value, form, locale=self.code))

    def day(self, value: dt.date) -> str:
        """A short day and month in this language's order ("Nov 3", "3 نوفمبر")."""
        return str(format_skeleton("MMMd", value, locale=self.code))

    def time(self, value: dt.datetime) -> str:
        """A wall-clock time in the advocate's time zone (``value`` naive means UTC)."""
        return str(format_time(_utc(value), "short", tzinfo=self.tzinfo, locale=self.code))

    def datetime(self, value: dt.datetime) -> str:
        return str(format_datetime(_utc(value), "short", tzinfo=self.tzinfo, locale=self.code))

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def weekday(self, index: int) -> str:
        """Monday is 0, as in Python."""
        return str(Locale.parse(self.code).days["format"]["wide"][index])

    def minutes(self, seconds: float) -> str:
        return self.t("unit.minutes", n=self.number(round(seconds / 60, 1)))

    def phrases(self, keys: Sequence[str]) -> dict[str, str]:
        """English sentence -> this language's, for a page script that writes English ones."""
        english = Words(DEFAULT_LANGUAGE)
        return {english.t(key): self.t(key) for key in keys}

    def plural_phrases(self, families: Sequence[str]) -> dict[str, dict[str, str]]:
        """English ``other`` form -> this language's forms by CLDR category, for the page."""
        english = Words(DEFAULT_LANGUAGE)
        own = catalogue(self.code)
        return {
            english.t(f"{family}.other"): {
                category: self.t(f"{family}.{category}")
                for category in PLURAL_CATEGORIES
                if f"{PREFIX}{family}.{category}" in own.entries
            }
            for family in families
        }

    def language_list(self, codes: Sequence[str]) -> str:
        """Language names as a list in this language ("English and Spanish", "…")."""
        return str(format_list([self.language_name(c) for c in codes], locale=self.code))

    def language_name(self, code: str) -> str:
        return str(Locale.parse(self.code).languages.get(code, code))

    def country_name(self, code: str) -> str:
        if not code:
            return self.t("unknown_country")
        return catalogue(self.code).country_name(code)

    def channel_name(self, key: str) -> str:
        return self.t(f"channel.{key}") if self.has(f"channel.{key}") else key

    def page_names(self) -> dict[str, dict[str, str]]:
        """The names a page script shows for the codes it is sent: every language the help
        line speaks, every channel and every country, in this language ("" is the unknown
        country)."""
        return {
            "languages": {code: self.language_name(code) for code in language_codes()},
            "channels": {channel.value: self.channel_name(channel.value) for channel in Channel},
            "countries": {code: self.country_name(code) for code in ("", *sorted(country_codes()))},
        }


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@cache
def _english_messages() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Messages the console composes in English (errors, notices) as patterns back to keys."""
    english = catalogue(DEFAULT_LANGUAGE)
    found = []
    for key, entry in english.entries.items():
        if key.startswith((PREFIX + "error.", PREFIX + "notice.")):
            pattern = re.escape(entry.text)
            for name in placeholders(entry.text):
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>.+?)")
            found.append((re.compile(pattern + r"\Z"), key[len(PREFIX) :]))
    return tuple(found)


INBOX_PHRASES = (
    "inbox.js.back_to_queue",
    "inbox.js.choose_outcome",
    "inbox.js.claim",
    "inbox.js.closed",
    "inbox.js.connected",
    "inbox.js.disconnected",
    "inbox.js.handover",
    "inbox.js.left",
    "inbox.js.message_not_delivered",
    "inbox.js.nobody_waiting",
    "inbox.js.not_connected",
    "inbox.js.not_delivered",
    "inbox.js.not_sent",
    "inbox.js.not_yours",
    "inbox.js.reassign",
    "inbox.js.relay",
    "inbox.js.remove_transcript",
    "inbox.js.requeued",
    "inbox.js.searching",
    "inbox.js.send_to_person",
    "inbox.js.transferred",
    "inbox.js.type_place",
    "inbox.js.you",
    "inbox.js.you_canned",
    "inbox.js.you_card",
    "inbox.js.you_service",
    "inbox.js.your_chats",
    "inbox.js.yours_again",
    "inbox.f.chat_with",
    "inbox.f.claim",
    "inbox.f.could_not",
    "inbox.f.seconds",
    "inbox.f.minutes",
    "inbox.f.hours",
    "inbox.server.unknown_place",
    "inbox.server.no_language",
    "inbox.server.none_found",
    "inbox.server.taken",
    "inbox.server.kind",
    "inbox.server.outcome",
    "inbox.server.no_chat",
    "inbox.server.search_again",
    "inbox.server.not_open",
    "inbox.server.not_waiting",
    "inbox.server.full",
    "inbox.server.belongs",
    "inbox.f.ended",
    "inbox.f.new_message",
    "inbox.f.new_person",
    "inbox.f.new_person_urgent",
    "inbox.f.opened",
    "inbox.f.opened_nothing_saved",
    "inbox.f.reassign",
    "inbox.f.reassign_to",
    "inbox.f.waiting",
    "inbox.f.yours_again",
    "inbox.js.urgent",
    "inbox.js.waiting",
    "inbox.f.with_advocate",
    "inbox.js.with_an_advocate",
    "inbox.js.not_your_language",
    "inbox.js.the_queue",
    "inbox.js.cannot_connect_see_above",
    "inbox.js.cannot_connect_refused",
    "inbox.js.notification_title",
    "inbox.f.they_will_receive",
    "inbox.f.in_your_language",
    "inbox.js.open_chat_with",
    "inbox.js.ended",
    "inbox.f.last_from_person",
    "inbox.js.cut",
    "inbox.f.advocate_online",
    "inbox.f.advocate_offline",
    "inbox.f.language_count",
    "inbox.f.language_count_urgent",
    "inbox.f.showing",
)
"""Sentences the inbox's script writes (console.js), sent to the page in the advocate's language."""


INBOX_PLURALS = (
    "inbox.p.characters",
    "inbox.p.counter",
    "inbox.p.counter_too_long",
    "inbox.p.missed",
    "inbox.p.not_sent_long",
    "inbox.p.server_too_long",
    "inbox.p.services",
    "inbox.p.unread",
    "inbox.p.waiting_count",
)
"""Sentences with a count the inbox's script writes: one form per plural category."""


def inbox_phrases() -> tuple[str, ...]:
    return INBOX_PHRASES


def inbox_plurals() -> tuple[str, ...]:
    return INBOX_PLURALS


def words(code: str | None = None, zone: str | None = None) -> Words:
    """The console's words in ``code``, or in this request's language, or English."""
    return Words(
        chosen(code or requested_language.get()),
        zone or requested_zone.get(),
        "" if code else wanted_language.get(),
    )


def choices() -> list[tuple[str, str]]:
    """(code, native name) of every language the console speaks."""
    return [(code, catalogue(code).language.native_name) for code in console_languages()]
