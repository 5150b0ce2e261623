"""What every channel adapter offers the app factory."""

from typing import Protocol

from fastapi import APIRouter


class ChannelAdapter(Protocol):
    def router(self) -> APIRouter:
        """The webhook routes of this channel (empty when the channel is not configured)."""

    async def start(self) -> None:
        """Start provider clients (inside the app's lifespan)."""

    async def stop(self) -> None:
        """Finish work in flight and close provider clients."""
