"""Referral directory tables: public facts about services, imported from HSDS 3.0.

Rows are keyed by their HSDS ids so a re-import updates in place. Nothing a person
typed is ever written here; these tables hold only what an operator imported.
Link columns carry no foreign-key constraints on purpose: an HSDS package may list a
phone before its service, and a row that points nowhere is reported at import time.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel


class DirectoryOrganization(SQLModel, table=True):
    __tablename__ = "directory_organization"

    id: str = Field(primary_key=True, max_length=250)
    name: str
    description: str = ""
    website: str = ""
    email: str = ""


class DirectoryService(SQLModel, table=True):
    __tablename__ = "directory_service"

    id: str = Field(primary_key=True, max_length=250)
    organization_id: str = Field(default="", max_length=250, index=True)
    name: str
    alternate_name: str = ""
    description: str = ""
    url: str = ""
    email: str = ""
    status: str = Field(default="active", max_length=40)
    assured_date: dt.date | None = None
    last_verified: dt.date | None = None
    """``assured_date``, else the newest metadata ``last_action_date`` for the service."""


class DirectoryLocation(SQLModel, table=True):
    __tablename__ = "directory_location"

    id: str = Field(primary_key=True, max_length=250)
    organization_id: str = Field(default="", max_length=250)
    name: str = ""
    location_type: str = Field(default="physical", max_length=20)
    latitude: float | None = Field(default=None, index=True)
    longitude: float | None = None
    timezone: str = Field(default="", max_length=64)
    """IANA zone of the nearest gazetteer city: reads schedule times given without offset."""


class DirectoryAddress(SQLModel, table=True):
    __tablename__ = "directory_address"

    id: str = Field(primary_key=True, max_length=250)
    location_id: str = Field(default="", max_length=250, index=True)
    address_1: str = ""
    address_2: str = ""
    city: str = ""
    region: str = ""
    state_province: str = ""
    postal_code: str = Field(default="", max_length=40)
    country: str = Field(default="", max_length=2)
    address_type: str = Field(default="physical", max_length=20)


class DirectoryPhone(SQLModel, table=True):
    __tablename__ = "directory_phone"

    id: str = Field(primary_key=True, max_length=250)
    service_id: str = Field(default="", max_length=250, index=True)
    location_id: str = Field(default="", max_length=250, index=True)
    organization_id: str = Field(default="", max_length=250)
    service_at_location_id: str = Field(default="", max_length=250)
    number: str = Field(max_length=60)
    extension: str = Field(default="", max_length=20)
    type: str = Field(default="voice", max_length=20)
    description: str = ""


class DirectoryLanguage(SQLModel, table=True):
    __tablename__ = "directory_language"

    id: str = Field(primary_key=True, max_length=250)
    service_id: str = Field(default="", max_length=250, index=True)
    location_id: str = Field(default="", max_length=250, index=True)
    phone_id: str = Field(default="", max_length=250)
    code: str = Field(default="", max_length=12, index=True)
    """ISO 639-1 where the data gives or implies one, lower case."""
    name: str = ""


class DirectorySchedule(SQLModel, table=True):
    __tablename__ = "directory_schedule"

    id: str = Field(primary_key=True, max_length=250)
    service_id: str = Field(default="", max_length=250, index=True)
    location_id: str = Field(default="", max_length=250, index=True)
    service_at_location_id: str = Field(default="", max_length=250, index=True)
    freq: str = Field(default="", max_length=10)
    byday: str = Field(default="", max_length=60)
    opens_at: str = Field(default="", max_length=20)
    closes_at: str = Field(default="", max_length=20)
    timezone: float | None = None
    """A UTC offset in hours, as HSDS gives it; used when opens_at has no offset."""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    description: str = ""


class DirectoryServiceAtLocation(SQLModel, table=True):
    __tablename__ = "directory_service_at_location"

    id: str = Field(primary_key=True, max_length=250)
    service_id: str = Field(max_length=250, index=True)
    location_id: str = Field(max_length=250, index=True)
    description: str = ""


class DirectoryServiceArea(SQLModel, table=True):
    __tablename__ = "directory_service_area"

    id: str = Field(primary_key=True, max_length=250)
    service_id: str = Field(default="", max_length=250, index=True)
    name: str = ""
    description: str = ""


class DirectoryTaxonomyTerm(SQLModel, table=True):
    __tablename__ = "directory_taxonomy_term"

    id: str = Field(primary_key=True, max_length=250)
    code: str = ""
    name: str = ""
    taxonomy_id: str = Field(default="", max_length=250)
    parent_id: str = Field(default="", max_length=250)


class DirectoryAttribute(SQLModel, table=True):
    __tablename__ = "directory_attribute"

    id: str = Field(primary_key=True, max_length=250)
    link_id: str = Field(max_length=250, index=True)
    link_type: str = ""
    link_entity: str = Field(default="", max_length=40)
    taxonomy_term_id: str = Field(default="", max_length=250)
    value: str = ""


class DirectoryServiceNeed(SQLModel, table=True):
    """Which of the help line's needs a service meets, derived from its taxonomy terms."""

    __tablename__ = "directory_service_need"

    service_id: str = Field(primary_key=True, max_length=250)
    need: str = Field(primary_key=True, max_length=20, index=True)


TABLES: dict[str, type[SQLModel]] = {
    "organization": DirectoryOrganization,
    "taxonomy_term": DirectoryTaxonomyTerm,
    "service": DirectoryService,
    "location": DirectoryLocation,
    "service_at_location": DirectoryServiceAtLocation,
    "address": DirectoryAddress,
    "phone": DirectoryPhone,
    "language": DirectoryLanguage,
    "schedule": DirectorySchedule,
    "service_area": DirectoryServiceArea,
    "attribute": DirectoryAttribute,
}
"""HSDS table name -> the table that keeps it (in the order they are imported)."""
