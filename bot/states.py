"""Where a person is in the conversation, stored by name so the database reads plainly."""

from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    MAIN_MENU = "main_menu"
    CHOOSING_LANGUAGE = "choosing_language"
    CHOOSING_COUNTRY = "choosing_country"
    HOTLINES = "hotlines"
    SAFETY_MENU = "safety_menu"
    SERVICES = "services"
    TALK_CONSENT = "talk_consent"
    QUEUED = "queued"
    CONNECTED = "connected"


class TicketStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    CLOSED = "closed"


class Role(StrEnum):
    ADVOCATE = "advocate"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
