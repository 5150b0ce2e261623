"""Conversation topics, one module each, wired together here and nowhere else."""

from bot.conversation import Router
from handlers import (
    confirm,
    danger,
    exit,
    fallback,
    hotlines,
    language,
    media,
    referrals,
    safety,
    start,
    talk,
)

TOPICS = (
    danger,
    talk,
    exit,
    start,
    language,
    hotlines,
    safety,
    referrals,
    media,
    confirm,
    fallback,
)
"""Keyword lists are tried in this order (talk's leave word before the rest)."""


def build_router() -> Router:
    router = Router()
    for topic in TOPICS:
        topic.register(router)
    router.check()
    return router
