"""Importing HSDS 3.0 packages: the sample, a broken one, the JSON form, and again."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from bot.directory import ensure_sample_loaded, import_package
from bot.directory.importer import SAMPLE_PACKAGE
from bot.directory.models import (
    DirectoryLanguage,
    DirectoryLocation,
    DirectoryOrganization,
    DirectoryService,
    DirectoryServiceNeed,
)
from bot.helpline import Helpline
from content import CONTENT_DIR

JSON_SAMPLE = CONTENT_DIR / "referrals" / "sample-json" / "services.json"


def _append(path: Path, **values: str) -> None:
    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow([values.get(c, "") for c in header])


async def _count(helpline: Helpline, model: type) -> int:
    async with helpline.sessions() as session:
        return int((await session.exec(select(func.count()).select_from(model))).one())


async def test_sample_package_imports_every_row_and_marks_itself_as_sample(
    helpline: Helpline,
) -> None:
    report = await import_package(helpline.sessions, SAMPLE_PACKAGE)
    assert report.problems == []
    assert report.imported["service"] == 25
    assert report.imported["location"] == 22
    async with helpline.sessions() as session:
        organizations = (await session.exec(select(DirectoryOrganization))).all()
        services = (await session.exec(select(DirectoryService))).all()
    assert all("SAMPLE" in o.name and "FICTIONAL" in o.description for o in organizations)
    assert all("SAMPLE" in s.name for s in services)
    assert (SAMPLE_PACKAGE / "README.txt").read_text().startswith("SAMPLE DATA - FICTIONAL")


async def test_reimport_changes_nothing_and_updates_in_place(
    helpline: Helpline, tmp_path: Path
) -> None:
    await import_package(helpline.sessions, SAMPLE_PACKAGE)
    before = [await _count(helpline, m) for m in (DirectoryService, DirectoryLanguage)]
    await import_package(helpline.sessions, SAMPLE_PACKAGE)
    assert [await _count(helpline, m) for m in (DirectoryService, DirectoryLanguage)] == before

    changed = tmp_path / "package"
    shutil.copytree(SAMPLE_PACKAGE, changed)
    services_csv = changed / "service.csv"
    services_csv.write_text(
        services_csv.read_text().replace("SAMPLE Harbor House Shelter", "SAMPLE Harbor House")
    )
    await import_package(helpline.sessions, changed)
    async with helpline.sessions() as session:
        harbor = await session.get(DirectoryService, "svc-ny-harbor")
    assert harbor is not None and harbor.name == "SAMPLE Harbor House"
    assert await _count(helpline, DirectoryService) == before[0]


async def test_broken_rows_are_reported_with_file_line_and_reason_and_the_rest_imported(
    helpline: Helpline, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE_PACKAGE, broken)
    _append(broken / "location.csv", id="loc-bad-lat", latitude="north", longitude="-74.0")
    _append(broken / "service.csv", id="svc-no-name", organization_id="org-ny-harbor")
    _append(broken / "service.csv", id="svc-bad-status", name="SAMPLE X", status="maybe")
    _append(broken / "service.csv", id="svc-bad-org", name="SAMPLE Y", organization_id="org-x")
    _append(broken / "schedule.csv", id="sch-bad", service_id="svc-ny-harbor", opens_at="9am")
    _append(broken / "phone.csv", id="ph-orphan", service_id="svc-x", number="+1 212-555-0199")
    # An unknown column is ignored, not an error.
    address = broken / "address.csv"
    lines = address.read_text().splitlines()
    lines[0] += ",internal_note"
    lines[1:] = [line + ",x" for line in lines[1:]]
    address.write_text("\n".join(lines) + "\n")

    report = await import_package(helpline.sessions, broken)

    found = {(p.source, p.line, p.reason) for p in report.problems}
    assert found == {
        ("location.csv", "24", "latitude is not a number"),
        ("service.csv", "27", "name is missing"),
        (
            "service.csv",
            "28",
            "status must be one of active, inactive, defunct, temporarily closed",
        ),
        ("service.csv", "29", "organization_id 'org-x' matches no organization"),
        ("schedule.csv", "27", "opens_at must be HH:MM, optionally with Z or an offset"),
        ("phone.csv", "27", "service_id 'svc-x' matches no service"),
    }
    assert report.imported["service"] == 25
    assert report.imported["address"] == 22
    assert await _count(helpline, DirectoryService) == 25


async def test_json_form_imports_nested_services(helpline: Helpline) -> None:
    report = await import_package(helpline.sessions, JSON_SAMPLE)
    assert report.problems == []
    async with helpline.sessions() as session:
        legal = await session.get(DirectoryService, "svc-chi-legal")
        location = await session.get(DirectoryLocation, "loc-chi-lakeside")
        needs = (await session.exec(select(DirectoryServiceNeed))).all()
        languages = (
            await session.exec(
                select(DirectoryLanguage.code).where(
                    DirectoryLanguage.service_id == "svc-chi-lakeside"
                )
            )
        ).all()
    assert legal is not None and str(legal.last_verified) == "2026-08-15"
    assert location is not None and location.timezone == "America/Chicago"
    assert {(n.service_id, n.need) for n in needs} == {
        ("svc-chi-lakeside", "shelter"),
        ("svc-chi-legal", "legal"),
    }
    assert sorted(languages) == ["en", "es", "pl"]


async def test_sample_is_loaded_only_into_an_empty_directory(helpline: Helpline) -> None:
    assert await ensure_sample_loaded(helpline.sessions) == 25
    assert await ensure_sample_loaded(helpline.sessions) == 0
