"""Sending to a person outside a webhook's own response (advocate replies, queue news).

Each channel registers one ``Sender``. The core never imports a channel: it asks the
registry for the sender of a channel by name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from bot import metrics
from bot.types import Address, Channel, Reply

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A message could not be delivered; the message says why without saying what or to whom."""


class Sender(Protocol):
    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        """Send ``replies`` to ``address``; return False if the carrier refused for good."""


class TypingSender(Sender, Protocol):
    async def typing(self, address: Address) -> None:
        """Show that someone is writing, where the channel can (Telegram's chat action)."""


class Senders:
    def __init__(self) -> None:
        self._senders: dict[Channel, Sender] = {}

    def register(self, channel: Channel, sender: Sender) -> None:
        self._senders[channel] = sender

    def has(self, channel: Channel) -> bool:
        return channel in self._senders

    async def typing(self, address: Address) -> bool:
        """Show a typing indicator if this channel has one; False when it has none."""
        sender = self._senders.get(address.channel)
        typing = getattr(sender, "typing", None)
        if typing is None:
            return False
        await typing(address)
        return True

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        sender = self._senders.get(address.channel)
        if sender is None:
            log.warning("no sender registered for channel=%s", address.channel)
            metrics.delivery_failed(address.channel, "no_sender")
            return False
        try:
            delivered = await sender.send(address, replies)
        except DeliveryError as error:
            log.warning("delivery failed channel=%s reason=%s", address.channel, error)
            metrics.delivery_failed(address.channel, "error")
            return False
        if not delivered:
            metrics.delivery_failed(address.channel, "refused")
        return delivered
