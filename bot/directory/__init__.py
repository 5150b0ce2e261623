"""The referral directory: HSDS 3.0 services searched by place, need and language.

Public surface for the conversation, the console and the CLI:

- ``search(sessions, place_text=..., need=..., language=..., now=...)`` -> [ServiceCard]
- ``render_card(card, catalogue, channel)`` -> text for one card
- ``location_text(latitude, longitude)`` -> text the Telegram adapter sends for a shared location
- ``import_package`` / ``import_command`` / ``ensure_sample_loaded``
- ``stale_entries(directory, today)`` for ``helpline content check``
"""

from bot.directory.cards import render_card
from bot.directory.freshness import stale_entries, stale_services
from bot.directory.gazetteer import Place, location_text, resolve
from bot.directory.importer import ensure_sample_loaded, import_command, import_package
from bot.directory.needs import Need
from bot.directory.search import ServiceCard, UnknownPlace, search

__all__ = [
    "Need",
    "Place",
    "ServiceCard",
    "UnknownPlace",
    "ensure_sample_loaded",
    "import_command",
    "import_package",
    "location_text",
    "render_card",
    "resolve",
    "search",
    "stale_entries",
    "stale_services",
]
