"""Placeholder until the console lands (see its issue)."""

from fastapi import APIRouter

from bot.helpline import Helpline


def router(helpline: Helpline) -> APIRouter:
    return APIRouter()
