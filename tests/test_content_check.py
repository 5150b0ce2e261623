"""``helpline content check`` passes on the shipped content and fails on broken content."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bot.i18n
from bot.content_check import (
    Report,
    check,
    check_coverage,
    check_directory,
    check_live_chat_words,
    word_rules,
)
from bot.hotlines import DirectoryError, parse_directory
from bot.i18n import Entry
from content import LOCALES_DIR


def test_shipped_content_has_no_errors_and_reports_segments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert "0 error(s)" in result.stdout
    for code in ("en", "es", "ar", "zh", "uk"):
        assert f"\n{code} " in result.stdout
    assert "UCS-2" in result.stdout and "GSM-7" in result.stdout


@pytest.fixture
def broken_locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, copy)
    monkeypatch.setattr(bot.i18n, "LOCALES_DIR", copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_missing_key_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "fr" / "LC_MESSAGES" / "helpline.po"
    _edit(po, 'msgid "safety.friend"', 'msgid "safety.friend_renamed"')
    errors = "\n".join(check().errors)
    assert "fr: missing key safety.friend" in errors


def test_a_placeholder_mismatch_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "es" / "LC_MESSAGES" / "helpline.po"
    _edit(po, "{emergency}", "{emergencia}")
    assert any("es:" in e and "placeholders" in e for e in check().errors)


def test_a_number_written_into_a_translation_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "pt" / "LC_MESSAGES" / "helpline.po"
    _edit(po, "{emergency}", "190")
    assert any("pt:" in e and "number is written" in e for e in check().errors)


def test_a_carrier_opt_out_word_as_exit_word_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "en" / "LC_MESSAGES" / "words.po"
    _edit(po, 'msgstr "exit, bye"', 'msgstr "stop, bye"')
    assert any("carrier keyword" in e for e in check().errors)


def test_flagged_and_stale_hotlines_are_warned_about() -> None:
    directory = parse_directory(
        {
            "countries": {"XX": {"emergency": ["x-1"], "lines": [], "referral": "x-1"}},
            "numbers": {
                "x-1": {
                    "name": "Test",
                    "purpose": "emergency",
                    "call": "999",
                    "source": "s",
                    "checked": dt.date(2020, 1, 1),
                    "status": "flagged",
                    "flag": "unverified",
                }
            },
        }
    )
    report = Report()
    check_directory(directory, dt.date(2026, 11, 28), report)
    assert any("flagged" in w for w in report.warnings)
    assert any("more than 12 months" in w for w in report.warnings)


def test_a_flagged_number_without_a_reason_is_refused() -> None:
    with pytest.raises(DirectoryError, match="must say why"):
        parse_directory(
            {
                "numbers": {
                    "x": {
                        "name": "n",
                        "purpose": "emergency",
                        "call": "1",
                        "source": "s",
                        "checked": dt.date(2026, 1, 1),
                        "status": "flagged",
                    }
                }
            }
        )


# --- safety words: claims, live-chat words, length, reading level ----------------------


def test_a_line_claim_written_into_a_text_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "en" / "LC_MESSAGES" / "helpline.po"
    _edit(po, "You can also contact {hotline_name}", "Call {hotline_name}, open 24/7,")
    errors = "\n".join(check().errors)
    assert "talk.no_advocate states a line claim ['24/7']" in errors


def test_a_claim_in_a_translation_is_an_error_in_its_own_words(broken_locales: Path) -> None:
    po = broken_locales / "fr" / "LC_MESSAGES" / "canned.po"
    _edit(po, "Vous pouvez contacter {hotline_name}", "Appelez {hotline_name}, avec interprète,")
    errors = "\n".join(check().errors)
    assert "fr:" in errors and "canned.hotline states a line claim ['interprète']" in errors


def test_a_fact_the_renderer_does_not_know_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "en" / "LC_MESSAGES" / "topics.po"
    _edit(po, 'msgid "facts.police"', 'msgid "facts.free"')
    assert any("facts.free is not a fact" in e for e in check().errors)


def test_an_everyday_word_that_ends_a_live_chat_is_an_error() -> None:
    # The engine's owner lists the keys whose words end a live chat at once; plant one.
    shipped = word_rules()
    rules = dataclasses.replace(shipped, live_chat_keys=("keywords.live_leave",))
    report = Report()
    check_live_chat_words(
        "ru", {"keywords.live_leave": Entry("выйти из чата", False, 1)}, rules, report
    )
    assert report.errors == []
    check_live_chat_words(
        "ru", {"keywords.live_leave": Entry("выйти из чата, пока", False, 1)}, rules, report
    )
    assert any("ru: keywords.live_leave" in e and "'пока'" in e for e in report.errors)
    report = Report()
    check_live_chat_words(
        "es", {"keywords.live_leave": Entry("terminar chat, bye", False, 1)}, rules, report
    )
    assert any("'bye'" in e for e in report.errors)  # English words count in every language


def test_the_shipped_live_chat_words_are_checked_against_everyday_words() -> None:
    from bot.content_check import word_rules

    rules = word_rules()
    assert "bye" in rules.everyday_words("es")  # English words count in every language
    assert "пока" in rules.everyday_words("ru") and "chao" in rules.everyday_words("es")


def test_an_english_text_longer_than_two_segments_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "en" / "LC_MESSAGES" / "helpline.po"
    long = "Take care. " * 40
    _edit(po, 'msgstr "Normal mode is on."', f'msgstr "{long}"')
    assert any("discreet.off takes" in e and "SMS segments" in e for e in check().errors)


def test_a_translation_that_needs_three_sms_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "ru" / "LC_MESSAGES" / "helpline.po"
    long = "Берегите себя, пожалуйста. " * 20
    _edit(po, 'msgstr "Обычный режим включён."', f'msgstr "{long}"')
    assert any("ru:" in e and "discreet.off: arrives as" in e for e in check().errors)


def test_english_above_grade_six_is_an_error(broken_locales: Path) -> None:
    po = broken_locales / "en" / "LC_MESSAGES" / "topics.po"
    hard = " ".join(
        ["Notwithstanding institutional considerations, organisational representatives"] * 60
    )
    _edit(po, 'msgstr "More topics"', f'msgstr "{hard}"')
    assert any("en: reading grade" in e for e in check().errors)


def test_reading_levels_are_printed_per_language() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Reading level" in result.stdout
    assert "grade (Flesch–Kincaid)" in result.stdout
    assert any(
        line.startswith("zh") and "no formula" in line for line in result.stdout.splitlines()
    )
    grade_line = next(
        line for line in result.stdout.splitlines() if line.startswith("en") and "grade" in line
    )
    assert float(grade_line.split()[1]) <= 6.0


def test_content_check_reports_country_coverage_and_flagged_world_entries() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    coverage = result.stdout.split("Coverage:", 1)[1]
    emergency = next(line for line in coverage.splitlines() if "emergency numbers:" in line)
    with_numbers, inhabited = (int(n) for n in emergency.split(":")[1].split()[0:3:2])
    assert with_numbers >= inhabited - 1  # every inhabited country but Pitcairn
    assert "anti-trafficking line:" in coverage and "child line:" in coverage
    # A disputed country stays flagged, with its reason, until someone confirms it.
    assert "emergency SA 999: flagged, confirm before launch: Android lists" in result.stdout


def test_a_number_with_no_source_fails_the_check() -> None:
    directory = parse_directory(
        {
            "countries": {"XX": {"emergency": ["x-1"], "lines": []}},
            "numbers": {
                "x-1": {
                    "name": "Test",
                    "purpose": "emergency",
                    "call": "999",
                    "source": " ",
                    "checked": dt.date(2026, 1, 1),
                    "status": "confirmed",
                }
            },
        }
    )
    report = Report()
    check_coverage(directory, report)
    assert any("no source" in error for error in report.errors)


def test_a_line_must_say_its_purpose_and_audience() -> None:
    spec = {
        "name": "n",
        "call": "1",
        "source": "s",
        "checked": dt.date(2026, 1, 1),
        "status": "confirmed",
    }
    with pytest.raises(DirectoryError, match="missing purpose"):
        parse_directory({"numbers": {"x": spec}})
    with pytest.raises(DirectoryError, match="audience must be"):
        parse_directory({"numbers": {"x": spec | {"purpose": "child", "audience": "kids"}}})


def test_an_exit_word_that_does_not_work_in_a_live_chat_is_an_error(
    broken_locales: Path,
) -> None:
    po = broken_locales / "tl" / "LC_MESSAGES" / "words.po"
    _edit(po, 'msgstr "exit, alis, labas, babay, paalam"', 'msgstr "labas, exit"')
    errors = "\n".join(check().errors)
    assert "tl: the exit word people are told ('labas') does not end a live chat" in errors
