"""Where a person is in the conversation, stored by name so the database reads plainly."""

from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    MAIN_MENU = "main_menu"
    CHOOSING_LANGUAGE = "choosing_language"
    CHOOSING_COUNTRY = "choosing_country"
    HOTLINES = "hotlines"
    SAFETY_MENU = "safety_menu"
    SAFETY_MORE = "safety_more"
    SERVICES = "services"
    # Referral search: the chosen need lives in the state (the place is never kept), so
    # "where?" is asked once per need, and once more to see further results.
    SERVICES_NEED = "services_need"
    SERVICES_PLACE_SHELTER = "services_place:shelter"
    SERVICES_PLACE_LEGAL = "services_place:legal"
    SERVICES_PLACE_MEDICAL = "services_place:medical"
    SERVICES_PLACE_COUNSELLING = "services_place:counselling"
    SERVICES_PLACE_LABOUR = "services_place:labour"
    SERVICES_PLACE_YOUTH = "services_place:youth"
    SERVICES_PLACE_SUBSTANCE = "services_place:substance"
    SERVICES_MORE_SHELTER = "services_more:shelter"
    SERVICES_MORE_LEGAL = "services_more:legal"
    SERVICES_MORE_MEDICAL = "services_more:medical"
    SERVICES_MORE_COUNSELLING = "services_more:counselling"
    SERVICES_MORE_LABOUR = "services_more:labour"
    SERVICES_MORE_YOUTH = "services_more:youth"
    SERVICES_MORE_SUBSTANCE = "services_more:substance"
    ASKING = "asking"
    """A one-line question is open ("leave now?", "did you mean …?"); see Contact.asked."""
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
