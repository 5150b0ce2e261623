"""Locale catalogues: monolingual gettext files read with Babel.

Each catalogue maps a stable key (``welcome``, ``option.hotlines``) to the text in
one language. A missing key falls back to English so a person always gets an answer;
``helpline content check`` makes sure that never happens in a release.
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar, cast

from babel import Locale
from babel.messages.pofile import read_po

import content
from content import COUNTRY_NAMES_FILE, LANGUAGES_FILE

LOCALES_DIR = content.LOCALES_DIR

DEFAULT_LANGUAGE = "en"
REVIEWED_FLAG = "reviewed"
UNREVIEWED_FLAG = "unreviewed"


@dataclass(frozen=True, slots=True)
class Entry:
    text: str
    reviewed: bool
    line: int


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    countries: tuple[str, ...]
    telegram_codes: tuple[str, ...]
    name: str | None = None
    base: str | None = None
    """A regional variant's base language (``pt`` for ``pt_PT``): its catalogue holds only
    the entries that differ, every other entry is the base language's."""

    @property
    def native_name(self) -> str:
        name = self.name or display_name(self.code) or self.code
        return name[:1].upper() + name[1:]

    @property
    def direction(self) -> str:
        return _direction(self.code)


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Catalogue:
    language: Language
    entries: Mapping[str, Entry]
    fallback: Catalogue | None = field(default=None, repr=False)
    _keywords: dict[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _derived: dict[Callable[[Catalogue], object], object] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def derived(self, build: Callable[[Catalogue], T]) -> T:
        """``build(self)``, computed once per catalogue: an index or folded word list
        that every message would otherwise rebuild."""
        found = self._derived.get(build)
        if found is None:
            found = self._derived[build] = build(self)
        return cast(T, found)

    def text(self, key: str, *, discreet: bool = False, **params: str | None) -> str:
        """Return the text for ``key`` with its placeholders filled.

        A placeholder given as None names a line that does not exist: the sentences that
        use it are left out whole, so no reply ever reads "call -" or "call ." with a hole.
        """
        if discreet and self.has(f"{key}.discreet"):
            key = f"{key}.discreet"
        missing = {name for name, value in params.items() if value is None}
        template = without_sentences(self.raw(key), missing, self.language.code)
        filled = {name: value for name, value in params.items() if value is not None}
        if self.language.direction == "rtl":
            filled = {name: _isolate_numbers(value) for name, value in filled.items()}
        return template.format_map(_Params(filled))

    def has(self, key: str) -> bool:
        return key in self.entries or (self.fallback is not None and self.fallback.has(key))

    def raw(self, key: str) -> str:
        entry = self.entries.get(key)
        if entry is not None:
            return entry.text
        if self.fallback is not None:
            return self.fallback.raw(key)
        raise KeyError(key)

    def words(self, key: str) -> tuple[str, ...]:
        """Return the comma-separated keyword list stored under ``key``, normalised."""
        # Every message checks a dozen keyword lists: normalise each list once.
        cached = self._keywords.get(key)
        if cached is None:
            own = self.entries.get(key)
            text = own.text if own is not None else ""
            cached = self._keywords[key] = tuple(normalise(w) for w in text.split(",") if w.strip())
        return cached

    def first_word(self, key: str) -> str:
        words = self.words(key) or (self.fallback.words(key) if self.fallback else ())
        return words[0].upper() if words else ""

    def country_name(self, code: str) -> str:
        return _country_name(self.language.code, code)


_SENTENCE_END = re.compile(r"(?<=[.!?。！？؟।])\s*")
_UNSPACED_END = re.compile(r"(?<=[。！？])")


def without_sentences(template: str, missing: set[str], language: str = "en") -> str:
    """``template`` without the sentences that use any of the ``missing`` placeholders."""
    if not missing or not any("{" + name + "}" in template for name in missing):
        return template
    marks = tuple("{" + name + "}" for name in missing)
    if language == "th":
        return _without_thai_phrases(template, marks)
    pieces = [piece for piece in _SENTENCE_END.split(template) if piece]
    kept = [piece for piece in pieces if not any(mark in piece for mark in marks)]
    joiner = "" if language == "zh" else " "
    return joiner.join(kept).strip()


def _without_thai_phrases(template: str, marks: tuple[str, ...]) -> str:
    # Thai separates phrases, not words, with spaces: drop the phrase holding the
    # placeholder with the short verb before it ("โทร", "จำ") and particle after ("ไว้").
    chunks = template.split(" ")
    drop: set[int] = set()
    for index, chunk in enumerate(chunks):
        if any(mark in chunk for mark in marks):
            drop.add(index)
            if index > 0 and len(chunks[index - 1]) <= 6:
                drop.add(index - 1)
            if index + 1 < len(chunks) and len(chunks[index + 1]) <= 3:
                drop.add(index + 1)
    return " ".join(chunk for index, chunk in enumerate(chunks) if index not in drop).strip()


_LEFT_TO_RIGHT_ISOLATE, _POP_DIRECTIONAL_ISOLATE = "\u2066", "\u2069"


def _isolate_numbers(value: str) -> str:
    """Keep a phone number in one left-to-right piece inside right-to-left text.

    Without it, Arabic text shows "1-800-843-5678" broken and reordered at a line end,
    which can send someone to a wrong number.
    """
    if not any(char.isdigit() for char in value):
        return value
    return f"{_LEFT_TO_RIGHT_ISOLATE}{value}{_POP_DIRECTIONAL_ISOLATE}"


@cache
def _direction(language: str) -> str:
    from bot.place_index import locale_word  # it reads this module's language list

    indexed = locale_word("direction", language)
    if indexed is not None:
        return indexed
    return "rtl" if Locale.parse(language).text_direction == "rtl" else "ltr"


@cache
def display_name(language: str) -> str:
    """A language's name in itself, from the index (Babel's locale data costs ~1 MB each)."""
    from bot.place_index import locale_word

    indexed = locale_word("display_name", language)
    if indexed is not None:
        return indexed
    return Locale.parse(language).get_display_name(language) or ""


@cache
def _country_name(language: str, country: str) -> str:
    own = content_country_names().get(language, {}).get(country)
    if own is not None:
        return own
    from bot.place_index import territory_names  # it reads this module's language list

    territories = territory_names(language) or territory_names(
        _CLDR_FALLBACK.get(language, DEFAULT_LANGUAGE)
    )
    return territories.get(country, country)


_CLDR_FALLBACK = {"ht": "fr"}
"""CLDR has no country names in Haitian Creole: French ones, with content's Creole spellings."""


@cache
def content_country_names() -> dict[str, dict[str, str]]:
    """language -> ISO code -> name, for names CLDR lacks (content/country_names.toml)."""
    with COUNTRY_NAMES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return {code: dict(names) for code, names in data.get("names", {}).items()}


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        # A placeholder the caller did not fill is shown as-is rather than crashing a
        # reply to someone who may be in danger; content check catches it before release.
        return "{" + key + "}"


_SPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,!?¡¿;:'\"()[]«»。！？،؟…"


def normalise(text: str) -> str:
    """Fold case, width and spacing so keywords match however they were typed."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    return _SPACE.sub(" ", folded).strip().strip(_EDGE_PUNCTUATION).strip()


def placeholders(template: str) -> frozenset[str]:
    return frozenset(
        name for _, name, _, _ in string.Formatter().parse(template) if name is not None and name
    )


def read_catalogue_file(path: Path) -> dict[str, Entry]:
    with path.open("rb") as handle:
        catalog = read_po(handle, abort_invalid=True)
    entries: dict[str, Entry] = {}
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not isinstance(message.string, str):
            continue
        lineno = message.lineno if isinstance(message.lineno, int) else 0
        entries[message.id] = Entry(
            text=message.string, reviewed=REVIEWED_FLAG in message.flags, line=lineno
        )
    return entries


@cache
def languages() -> tuple[Language, ...]:
    with LANGUAGES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return tuple(
        Language(
            code=code,
            countries=tuple(spec.get("countries", ())),
            telegram_codes=tuple(spec.get("telegram", (code,))),
            name=spec.get("name"),
            base=spec.get("base"),
        )
        for code, spec in data["languages"].items()
    )


def base_language(code: str) -> str:
    """The language a regional variant belongs to (``pt`` for ``pt_PT``); else ``code``."""
    for language in languages():
        if language.code == code:
            return language.base or code
    return code


def variants(code: str) -> tuple[str, ...]:
    """``code`` and its regional variants: an advocate who reads ``pt`` reads ``pt_PT``."""
    return (code, *(language.code for language in languages() if language.base == code))


def language_codes() -> tuple[str, ...]:
    return tuple(language.code for language in languages())


def catalogue_path(code: str, domain: str = "helpline") -> Path:
    return LOCALES_DIR / code / "LC_MESSAGES" / f"{domain}.po"


def catalogue_files(code: str) -> list[Path]:
    """Every domain file of one language (helpline.po, canned.po, referrals.po …)."""
    return sorted((LOCALES_DIR / code / "LC_MESSAGES").glob("*.po"))


def read_language(code: str) -> dict[str, Entry]:
    """Merge a language's domains into one key space; a key defined twice is an error."""
    entries: dict[str, Entry] = {}
    for path in catalogue_files(code):
        for key, entry in read_catalogue_file(path).items():
            if key in entries:
                raise ValueError(f"{path.name}: key {key!r} is defined in two domains")
            entries[key] = entry
    return entries


def merged_language(code: str) -> dict[str, Entry]:
    """A language's entries; a regional variant's own entries over its base language's."""
    language = next((item for item in languages() if item.code == code), None)
    if language is None or language.base is None:
        return read_language(code)
    return {**read_language(language.base), **read_language(code)}


@cache
def catalogue(code: str) -> Catalogue:
    """Return the catalogue for ``code``, falling back to English for unknown codes."""
    by_code = {language.code: language for language in languages()}
    if code not in by_code:
        code = DEFAULT_LANGUAGE
    fallback = None if code == DEFAULT_LANGUAGE else catalogue(DEFAULT_LANGUAGE)
    return Catalogue(language=by_code[code], entries=merged_language(code), fallback=fallback)


def language_for_telegram(code: str | None) -> str | None:
    if not code:
        return None
    wanted = code.casefold()
    for language in languages():
        if wanted in language.telegram_codes:
            return language.code
    for language in languages():
        if wanted.split("-")[0] == language.code:
            return language.code
    return None


def language_for_country(country: str | None) -> str | None:
    if not country:
        return None
    for language in languages():
        if country.upper() in language.countries:
            return language.code
    return None
