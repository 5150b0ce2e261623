"""Search the referral directory: by place, need and language; open now first, then nearest.

The place is resolved by the gazetteer from what the person typed (or a shared
location) and used for this one search: it is not stored, logged or raised with.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db import SessionFactory
from bot.directory.gazetteer import Place, country_name, haversine_km, region_name, resolve
from bot.directory.hours import Hours, OpenState, Rule, hours, parse_byday, parse_time, zone_for
from bot.directory.models import (
    DirectoryAddress,
    DirectoryLanguage,
    DirectoryLocation,
    DirectoryOrganization,
    DirectoryPhone,
    DirectorySchedule,
    DirectoryService,
    DirectoryServiceArea,
    DirectoryServiceAtLocation,
    DirectoryServiceNeed,
)
from bot.directory.needs import Need, fold

_OPEN_RANK = {OpenState.OPEN: 0, OpenState.UNKNOWN: 1, OpenState.CLOSED: 2}
_PHONE_TYPES = ("voice", "text", "cell", "textphone", "")


class UnknownPlace(LookupError):
    """The gazetteer does not know the place. Carries no text on purpose."""

    def __init__(self) -> None:
        super().__init__("place not recognised")


@dataclass(frozen=True, slots=True)
class ServiceCard:
    """One service as shown to a person: public directory facts only."""

    service_id: str
    name: str
    organization: str
    phone: str | None
    address: str
    country: str
    distance_km: float | None
    hours: Hours
    languages: tuple[str, ...]
    last_verified: dt.date | None
    area: str = ""
    """The service area's name, for a service found by its area rather than an address."""

    def with_area(self, area: str) -> ServiceCard:
        return self if not area else replace(self, area=area)


async def search(
    sessions: SessionFactory,
    *,
    place_text: str | None = None,
    place: Place | None = None,
    need: Need | None,
    language: str | None,
    now: dt.datetime,
    limit: int = 3,
    offset: int = 0,
    country: str | None = None,
) -> list[ServiceCard]:
    """Services for ``need`` near a place, open now first, then nearest.

    ``place_text`` is what the person typed (a ZIP code, a city, a region); ``place``
    a place already resolved. ``language`` keeps only services that list it (English
    is assumed everywhere, as HSDS lists languages other than English). ``country``
    breaks ties between cities of the same name. Raises UnknownPlace.
    """
    if place is None:
        place = resolve(place_text or "", country=country)
    if place is None:
        raise UnknownPlace
    async with sessions() as session:
        cards = await search_all(session, place=place, need=need, language=language, now=now)
    return cards[offset : offset + limit]


async def search_all(
    session: AsyncSession,
    *,
    place: Place,
    need: Need | None,
    language: str | None,
    now: dt.datetime,
) -> list[ServiceCard]:
    """Every matching service in order, within an open session (the engine's turn)."""
    return await _cards(session, place, need, language, now)


def language_matches(wanted: str | None) -> tuple[str, ...] | None:
    """Language codes that satisfy a wanted language; None means no filter."""
    if not wanted or wanted == "en":
        return None
    return (wanted,)


async def _cards(
    session: AsyncSession,
    place: Place,
    need: Need | None,
    language: str | None,
    now: dt.datetime,
) -> list[ServiceCard]:
    locations = await _nearby_locations(session, place)
    links = (
        await session.exec(
            select(DirectoryServiceAtLocation).where(
                col(DirectoryServiceAtLocation.location_id).in_(locations)
            )
        )
    ).all()
    areas = await _area_services(session, place)
    services = await _eligible_services(
        session, {link.service_id for link in links} | set(areas), need
    )
    wanted = set(language_matches(language) or ())
    spoken = await _languages(session, services, locations)

    best: dict[str, tuple[float | None, DirectoryServiceAtLocation | None]] = {}
    for link in links:
        location = locations[link.location_id]
        if link.service_id not in services:
            continue
        if wanted and not wanted & (spoken[link.service_id] | spoken[location.id]):
            continue
        assert location.latitude is not None and location.longitude is not None
        distance = haversine_km(
            place.latitude, place.longitude, location.latitude, location.longitude
        )
        current = best.get(link.service_id)
        if current is None or current[0] is None or distance < current[0]:
            best[link.service_id] = (distance, link)
    for service_id in areas:
        # Found by its service area only: no address near by, so no distance.
        speaks = not wanted or wanted & spoken[service_id]
        if service_id in services and service_id not in best and speaks:
            best[service_id] = (None, None)

    details = await _Details.load(session, services, best, locations)
    cards = [
        details.card(
            services[service_id], distance, link, locations, spoken, now, language
        ).with_area("" if link else areas.get(service_id, ""))
        for service_id, (distance, link) in best.items()
    ]
    cards.sort(
        key=lambda c: (
            _OPEN_RANK[c.hours.state],
            c.distance_km if c.distance_km is not None else math.inf,
            c.name,
        )
    )
    return cards


async def _nearby_locations(session: AsyncSession, place: Place) -> dict[str, DirectoryLocation]:
    radius = place.radius_km
    dlat = radius / 111.0
    dlon = radius / max(1.0, 111.0 * math.cos(math.radians(place.latitude)))
    query = select(DirectoryLocation).where(
        col(DirectoryLocation.latitude).is_not(None),
        col(DirectoryLocation.location_type) == "physical",
    )
    in_box = (
        col(DirectoryLocation.latitude).between(place.latitude - dlat, place.latitude + dlat),
        col(DirectoryLocation.longitude).between(place.longitude - dlon, place.longitude + dlon),
    )
    region_ids = await _region_location_ids(session, place)
    rows = (await session.exec(query.where(*in_box))).all()
    if region_ids:
        rows = [
            *rows,
            *(await session.exec(query.where(col(DirectoryLocation.id).in_(region_ids)))).all(),
        ]
    found: dict[str, DirectoryLocation] = {}
    for location in rows:
        assert location.latitude is not None and location.longitude is not None
        distance = haversine_km(
            place.latitude, place.longitude, location.latitude, location.longitude
        )
        if distance <= radius or location.id in region_ids:
            found[location.id] = location
    return found


async def _region_location_ids(session: AsyncSession, place: Place) -> set[str]:
    """Locations whose address lies in the region or country the person named."""
    if place.kind not in ("region", "country"):
        return set()
    query = select(DirectoryAddress.location_id).where(DirectoryAddress.country == place.country)
    if place.kind == "region":
        query = query.where(
            or_(
                col(DirectoryAddress.state_province) == place.region,
                col(DirectoryAddress.state_province) == place.name,
            )
        )
    return set((await session.exec(query)).all())


async def _area_services(session: AsyncSession, place: Place) -> dict[str, str]:
    """Service id -> area name, for services whose service area names the place."""
    names = {fold(place.name), fold(country_name(place.country))} - {""}
    if place.kind != "country" and place.region:
        names.add(fold(region_name(place.country, place.region)))
    areas = (await session.exec(select(DirectoryServiceArea))).all()
    return {area.service_id: area.name for area in areas if fold(area.name) in names}


async def _eligible_services(
    session: AsyncSession, service_ids: set[str], need: Need | None
) -> dict[str, DirectoryService]:
    if not service_ids:
        return {}
    query = select(DirectoryService).where(
        col(DirectoryService.id).in_(service_ids), DirectoryService.status == "active"
    )
    if need is not None:
        query = query.where(
            col(DirectoryService.id).in_(
                select(DirectoryServiceNeed.service_id).where(
                    DirectoryServiceNeed.need == need.value
                )
            )
        )
    return {service.id: service for service in (await session.exec(query)).all()}


async def _languages(
    session: AsyncSession,
    services: dict[str, DirectoryService],
    locations: dict[str, DirectoryLocation],
) -> dict[str, set[str]]:
    """Language codes by service id and by location id."""
    spoken: dict[str, set[str]] = defaultdict(set)
    if not services:
        return spoken
    rows = await session.exec(
        select(DirectoryLanguage).where(
            or_(
                col(DirectoryLanguage.service_id).in_(services),
                col(DirectoryLanguage.location_id).in_(locations),
            )
        )
    )
    for row in rows.all():
        for key in (row.service_id, row.location_id):
            if key:
                spoken[key].add(row.code)
    return spoken


@dataclass(slots=True)
class _Details:
    organizations: dict[str, DirectoryOrganization]
    phones: list[DirectoryPhone]
    schedules: list[DirectorySchedule]
    addresses: dict[str, DirectoryAddress]

    @classmethod
    async def load(
        cls,
        session: AsyncSession,
        services: dict[str, DirectoryService],
        best: dict[str, tuple[float | None, DirectoryServiceAtLocation | None]],
        locations: dict[str, DirectoryLocation],
    ) -> _Details:
        service_ids = list(best)
        link_ids = [link.id for _, link in best.values() if link is not None]
        location_ids = [link.location_id for _, link in best.values() if link is not None]
        organization_ids = [services[s].organization_id for s in service_ids]
        organizations = await session.exec(
            select(DirectoryOrganization).where(col(DirectoryOrganization.id).in_(organization_ids))
        )
        phones = await session.exec(
            select(DirectoryPhone).where(
                or_(
                    col(DirectoryPhone.service_id).in_(service_ids),
                    col(DirectoryPhone.service_at_location_id).in_(link_ids),
                    col(DirectoryPhone.location_id).in_(location_ids),
                    col(DirectoryPhone.organization_id).in_(organization_ids),
                )
            )
        )
        schedules = await session.exec(
            select(DirectorySchedule).where(
                or_(
                    col(DirectorySchedule.service_id).in_(service_ids),
                    col(DirectorySchedule.service_at_location_id).in_(link_ids),
                    col(DirectorySchedule.location_id).in_(location_ids),
                )
            )
        )
        addresses = await session.exec(
            select(DirectoryAddress).where(col(DirectoryAddress.location_id).in_(location_ids))
        )
        by_location: dict[str, DirectoryAddress] = {}
        for address in sorted(addresses.all(), key=lambda a: (a.address_type != "physical", a.id)):
            by_location.setdefault(address.location_id, address)
        return cls(
            organizations={o.id: o for o in organizations.all()},
            phones=list(phones.all()),
            schedules=list(schedules.all()),
            addresses=by_location,
        )

    def card(
        self,
        service: DirectoryService,
        distance: float | None,
        link: DirectoryServiceAtLocation | None,
        locations: dict[str, DirectoryLocation],
        spoken: dict[str, set[str]],
        now: dt.datetime,
        language: str | None,
    ) -> ServiceCard:
        location = locations[link.location_id] if link is not None else None
        address = self.addresses.get(location.id) if location is not None else None
        codes = spoken[service.id] | (spoken[location.id] if location is not None else set())
        organization = self.organizations.get(service.organization_id)
        return ServiceCard(
            service_id=service.id,
            name=service.name,
            organization=organization.name if organization else "",
            phone=self._phone(service, link, location),
            address=_address_line(address),
            country=address.country if address else "",
            distance_km=distance,
            hours=hours(self._rules(service, link, location), now),
            languages=tuple(sorted(codes, key=lambda code: (code != language, code))),
            last_verified=service.last_verified,
        )

    def _phone(
        self,
        service: DirectoryService,
        link: DirectoryServiceAtLocation | None,
        location: DirectoryLocation | None,
    ) -> str | None:
        """The most specific number: this service here, the service, the place, the organization."""
        tiers: Sequence[tuple[str, str]] = (
            ("service_at_location_id", link.id if link else ""),
            ("service_id", service.id),
            ("location_id", location.id if location else ""),
            ("organization_id", service.organization_id),
        )
        for column, wanted in tiers:
            if not wanted:
                continue
            found = [
                p for p in self.phones if getattr(p, column) == wanted and p.type in _PHONE_TYPES
            ]
            if found:
                phone = min(found, key=lambda p: (_PHONE_TYPES.index(p.type), p.id))
                return f"{phone.number} x{phone.extension}" if phone.extension else phone.number
        return None

    def _rules(
        self,
        service: DirectoryService,
        link: DirectoryServiceAtLocation | None,
        location: DirectoryLocation | None,
    ) -> list[Rule]:
        """The most specific schedules: this service here, else the service, else the place."""
        zone = location.timezone if location else ""
        tiers = (
            [s for s in self.schedules if link and s.service_at_location_id == link.id],
            [
                s
                for s in self.schedules
                if s.service_id == service.id
                and not s.service_at_location_id
                and s.location_id in ("", location.id if location else "")
            ],
            [
                s
                for s in self.schedules
                if location and s.location_id == location.id and not s.service_id
            ],
        )
        for tier in tiers:
            rules = [rule for rule in (_rule(s, zone) for s in tier) if rule is not None]
            if rules:
                return rules
        return []


def _rule(schedule: DirectorySchedule, location_zone: str) -> Rule | None:
    opens, closes = parse_time(schedule.opens_at), parse_time(schedule.closes_at)
    days = parse_byday(schedule.byday)
    if opens is None or closes is None or days is None:
        return None
    return Rule(
        byday=days,
        monthly=schedule.freq == "MONTHLY",
        opens=opens[0],
        closes=closes[0],
        zone=zone_for(schedule.opens_at, schedule.timezone, location_zone),
        valid_from=schedule.valid_from,
        valid_to=schedule.valid_to,
    )


def _address_line(address: DirectoryAddress | None) -> str:
    if address is None:
        return ""
    return ", ".join(part for part in (address.address_1, address.city) if part)
