"""Import an HSDS 3.0 package into the referral directory (``helpline directory import``).

Rows are checked one by one: a bad row is reported with its file, line and reason and
skipped, and the rest are imported. Rows are upserted by their HSDS id, so importing
the same package twice changes nothing. Only public facts about services are stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from babel import Locale, UnknownLocaleError
from sqlmodel import SQLModel, col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory, create_engine, session_factory, transaction
from bot.directory.gazetteer import timezone_at
from bot.directory.hours import parse_byday, parse_time
from bot.directory.models import (
    TABLES,
    DirectoryAttribute,
    DirectoryService,
    DirectoryServiceNeed,
    DirectoryTaxonomyTerm,
)
from bot.directory.needs import needs_of_term
from bot.directory.package import PackageError, Row, read_package
from bot.settings import Settings
from content import CONTENT_DIR

log = logging.getLogger(__name__)

SAMPLE_PACKAGE = CONTENT_DIR / "referrals" / "sample"
_SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
_LOCATION_TYPES = ("physical", "postal", "virtual")


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass(slots=True)
class ImportReport:
    imported: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)


class RowError(ValueError):
    """One row is unusable; the message is the reason shown to the operator."""


Check = Callable[[dict[str, str], "_Known"], dict[str, object]]


@dataclass(slots=True)
class _Known:
    """HSDS ids already in the database or accepted from this package, per table."""

    ids: dict[str, set[str]]

    def require(self, values: dict[str, str], column: str, table: str, *, needed: bool) -> str:
        value = values.get(column, "")
        if not value:
            if needed:
                raise RowError(f"{column} is missing")
            return ""
        if value not in self.ids[table]:
            raise RowError(f"{column} {value!r} matches no {table}")
        return value


async def import_package(sessions: SessionFactory, path: Path) -> ImportReport:
    """Import the package at ``path``; raises PackageError if it cannot be read at all."""
    package = read_package(path)
    report = ImportReport()
    async with transaction(sessions) as session:
        known = _Known({table: set() for table in TABLES})
        for table, model in TABLES.items():
            ids = await session.exec(select(model.id))  # type: ignore[attr-defined]
            known.ids[table].update(ids.all())
        verified = _verified_dates(package.rows.get("metadata", []), report)
        for table, model in TABLES.items():
            accepted: dict[str, dict[str, object]] = {}
            for row in package.rows.get(table, []):
                try:
                    values = _check_row(table, row, known)
                except RowError as error:
                    report.problems.append(Problem(row.source, row.line, str(error)))
                    continue
                if table == "service":
                    assured = values.get("assured_date")
                    values["last_verified"] = assured or verified.get(str(values["id"]))
                accepted[str(values["id"])] = values
                known.ids[table].add(str(values["id"]))
                report.imported[table] += 1
            await _upsert(session, model, accepted)
        await session.flush()
        await _derive_needs(session)
    log.info(
        "directory import: %d rows imported, %d refused",
        sum(report.imported.values()),
        len(report.problems),
    )
    return report


async def _upsert(
    session: AsyncSession, model: type[SQLModel], rows: dict[str, dict[str, object]]
) -> None:
    """Update the rows whose id exists, add the others: one query per table, not per row."""
    id_column = col(model.id)  # type: ignore[attr-defined]
    existing = {
        row.id: row  # type: ignore[attr-defined]
        for row in (await session.exec(select(model).where(id_column.in_(rows)))).all()
    }
    for row_id, values in rows.items():
        fresh = model.model_validate(values)
        current = existing.get(row_id)
        if current is None:
            session.add(fresh)
            continue
        for name in model.model_fields:
            setattr(current, name, getattr(fresh, name))
        session.add(current)


def _check_row(table: str, row: Row, known: _Known) -> dict[str, object]:
    if row.problem:
        raise RowError(row.problem)
    values = row.values
    if not values.get("id"):
        raise RowError("id is missing")
    checked: dict[str, object] = {"id": values["id"]}
    checked.update(_CHECKS[table](values, known))
    return checked


# --- per-table checks: read what the directory uses, refuse what it cannot ----------------


def _organization(values: dict[str, str], _: _Known) -> dict[str, object]:
    return {
        "name": _required(values, "name"),
        "description": values.get("description", ""),
        "website": values.get("website", ""),
        "email": values.get("email", ""),
    }


def _service(values: dict[str, str], known: _Known) -> dict[str, object]:
    status = (values.get("status") or "active").lower()
    if status not in _SERVICE_STATUSES:
        raise RowError(f"status must be one of {', '.join(_SERVICE_STATUSES)}")
    return {
        "organization_id": known.require(values, "organization_id", "organization", needed=False),
        "name": _required(values, "name"),
        "alternate_name": values.get("alternate_name", ""),
        "description": values.get("description", ""),
        "url": values.get("url", ""),
        "email": values.get("email", ""),
        "status": status,
        "assured_date": _date(values, "assured_date"),
    }


def _location(values: dict[str, str], known: _Known) -> dict[str, object]:
    latitude = _number(values, "latitude", -90, 90)
    longitude = _number(values, "longitude", -180, 180)
    if (latitude is None) != (longitude is None):
        raise RowError("latitude and longitude must be given together")
    kind = (values.get("location_type") or "physical").lower()
    if kind not in _LOCATION_TYPES:
        raise RowError(f"location_type must be one of {', '.join(_LOCATION_TYPES)}")
    zone = (
        timezone_at(latitude, longitude) if latitude is not None and longitude is not None else ""
    )
    return {
        "organization_id": known.require(values, "organization_id", "organization", needed=False),
        "name": values.get("name", ""),
        "location_type": kind,
        "latitude": latitude,
        "longitude": longitude,
        "timezone": zone,
    }


def _address(values: dict[str, str], known: _Known) -> dict[str, object]:
    country = values.get("country", "").upper()
    if country and (len(country) != 2 or not country.isalpha()):
        raise RowError("country must be a two-letter ISO 3166 code")
    return {
        "location_id": known.require(values, "location_id", "location", needed=True),
        "address_1": values.get("address_1", ""),
        "address_2": values.get("address_2", ""),
        "city": values.get("city", ""),
        "region": values.get("region", ""),
        "state_province": values.get("state_province", ""),
        "postal_code": values.get("postal_code", ""),
        "country": country,
        "address_type": (values.get("address_type") or "physical").lower(),
    }


def _phone(values: dict[str, str], known: _Known) -> dict[str, object]:
    links: dict[str, object] = {
        "service_id": known.require(values, "service_id", "service", needed=False),
        "location_id": known.require(values, "location_id", "location", needed=False),
        "organization_id": known.require(values, "organization_id", "organization", needed=False),
        "service_at_location_id": known.require(
            values, "service_at_location_id", "service_at_location", needed=False
        ),
    }
    if not any(links.values()):
        raise RowError("a phone needs a service_id, location_id or organization_id")
    number = _required(values, "number")
    if sum(ch.isdigit() for ch in number) < 3:
        raise RowError("number has too few digits")
    return links | {
        "number": number,
        "extension": values.get("extension", ""),
        "type": (values.get("type") or "voice").lower(),
        "description": values.get("description", ""),
    }


def _language(values: dict[str, str], known: _Known) -> dict[str, object]:
    links: dict[str, object] = {
        "service_id": known.require(values, "service_id", "service", needed=False),
        "location_id": known.require(values, "location_id", "location", needed=False),
        "phone_id": known.require(values, "phone_id", "phone", needed=False),
    }
    if not any(links.values()):
        raise RowError("a language needs a service_id, location_id or phone_id")
    code = language_code(values.get("code", ""), values.get("name", ""))
    if not code:
        raise RowError("code or name must name a language")
    return links | {"code": code, "name": values.get("name", "")}


def _schedule(values: dict[str, str], known: _Known) -> dict[str, object]:
    links: dict[str, object] = {
        "service_id": known.require(values, "service_id", "service", needed=False),
        "location_id": known.require(values, "location_id", "location", needed=False),
        "service_at_location_id": known.require(
            values, "service_at_location_id", "service_at_location", needed=False
        ),
    }
    if not any(links.values()):
        raise RowError("a schedule needs a service_id, location_id or service_at_location_id")
    for column in ("opens_at", "closes_at"):
        if values.get(column) and parse_time(values[column]) is None:
            raise RowError(f"{column} must be HH:MM, optionally with Z or an offset")
    if parse_byday(values.get("byday", "")) is None:
        raise RowError("byday must list days such as MO,TU or 2MO")
    freq = values.get("freq", "").upper()
    if freq not in ("", "WEEKLY", "MONTHLY"):
        raise RowError("freq must be WEEKLY or MONTHLY")
    return links | {
        "freq": freq,
        "byday": values.get("byday", "").upper(),
        "opens_at": values.get("opens_at", ""),
        "closes_at": values.get("closes_at", ""),
        "timezone": _number(values, "timezone", -14, 14),
        "valid_from": _date(values, "valid_from"),
        "valid_to": _date(values, "valid_to"),
        "description": values.get("description", ""),
    }


def _service_at_location(values: dict[str, str], known: _Known) -> dict[str, object]:
    return {
        "service_id": known.require(values, "service_id", "service", needed=True),
        "location_id": known.require(values, "location_id", "location", needed=True),
        "description": values.get("description", ""),
    }


def _service_area(values: dict[str, str], known: _Known) -> dict[str, object]:
    return {
        "service_id": known.require(values, "service_id", "service", needed=True),
        "name": values.get("name", ""),
        "description": values.get("description", ""),
    }


def _taxonomy_term(values: dict[str, str], _: _Known) -> dict[str, object]:
    if not values.get("code") and not values.get("name"):
        raise RowError("a taxonomy term needs a code or a name")
    return {
        "code": values.get("code", ""),
        "name": values.get("name", ""),
        "taxonomy_id": values.get("taxonomy_id", ""),
        "parent_id": values.get("parent_id", ""),
    }


def _attribute(values: dict[str, str], known: _Known) -> dict[str, object]:
    return {
        "link_id": _required(values, "link_id"),
        "link_type": values.get("link_type", ""),
        "link_entity": values.get("link_entity", "").lower(),
        "taxonomy_term_id": known.require(
            values, "taxonomy_term_id", "taxonomy_term", needed=False
        ),
        "value": values.get("value", ""),
    }


_CHECKS: dict[str, Check] = {
    "organization": _organization,
    "service": _service,
    "location": _location,
    "address": _address,
    "phone": _phone,
    "language": _language,
    "schedule": _schedule,
    "service_at_location": _service_at_location,
    "service_area": _service_area,
    "taxonomy_term": _taxonomy_term,
    "attribute": _attribute,
}


# --- field readers --------------------------------------------------------------------


def _required(values: dict[str, str], column: str) -> str:
    value = values.get(column, "")
    if not value:
        raise RowError(f"{column} is missing")
    return value


def _date(values: dict[str, str], column: str) -> dt.date | None:
    value = values.get(column, "")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise RowError(f"{column} must be a date (YYYY-MM-DD)") from None


def _number(values: dict[str, str], column: str, low: float, high: float) -> float | None:
    value = values.get(column, "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"{column} is not a number") from None
    if not low <= number <= high:
        raise RowError(f"{column} must be between {low:g} and {high:g}")
    return number


_ENGLISH_NAMES = {name.casefold(): code for code, name in Locale("en").languages.items()}


def language_code(code: str, name: str) -> str:
    """An ISO 639-1 code from an HSDS language row's code (639-1 or -3) or English name."""
    if code:
        try:
            found = Locale.parse(code.strip().replace("-", "_")).language.lower()
        except (UnknownLocaleError, ValueError):
            found = code.strip().lower()
    else:
        found = _ENGLISH_NAMES.get(name.strip().casefold(), "")
    # Babel calls Tagalog "fil" (Filipino); the help line's code for it is "tl".
    return "tl" if found == "fil" else found


def _verified_dates(rows: list[Row], report: ImportReport) -> dict[str, dt.date]:
    """The newest metadata last_action_date per resource id (metadata itself is not kept)."""
    newest: dict[str, dt.date] = {}
    for row in rows:
        resource, when = row.values.get("resource_id", ""), row.values.get("last_action_date", "")
        if row.problem or not resource or not when:
            reason = row.problem or "resource_id and last_action_date are needed"
            report.problems.append(Problem(row.source, row.line, reason))
            continue
        try:
            day = dt.date.fromisoformat(when[:10])
        except ValueError:
            report.problems.append(Problem(row.source, row.line, "last_action_date is not a date"))
            continue
        newest[resource] = max(day, newest.get(resource, day))
    return newest


async def _derive_needs(session: AsyncSession) -> None:
    """Rebuild which needs each service meets from its taxonomy terms."""
    await session.exec(delete(DirectoryServiceNeed))
    terms = {term.id: term for term in (await session.exec(select(DirectoryTaxonomyTerm))).all()}
    services = set((await session.exec(select(DirectoryService.id))).all())
    attributes = await session.exec(
        select(DirectoryAttribute).where(col(DirectoryAttribute.link_entity).in_(("service", "")))
    )
    pairs: set[tuple[str, str]] = set()
    for attribute in attributes.all():
        term = terms.get(attribute.taxonomy_term_id)
        if term is None or attribute.link_id not in services:
            continue
        for need in needs_of_term(term.code, term.name):
            pairs.add((attribute.link_id, need.value))
    for service_id, need_code in sorted(pairs):
        session.add(DirectoryServiceNeed(service_id=service_id, need=need_code))


# --- entry points ---------------------------------------------------------------------


async def ensure_sample_loaded(sessions: SessionFactory) -> int:
    """Load the fictional sample package when the directory is empty; return services added."""
    async with sessions() as session:
        if (await session.exec(select(DirectoryService.id).limit(1))).first() is not None:
            return 0
    report = await import_package(sessions, SAMPLE_PACKAGE)
    return report.imported["service"]


async def import_command(settings: Settings, path: str) -> int:
    """`helpline directory import PATH`: 0 all imported, 1 some rows refused, 2 unreadable."""
    from bot.migrate import migrate

    await migrate(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        report = await import_package(session_factory(engine), Path(path))
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    for problem in report.problems:
        print(f"refused {problem}", file=sys.stderr)
    summary = ", ".join(f"{count} {table}" for table, count in report.imported.items())
    print(f"imported {summary or 'nothing'}; {len(report.problems)} rows refused")
    return 1 if report.problems else 0
