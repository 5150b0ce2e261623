"""What every channel adapter offers the app factory."""

from typing import Protocol

from bot.webhook_lane import WebhookRoute


class ChannelAdapter(Protocol):
    def webhooks(self) -> list[WebhookRoute]:
        """The channel's webhooks, served by ``bot.webhook_lane`` (none when not configured)."""

    async def start(self) -> None:
        """Start provider clients (inside the app's lifespan)."""

    async def stop(self) -> None:
        """Finish work in flight and close provider clients."""
