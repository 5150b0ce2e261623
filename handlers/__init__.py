"""Conversation topics, one module each, wired together here and nowhere else."""

from bot.conversation import Router
from handlers import exit, fallback, hotlines, language, media, referrals, safety, start, talk

TOPICS = (start, language, hotlines, safety, referrals, talk, media, exit, fallback)


def build_router() -> Router:
    router = Router()
    for topic in TOPICS:
        topic.register(router)
    return router
