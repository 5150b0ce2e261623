"""Aliases: keyed, rotating, and a conversation survives a rotation."""

import datetime as dt

from sqlmodel import select

from bot.helpline import Helpline
from bot.models import AliasKey, Contact
from bot.types import Channel
from tests.conftest import FrozenClock
from tests.dialogue import Person


async def test_alias_is_a_keyed_hash_not_the_number(helpline: Helpline) -> None:
    alias, _ = await helpline.engine.identify(Channel.SMS, "+15555550123")
    assert "5555550123" not in alias
    assert len(alias) == 64
    again, _ = await helpline.engine.identify(Channel.SMS, "+15555550123")
    assert again == alias
    other, _ = await helpline.engine.identify(Channel.TELEGRAM, "+15555550123")
    assert other != alias


async def test_alias_changes_with_each_rotation_period(
    helpline: Helpline, clock: FrozenClock
) -> None:
    today, _ = await helpline.engine.identify(Channel.SMS, "+15555550123")
    clock.advance(hours=helpline.settings.alias_key_rotation_hours)
    tomorrow, previous = await helpline.engine.identify(Channel.SMS, "+15555550123")
    assert tomorrow != today
    assert previous == today
    async with helpline.sessions() as session:
        assert len((await session.exec(select(AliasKey))).all()) == 2


async def test_a_conversation_is_carried_across_a_rotation(
    helpline: Helpline, clock: FrozenClock
) -> None:
    period = helpline.settings.alias_key_rotation_hours * 3600
    boundary = (int(clock.now.timestamp()) // period + 1) * period
    clock.now = dt.datetime.fromtimestamp(boundary - 120, dt.UTC)
    person = Person(helpline, country="US")
    await person.send("hello")
    await person.send("2")  # safety menu
    old_alias = await person.alias()
    clock.advance(minutes=4)  # the alias key rotates in between
    assert await person.alias() != old_alias
    replies = await person.send("2")  # still in the safety menu: phone safety
    assert "If it is safe, you could" in replies[0]
    async with helpline.sessions() as session:
        assert await session.get(Contact, old_alias) is None
        assert await session.get(Contact, await person.alias()) is not None
