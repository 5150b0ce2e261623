"""Cards as a person reads them: SMS within the segment budget in every language."""

from __future__ import annotations

from bot.directory import Need, render_card, search
from bot.directory.cards import SMS_CARD_SEGMENTS
from bot.helpline import Helpline
from bot.i18n import catalogue, language_codes
from bot.segments import measure
from bot.types import Channel
from tests.directory.conftest import SUNDAY_10_NEW_YORK

PLACES = ("10001", "Los Angeles", "Houston", "Toronto", "London")


async def test_every_sample_card_fits_the_sms_budget_in_every_language(loaded: Helpline) -> None:
    cards = [
        card
        for place in PLACES
        for need in Need
        for card in await search(
            loaded.sessions,
            place_text=place,
            need=need,
            language=None,
            now=SUNDAY_10_NEW_YORK,
            limit=10,
        )
    ]
    assert len(cards) >= 25
    worst = {}
    for code in language_codes():
        words = catalogue(code)
        for card in cards:
            text = render_card(card, words, Channel.SMS)
            segments = measure(text)
            assert segments.count <= SMS_CARD_SEGMENTS, (code, card.service_id, segments)
            assert card.phone is None or card.phone in text
            worst[code] = max(worst.get(code, 0), segments.count)
    # English cards need only one segment each.
    assert worst["en"] == 1


async def test_sms_card_shows_name_phone_hours_languages_and_check_date(
    loaded: Helpline,
) -> None:
    (card, *_) = await search(
        loaded.sessions,
        place_text="10001",
        need=Need.SHELTER,
        language=None,
        now=SUNDAY_10_NEW_YORK,
    )
    assert render_card(card, catalogue("en"), Channel.SMS) == (
        "SAMPLE Harbor House Shelter - 1.3 mi\n"
        "Call +1 212-555-0101\n"
        "Open 24 hours\n"
        "Speaks English, Spanish, Chinese\n"
        "Checked 2026-10-01"
    )
    spanish = render_card(card, catalogue("es"), Channel.SMS)
    assert "Abierto 24 horas" in spanish and "Verificado 2026-10-01" in spanish


async def test_telegram_card_adds_organization_and_address(loaded: Helpline) -> None:
    (card,) = await search(
        loaded.sessions,
        place_text="Toronto",
        need=Need.LEGAL,
        language=None,
        now=SUNDAY_10_NEW_YORK,
    )
    text = render_card(card, catalogue("fr"), Channel.TELEGRAM)
    assert "Maple Migrant Legal Services (SAMPLE)" in text
    assert "500 Example Street, Toronto" in text
    assert "Fermé, ouvre lun. 09:00" in text
    assert "km" in text and "Vérifié le 2026-11-05" in text
