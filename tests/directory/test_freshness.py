"""Entries not verified for more than 12 months are flagged for the operator."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

from bot.directory import stale_entries, stale_services
from bot.helpline import Helpline
from bot.hotlines import directory, parse_directory
from content import HOTLINES_FILE


def _with_checked(number_id: str, checked: dt.date) -> dict[str, object]:
    data = tomllib.loads(HOTLINES_FILE.read_text(encoding="utf-8"))
    data["numbers"][number_id]["checked"] = checked
    return data


def test_a_hotline_checked_more_than_a_year_ago_is_listed() -> None:
    today = dt.date(2027, 12, 1)
    data = _with_checked("us-nhth", dt.date(2026, 11, 30))
    warnings = stale_entries(parse_directory(data), today)
    assert any(
        w.startswith("us-nhth: checked 2026-11-30, more than 12 months ago") for w in warnings
    )


def test_a_hotline_checked_exactly_a_year_ago_is_still_fresh() -> None:
    data = _with_checked("us-nhth", dt.date(2026, 12, 1))
    warnings = stale_entries(parse_directory(data), dt.date(2027, 12, 1))
    assert not any(w.startswith("us-nhth:") for w in warnings)


def test_the_shipped_hotline_file_is_fresh_today() -> None:
    newest = max(number.checked for number in directory().numbers.values())
    assert stale_entries(directory(), newest) == []


async def test_imported_services_not_verified_for_a_year_are_listed(loaded: Helpline) -> None:
    warnings = await stale_services(loaded.sessions, dt.date(2026, 11, 29))
    # The UK line has no assured_date but its metadata says 2026-09-01: fresh.
    assert warnings == ["service svc-hou-youth: last verified 2025-06-01"]


def test_command_import_reports_refused_rows_and_exit_code(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    package = tmp_path / "package"
    shutil.copytree(Path(HOTLINES_FILE).parent / "referrals" / "sample", package)
    with (package / "organization.csv").open("a", encoding="utf-8") as handle:
        handle.write("org-nameless,,,,,,,,,,\n")
    env = {
        "HELPLINE_MODE": "test",
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "PATH": "/usr/bin:/bin",
    }
    # An operator migrates first; import refuses an unmigrated database (tests/ops).
    migrated = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "directory", "import", str(package)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "refused organization.csv:27: name is missing" in done.stderr
    assert "25 service" in done.stdout
