"""The Telegram channel: a webhook that checks Telegram's secret token, and a bot that answers.

python-telegram-bot 22 runs without an updater inside the app's lifespan and is used
as a Bot API client only; the conversation lives in the engine. ``helpline serve
--telegram-polling`` fetches updates with getUpdates instead (development without a
public URL) and feeds them through the same code as the webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
import sys
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application

from bot import faults, metrics
from bot.channels import openapi
from bot.channels.telegram_handler import UpdateHandler
from bot.channels.telegram_ids import purge_chat_ids
from bot.channels.telegram_quota import SharedQuota
from bot.channels.telegram_sender import SendLimits, TelegramSender
from bot.channels.telegram_shape import read_update
from bot.helpline import Helpline, claims_namespace
from bot.i18n import Catalogue, catalogue, languages
from bot.settings import Settings
from bot.types import Channel
from bot.webhook_lane import WebhookAnswer, WebhookRequest, WebhookRoute

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "purge_chat_ids", "set_webhook_command"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member", "channel_post")
"""Edited messages are not asked for: the bot answers each message once."""
COMMANDS = ("start", "menu", "language", "forget", "help")
DEFAULT_LIMITS = SendLimits()
POLL_SECONDS = 25
DRAIN_SECONDS = 10.0
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

TelegramApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramChannel:
    def __init__(self, helpline: Helpline, *, limits: SendLimits | None = None) -> None:
        self._helpline = helpline
        self._settings = helpline.settings
        self._limits = limits or DEFAULT_LIMITS
        self._application: TelegramApplication | None = None
        self._handler: UpdateHandler | None = None
        self._polling: asyncio.Task[None] | None = None
        self._quota: SharedQuota | None = None
        self._starting = asyncio.Lock()

    def webhooks(self) -> list[WebhookRoute]:
        if not self._settings.telegram_enabled:
            return []
        return [
            WebhookRoute(
                WEBHOOK_PATH,
                self.webhook,
                summary="Webhook",
                openapi_extra=openapi.TELEGRAM,
                responses=openapi.TELEGRAM_RESPONSES,
            )
        ]

    async def start(self) -> None:
        if not self._settings.telegram_enabled:
            return
        self._application = build_application(self._settings)
        self._quota = shared_quota(self._settings, self._limits)
        sender = TelegramSender(
            self._application.bot, self._helpline, self._limits, shared=self._quota
        )
        self._helpline.senders.register(Channel.TELEGRAM, sender)
        self._handler = UpdateHandler(self._helpline, sender)
        await self._ready()
        if os.environ.get("HELPLINE_TELEGRAM_POLLING") == "1":
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        if self._handler is not None:
            await self._handler.jobs.drain(DRAIN_SECONDS)
        application = self._application
        if application is not None:
            if application.running:
                await application.stop()
            await application.shutdown()
            # If getMe never succeeded the application was never initialised, but the
            # bot's HTTP clients were opened: close them too (a no-op otherwise).
            await application.bot.shutdown()
        if self._quota is not None:
            await self._quota.close()
            self._quota = None

    async def webhook(self, request: WebhookRequest) -> WebhookAnswer:
        """Take one update from Telegram: check the secret token, then answer it."""
        if not self._authentic(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
            return WebhookAnswer(403)
        # bot.limits refused a body over its limit before it was read.
        data, reason = read_update(request.body)
        if data is None:
            return self._drop(reason or "malformed", None)
        if self._handler is None or self._application is None or not await self._ready():
            # Telegram delivers the update again later.
            return WebhookAnswer(503)
        try:
            update = Update.de_json(data, self._application.bot)
        except Exception:
            return self._drop("unreadable", data["update_id"])
        try:
            await self._handler.handle(update)
        except faults.service_errors():
            raise  # the lane answers 503 with Retry-After (bot.faults); Telegram redelivers
        except Exception as error:
            # A redelivery would fail the same way and hold back the updates behind it.
            log.error(
                "telegram update failed update_id=%d error=%s",
                update.update_id,
                type(error).__name__,
            )
            return self._drop("failed", update.update_id)
        return WebhookAnswer(200)

    @staticmethod
    def _drop(reason: str, update_id: int | None) -> WebhookAnswer:
        """Acknowledge an update that cannot be answered, so Telegram moves on."""
        metrics.update_dropped(reason)
        log.warning("telegram update dropped reason=%s update_id=%s", reason, update_id)
        return WebhookAnswer(200)

    def _authentic(self, token: str | None) -> bool:
        expected = self._settings.telegram_webhook_secret
        if expected is None or token is None:
            return False
        return hmac.compare_digest(token.encode(), expected.get_secret_value().encode())

    async def _ready(self) -> bool:
        """Start the PTB application once (getMe); retried on the next update if it failed."""
        application = self._application
        if application is None:
            return False
        async with self._starting:
            if application.running:
                return True
            try:
                await application.initialize()
                await application.start()
            except InvalidToken:
                log.error("TELEGRAM_BOT_TOKEN was refused by the Bot API")
                return False
            except TelegramError as error:
                log.warning("telegram bot not reachable yet: %s", type(error).__name__)
                return False
        return True

    async def _poll(self) -> None:
        """Fetch updates with getUpdates and answer them like webhook deliveries."""
        assert self._application is not None and self._handler is not None
        bot = self._application.bot
        offset: int | None = None
        dropped_webhook = False
        while True:
            try:
                if not await self._ready():
                    await asyncio.sleep(5)
                    continue
                if not dropped_webhook:
                    # Telegram refuses getUpdates while a webhook is set.
                    await bot.delete_webhook(drop_pending_updates=False)
                    dropped_webhook = True
                updates = await bot.get_updates(
                    offset=offset, timeout=POLL_SECONDS, allowed_updates=list(ALLOWED_UPDATES)
                )
            except Conflict:
                log.warning("another getUpdates or a webhook is active; retrying")
                await asyncio.sleep(5)
                continue
            except TelegramError as error:
                log.warning("telegram polling failed: %s", type(error).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                offset = update.update_id + 1
                try:
                    await self._handler.handle(update)
                except Exception as error:
                    log.warning(
                        "telegram update failed update_id=%d error=%s",
                        update.update_id,
                        type(error).__name__,
                    )


def shared_quota(settings: Settings, limits: SendLimits) -> SharedQuota | None:
    """The bot-wide limit shared through Redis by the workers of one help line, if any."""
    if not settings.redis_url:
        return None
    return SharedQuota(
        settings.redis_url,
        namespace=claims_namespace(settings),
        per_second=limits.overall,
    )


def build_application(settings: Settings) -> TelegramApplication:
    """A PTB application without an updater, pointed at ``TELEGRAM_API_BASE_URL``."""
    assert settings.telegram_bot_token is not None
    base = settings.telegram_api_base_url.rstrip("/")
    application: TelegramApplication = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .updater(None)
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .build()
    )
    return application


def build_bot(settings: Settings) -> Bot:
    assert settings.telegram_bot_token is not None
    base = settings.telegram_api_base_url.rstrip("/")
    return Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
    )


def bot_commands(words: Catalogue) -> list[BotCommand]:
    """The command menu in one language, described from its catalogue."""
    return [BotCommand(name, words.text(f"telegram.command.{name}")) for name in COMMANDS]


async def set_webhook_command(settings: Settings) -> int:
    """Register the webhook (secret token, update types) and the command menu in every language."""
    if not settings.telegram_enabled:
        print("error: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first", file=sys.stderr)
        return 2
    assert settings.telegram_webhook_secret is not None
    secret = settings.telegram_webhook_secret.get_secret_value()
    if not _SECRET_TOKEN.match(secret):
        print(
            "error: TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
            file=sys.stderr,
        )
        return 2
    url = settings.public_url.rstrip("/") + WEBHOOK_PATH
    if not url.startswith("https://"):
        print("note: Telegram accepts only https:// webhook URLs", file=sys.stderr)
    try:
        async with build_bot(settings) as bot:
            await bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=list(ALLOWED_UPDATES),
                drop_pending_updates=False,
            )
            for language in languages():
                if language.base is not None:
                    continue  # Telegram takes two-letter codes: pt's menu serves every pt
                await bot.set_my_commands(
                    bot_commands(catalogue(language.code)), language_code=language.code
                )
            # Everyone whose app language is none of these gets the English menu.
            await bot.set_my_commands(bot_commands(catalogue("en")))
    except TelegramError as error:
        print(f"error: Telegram refused ({type(error).__name__})", file=sys.stderr)
        return 1
    print(f"Webhook set to {url}; command menu set in {len(languages())} languages.")
    return 0
