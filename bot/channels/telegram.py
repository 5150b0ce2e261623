"""Placeholder until the telegram channel lands (see its issue); registers no routes."""

from fastapi import APIRouter

from bot.helpline import Helpline


class TelegramChannel:
    def __init__(self, helpline: Helpline) -> None:
        self._helpline = helpline

    def router(self) -> APIRouter:
        return APIRouter()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
