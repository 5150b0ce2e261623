"""``helpline content check`` passes on the shipped content and fails on broken content."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bot.i18n
from bot.content_check import Report, check, check_directory
from bot.hotlines import DirectoryError, parse_directory
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
