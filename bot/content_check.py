"""``helpline content check``: every locale complete, consistent and sized for SMS.

Errors (exit 1): a key missing or extra against English, a placeholder mismatch, an
entry flagged neither reviewed nor unreviewed, a number written into a translation,
a quick-exit word that a carrier would take as an opt-out, a malformed hotline file,
a claim about a line (open day and night, interpreters, private) written into a text
instead of coming from the directory (content/claim_words.toml), an everyday word
("bye", "ok", "пока") that would end a live chat at once (content/everyday_words.toml),
a text that arrives as more than two SMS in any language, an English message longer
than two SMS segments, English above reading grade 6.
Warnings: flagged hotline numbers, entries not checked for 12 months, unreviewed text.
Printed: SMS segments per language and a reading-level figure where a formula exists.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field

from babel.messages.pofile import read_po

from bot.console.words import PLURAL_CATEGORIES, console_languages, plural_categories
from bot.console.words import PREFIX as CONSOLE_PREFIX
from bot.countries import country_codes
from bot.directory.freshness import stale_entries
from bot.hotlines import Directory, DirectoryError, directory
from bot.i18n import (
    DEFAULT_LANGUAGE,
    REVIEWED_FLAG,
    UNREVIEWED_FLAG,
    Entry,
    base_language,
    catalogue,
    catalogue_files,
    language_codes,
    merged_language,
    normalise,
    placeholders,
    read_language,
)
from bot.language_menu import page_sizes
from bot.line_words import FACT_KEYS
from bot.reading_level import label as reading_label
from bot.reading_level import level as reading_level
from bot.render import SEGMENT_BUDGET, sms_parts
from bot.segments import measure
from bot.types import Reply
from content import CLAIM_WORDS_FILE, EVERYDAY_WORDS_FILE

ENGLISH_MAX_SEGMENTS = 2
"""A topic may take two messages; each English message fits in two SMS segments."""
ENGLISH_MAX_GRADE = 6.0
PROSE_MIN_WORDS = 8
MAX_SMS_PER_TEXT = 2
"""A text may arrive as at most two SMS after splitting to the per-message segment budget."""

CARRIER_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        "start",
        "unstop",
        "yes",
        "help",
        "info",
    }
)
_DIGITS = re.compile(r"\d{3,}")
_SAMPLE_VALUES = {
    "exit_word": "EXIT",
    "leave_word": "LEAVE",
    "emergency": "911",
    "hotline": "1-888-373-7888",
    "hotline_name": "National Human Trafficking Hotline",
    "hotline_facts": " It is open day and night. It can get an interpreter.",
    "child_line_name": "Kids Help Phone",
    "crisis_line": "988",
    "crisis_line_name": "988 Lifeline",
    "child_line": "1-800-843-5678",
    "report_line": "1-800-843-5678",
    "country": "United States",
    "name": "National Human Trafficking Hotline",
    "number": "1-888-373-7888",
    "keyword": "HELP",
    "position": "3",
    "minutes": "12",
}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    segments: dict[str, dict[str, tuple[str, int]]] = field(default_factory=dict)
    """language -> key -> (encoding, segments) for every person-facing message."""
    unreviewed: dict[str, int] = field(default_factory=dict)
    coverage: list[str] = field(default_factory=list)
    """Countries with emergency numbers, an anti-trafficking line, a child line."""
    reading: dict[str, float | None] = field(default_factory=dict)
    """language -> reading-level figure over its person-facing texts (None: no formula)."""
    language_menu: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    """language -> (choices, SMS segments) of each page of the language menu."""


def _is_keyword(key: str) -> bool:
    return key.startswith(("keywords.", "intent."))


def check_flags(code: str, report: Report) -> None:
    for path in catalogue_files(code):
        with path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            flags = set(message.flags)
            if REVIEWED_FLAG not in flags and UNREVIEWED_FLAG not in flags:
                report.errors.append(
                    f"{code}/{path.name}:{message.lineno}: {message.id} is flagged neither reviewed nor unreviewed"
                )


@dataclass(frozen=True, slots=True)
class WordRules:
    """Per-language word lists the check enforces, read from content/."""

    claims: dict[str, tuple[str, ...]]
    field_driven: tuple[str, ...]
    everyday: dict[str, tuple[str, ...]]
    live_chat_keys: tuple[str, ...]

    def claim_words(self, code: str) -> tuple[str, ...]:
        return self.claims.get(code, ()) + self.claims.get(DEFAULT_LANGUAGE, ())

    def everyday_words(self, code: str) -> frozenset[str]:
        words = self.everyday.get(code, ()) + self.everyday.get(DEFAULT_LANGUAGE, ())
        return frozenset(normalise(word) for word in words)


def word_rules() -> WordRules:
    with CLAIM_WORDS_FILE.open("rb") as handle:
        claims = tomllib.load(handle)
    with EVERYDAY_WORDS_FILE.open("rb") as handle:
        everyday = tomllib.load(handle)
    return WordRules(
        claims={code: tuple(w.casefold() for w in ws) for code, ws in claims["words"].items()},
        field_driven=tuple(claims.get("field_driven", ())),
        everyday={code: tuple(ws) for code, ws in everyday["words"].items()},
        live_chat_keys=tuple(everyday.get("live_chat_keys", ())),
    )


def _person_facing(key: str) -> bool:
    return not _is_keyword(key) and not _staff_facing(key)


def _staff_facing(key: str) -> bool:
    """The console's own words (console.po): for advocates, never sent as an SMS."""
    return key.startswith(CONSOLE_PREFIX)


def check_claims(code: str, entries: dict[str, Entry], rules: WordRules, report: Report) -> None:
    """A claim about a line may only come from the directory, through facts.* (bot/line_words.py)."""
    words = rules.claim_words(code)
    for key, entry in sorted(entries.items()):
        if not _person_facing(key) or key.startswith(rules.field_driven):
            continue
        text = entry.text.casefold()
        found = sorted({word for word in words if word in text})
        if found:
            report.errors.append(
                f"{code}:{entry.line}: {key} states a line claim {found} that not every line's "
                "directory entry supports; claims come only from facts.* via bot/line_words.py"
            )
    for key in sorted(k for k in entries if k.startswith("facts.") and k not in FACT_KEYS):
        report.errors.append(f"{code}: {key} is not a fact bot/line_words.py can render")


def check_live_chat_words(
    code: str, entries: dict[str, Entry], rules: WordRules, report: Report
) -> None:
    everyday = rules.everyday_words(code)
    for key in rules.live_chat_keys:
        entry = entries.get(key)
        if entry is None:
            continue
        words = {normalise(word) for word in entry.text.split(",") if word.strip()}
        clash = sorted(words & everyday)
        if clash:
            report.errors.append(
                f"{code}: {key} would end a live chat on everyday word(s) {clash}; use an "
                "unusual word or ask before ending the chat"
            )


def check_told_exit_word(code: str, entries: dict[str, Entry], report: Report) -> None:
    """The exit word we tell people ({exit_word}: the first quick-exit word) must also work
    inside a live chat, or the promise in the welcome and consent texts breaks there."""
    told = entries.get("keywords.exit")
    live = entries.get("keywords.exit_live")
    if told is None or live is None:
        return
    first = normalise(told.text.split(",")[0])
    if first not in {normalise(word) for word in live.text.split(",")}:
        report.errors.append(
            f"{code}: the exit word people are told ({first!r}) does not end a live chat; "
            "put it first in keywords.exit_live or choose another first keywords.exit word"
        )


def check_english(
    entries: dict[str, Entry], sizes: dict[str, tuple[str, int]], report: Report
) -> None:
    for key, (_, count) in sorted(sizes.items()):
        if count > ENGLISH_MAX_SEGMENTS:
            report.errors.append(
                f"en:{entries[key].line}: {key} takes {count} SMS segments; keep each message "
                f"to {ENGLISH_MAX_SEGMENTS} (split a topic into two messages)"
            )
    for key, entry in sorted(entries.items()):
        if not _person_facing(key) or len(entry.text.split()) < PROSE_MIN_WORDS:
            continue
        text_grade = reading_level([entry.text], DEFAULT_LANGUAGE)
        if text_grade is not None and text_grade > ENGLISH_MAX_GRADE:
            report.errors.append(
                f"en:{entry.line}: {key} reads at grade {text_grade:.1f}, above {ENGLISH_MAX_GRADE:.0f}"
            )
    grade = report.reading.get(DEFAULT_LANGUAGE)
    if grade is not None and grade > ENGLISH_MAX_GRADE:
        report.errors.append(
            f"en: reading grade {grade:.1f} is above {ENGLISH_MAX_GRADE:.0f}; use shorter words and sentences"
        )


def check_language(
    code: str,
    english: dict[str, Entry],
    numbers: Iterable[str],
    report: Report,
    rules: WordRules | None = None,
) -> None:
    try:
        # A regional variant (pt_PT) holds only what differs: checked merged over its base.
        entries = merged_language(code)
    except ValueError as error:
        report.errors.append(f"{code}: {error}")
        return
    for key in sorted(english.keys() - entries.keys()):
        if _staff_facing(key) and code not in console_languages():
            continue  # this language's console falls back to English
        if _plural_form(key, english) and key.rpartition(".")[2] not in plural_categories(code):
            continue  # a plural form this language does not use (Ukrainian has no "two")
        report.errors.append(f"{code}: missing key {key}")
    for key in sorted(entries.keys() - english.keys()):
        if not _plural_form(key, english):
            report.errors.append(f"{code}: key {key} is not in English")
    if code in console_languages():
        check_plural_forms(code, english, entries, report)
    check_flags(code, report)
    sizes: dict[str, tuple[str, int]] = {}
    for key, entry in sorted(entries.items()):
        where = f"{code}:{entry.line}: {key}"
        family = _plural_form(key, english)
        if family:
            # A form may leave its number out ("one message"), never add a placeholder.
            other = placeholders(english[f"{family}.other"].text)
            if not placeholders(entry.text) <= other:
                report.errors.append(
                    f"{where}: placeholders {sorted(placeholders(entry.text))} are not among English {sorted(other)}"
                )
        elif key in english and placeholders(entry.text) != placeholders(english[key].text):
            report.errors.append(
                f"{where}: placeholders {sorted(placeholders(entry.text))} differ from English {sorted(placeholders(english[key].text))}"
            )
        if not entry.text.strip():
            report.errors.append(f"{where}: empty text")
        if _is_keyword(key):
            continue
        if _DIGITS.search(entry.text) or any(number in entry.text for number in numbers):
            report.errors.append(
                f"{where}: a number is written into the text; numbers come from content/hotlines.toml"
            )
        if _staff_facing(key):
            continue
        filled = entry.text.format_map(
            {name: _SAMPLE_VALUES.get(name, "x" * 12) for name in placeholders(entry.text)}
        )
        segments = measure(filled)
        sizes[key] = (segments.encoding, segments.count)
        messages = len(sms_parts(Reply(text=filled)))
        if messages > MAX_SMS_PER_TEXT:
            report.errors.append(
                f"{where}: arrives as {messages} SMS; keep each text within {MAX_SMS_PER_TEXT} "
                "(shorter sentences split better)"
            )
    report.segments[code] = sizes
    report.unreviewed[code] = sum(1 for entry in entries.values() if not entry.reviewed)
    # Menu labels are not prose: two-word "sentences" would flatter the figure.
    report.reading[code] = reading_level(
        (
            entry.text
            for key, entry in entries.items()
            if _person_facing(key) and len(entry.text.split()) >= PROSE_MIN_WORDS
        ),
        base_language(code),
    )
    rules = rules or word_rules()
    check_claims(code, entries, rules, report)
    check_live_chat_words(code, entries, rules, report)
    check_told_exit_word(code, entries, report)
    if code == DEFAULT_LANGUAGE:
        check_english(entries, sizes, report)
    for key in ("keywords.exit", "keywords.leave_queue", "keywords.exit_live", "keywords.end_chat"):
        words = {normalise(w) for w in entries.get(key, Entry("", False, 0)).text.split(",")}
        clash = words & CARRIER_WORDS
        if clash:
            report.errors.append(f"{code}: {key} contains carrier keyword(s) {sorted(clash)}")


def _plural_form(key: str, english: dict[str, Entry]) -> str:
    """The plural family of a console key such as ``console.inbox.p.unread.few``, else ""."""
    family, _, category = key.rpartition(".")
    if (
        _staff_facing(key)
        and category in PLURAL_CATEGORIES
        and f"{family}.other" in english
        and ".p." in family
    ):
        return family
    return ""


def check_plural_forms(
    code: str, english: dict[str, Entry], entries: dict[str, Entry], report: Report
) -> None:
    """A console language has every plural form its own grammar uses (CLDR categories)."""
    families = sorted({key.rpartition(".")[0] for key in english if _plural_form(key, english)})
    for family in families:
        for category in sorted(plural_categories(code)):
            if f"{family}.{category}" not in entries:
                report.errors.append(f"{code}: missing plural form {family}.{category}")


def check_directory(directory_: Directory, today: dt.date, report: Report) -> None:
    for number in directory_.numbers.values():
        if not number.confirmed:
            report.warnings.append(
                f"hotline {number.id}: flagged, confirm before launch: {number.flag}"
            )
    report.warnings.extend(f"hotline {entry}" for entry in stale_entries(directory_, today))
    for country in directory_.countries.values():
        if country.urgent_number() is None:
            report.errors.append(
                f"country {country.code}: no emergency number and no 24/7 line for danger replies"
            )


NOT_ISO_3166 = frozenset({"AC", "CP", "CQ", "DG", "EA", "IC", "TA"})
"""CLDR territories that are not ISO 3166-1 countries (reserved codes)."""
UNINHABITED = frozenset({"AQ", "BV", "GS", "HM", "TF", "UM"})
"""No settled population and no public phone network: no emergency number expected."""


def check_coverage(directory_: Directory, report: Report) -> None:
    """Count countries with each kind of line; list the ones without and every flagged entry."""
    territories = sorted(country_codes() - NOT_ISO_3166)
    inhabited = [code for code in territories if code not in UNINHABITED]
    with_emergency = [c for c in inhabited if directory_.country(c).urgent_number() is not None]
    missing = sorted(set(inhabited) - set(with_emergency))

    def having(purpose: str) -> list[str]:
        """Countries with a line for ``purpose`` to talk to; flagged ones marked with '?'."""
        found = []
        for code, country in sorted(directory_.countries.items()):
            fitting = [n for n in country.lines if n.purpose == purpose and not n.report_only]
            if fitting:
                found.append(code if any(n.confirmed for n in fitting) else f"{code}?")
        return found

    trafficking, child = having("trafficking"), having("child")
    report.coverage = [
        f"emergency numbers: {len(with_emergency)} of {len(inhabited)} inhabited ISO countries"
        f" and territories" + (f" (missing: {' '.join(missing)})" if missing else ""),
        f"anti-trafficking line: {len(trafficking)} countries ({' '.join(trafficking)};"
        " ? = flagged only)",
        f"child line: {len(child)} countries ({' '.join(child)}; ? = flagged only)",
    ]
    for number in directory_.numbers.values():
        if not number.source.strip():
            report.errors.append(f"hotline {number.id}: no source; every number needs one")
    for code in inhabited:
        country = directory_.country(code)
        for number in country.emergency[:1]:
            if not number.source.strip():
                report.errors.append(f"country {code}: number {number.id} has no source")
            if not number.confirmed and number.id.startswith("world-"):
                report.warnings.append(
                    f"emergency {code} {number.dial}: flagged, confirm before launch: {number.flag}"
                )


def check(today: dt.date | None = None) -> Report:
    report = Report()
    try:
        hotlines = directory()
    except DirectoryError as error:
        report.errors.append(f"content/hotlines.toml: {error}")
        return report
    check_directory(hotlines, today or dt.date.today(), report)
    check_coverage(hotlines, report)
    numbers = [n.call or "" for n in hotlines.numbers.values() if n.call and len(n.call) > 4]
    english = read_language(DEFAULT_LANGUAGE)
    rules = word_rules()
    for code in language_codes():
        check_language(code, english, numbers, report, rules)
    if not report.errors:
        check_language_menu(report)
    return report


def segment_table(report: Report) -> str:
    lines = [
        f"{'language':<9}{'encoding':<10}{'messages':>9}{'1 seg':>7}{'2 seg':>7}{'3+ seg':>7}{'max':>5}  unreviewed"
    ]
    for code, sizes in report.segments.items():
        counts = [count for _, count in sizes.values()]
        encodings = {encoding for encoding, _ in sizes.values()}
        encoding = "UCS-2" if "UCS-2" in encodings else "GSM-7"
        if encodings == {"GSM-7", "UCS-2"}:
            encoding = "mixed"
        lines.append(
            f"{code:<9}{encoding:<10}{len(counts):>9}{counts.count(1):>7}{counts.count(2):>7}"
            f"{sum(1 for c in counts if c >= 3):>7}{max(counts, default=0):>5}  {report.unreviewed.get(code, 0)}"
        )
    return "\n".join(lines)


def reading_table(report: Report) -> str:
    lines = [f"{'language':<9}reading level"]
    for code, figure in report.reading.items():
        shown = "no formula" if figure is None else f"{figure:.1f} {reading_label(code)}"
        lines.append(f"{code:<9}{shown}")
    return "\n".join(lines)


def check_language_menu(report: Report) -> None:
    """Each page of the language menu, in every language it is shown in, fits one SMS."""
    for code in language_codes():
        for page, (choices, segments) in enumerate(page_sizes(catalogue(code)), start=1):
            report.language_menu.setdefault(code, []).append((choices, segments))
            if segments > SEGMENT_BUDGET:
                report.errors.append(
                    f"{code}: language menu page {page} takes {segments} SMS segments "
                    f"(budget {SEGMENT_BUDGET}); shorten language.prompt or language.more"
                )


def language_menu_table(report: Report) -> str:
    lines = [f"{'language':<9}{'page 1':>14}{'page 2':>14}"]
    for code, sizes in report.language_menu.items():
        cells = "".join(f"{f'{choices} / {segments} seg':>14}" for choices, segments in sizes)
        lines.append(f"{code:<9}{cells}")
    return "\n".join(lines)


def run(*, verbose: bool = False) -> int:
    report = check()
    print("SMS segments per reply (placeholders filled with typical values):")
    print(segment_table(report))
    print(f"Language menu pages (choices / SMS segments; budget {SEGMENT_BUDGET}):")
    print(language_menu_table(report))
    print(f"Reading level (English must be at or below grade {ENGLISH_MAX_GRADE:.0f}):")
    print(reading_table(report))
    if verbose:
        for code, sizes in report.segments.items():
            for key, (encoding, count) in sizes.items():
                print(f"  {code} {key}: {encoding} {count}")
    print("Coverage:")
    for line in report.coverage:
        print(f"  {line}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 1 if report.errors else 0
