"""``helpline doctor``: check a deployment and print what is fine and what is not.

Settings, the database's schema revision, Redis, the Telegram webhook registration
(``getWebhookInfo`` against ``HELPLINE_PUBLIC_URL``) and the Twilio credentials.
Exit code 0 only when every line is fine. Nothing printed is a secret: tokens and
passwords are never shown, and provider errors are named by type or code only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.settings import Settings
from bot.startup import (
    CONNECT_SECONDS,
    StartupError,
    check_redis,
    database_revision,
    half_set_channel,
    head_revision,
    where,
)

CALL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    fine: bool
    detail: str


async def run_checks(settings: Settings) -> list[Check]:
    checks = [_settings(settings)]
    steps: list[tuple[str, Callable[[Settings], Awaitable[Check]]]] = [
        ("database", _database),
        ("redis", _redis),
        ("telegram", _telegram),
        ("twilio", _twilio),
    ]
    for name, step in steps:
        try:
            async with asyncio.timeout(CALL_SECONDS * 2):
                checks.append(await step(settings))
        except Exception as error:
            checks.append(Check(name, False, f"check failed ({type(error).__name__})"))
    return checks


def _settings(settings: Settings) -> Check:
    problem = half_set_channel(settings)
    if problem:
        return Check("settings", False, problem)
    channels = [
        name
        for name, on in (("sms", settings.sms_enabled), ("telegram", settings.telegram_enabled))
        if on
    ]
    if not channels:
        return Check("settings", False, "no channel is set up (neither Twilio nor Telegram)")
    if not settings.public_url.startswith("https://"):
        return Check(
            "settings", False, f"HELPLINE_PUBLIC_URL is {settings.public_url}: carriers need https"
        )
    return Check("settings", True, f"secret set; channels: {', '.join(channels)}")


async def _database(settings: Settings) -> Check:
    try:
        revision = await database_revision(settings.database_url)
    except Exception as error:
        return Check(
            "database",
            False,
            f"{where(settings.database_url)} does not answer ({type(error).__name__})",
        )
    head = head_revision()
    if revision != head:
        return Check(
            "database",
            False,
            f"at {revision or 'no revision'}, needs {head}: run `helpline migrate`",
        )
    return Check("database", True, f"{where(settings.database_url)} at revision {revision}")


async def _redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("redis", True, "not set: one worker, in-process relay")
    try:
        await check_redis(settings.redis_url)
    except StartupError as error:
        return Check("redis", False, str(error))
    return Check("redis", True, "answers PING")


async def _telegram(settings: Settings) -> Check:
    if not settings.telegram_enabled:
        return Check("telegram", True, "not set up")
    from telegram.error import TelegramError

    from bot.channels.telegram import WEBHOOK_PATH, build_bot

    expected = settings.public_url.rstrip("/") + WEBHOOK_PATH
    try:
        async with build_bot(settings) as bot:
            info = await bot.get_webhook_info()
    except TelegramError as error:
        return Check("telegram", False, f"the Bot API refused the token ({type(error).__name__})")
    if info.url != expected:
        shown = info.url or "no webhook"
        return Check(
            "telegram",
            False,
            f"webhook is {shown}, expected {expected}: run `helpline telegram set-webhook`",
        )
    pending = info.pending_update_count
    if info.last_error_date is not None:
        return Check(
            "telegram", False, f"webhook set; Telegram reports delivery errors ({pending} pending)"
        )
    return Check("telegram", True, f"webhook {expected} ({pending} pending)")


async def _twilio(settings: Settings) -> Check:
    if not settings.sms_enabled:
        return Check("twilio", True, "not set up")
    from bot.channels.twilio_api import TwilioApi

    api = TwilioApi(settings, count=lambda _: None, timeout=CONNECT_SECONDS)
    try:
        status = await api.account_status()
    finally:
        await api.close()
    if status is None:
        return Check("twilio", False, "Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN")
    if status != "active":
        return Check("twilio", False, f"the Twilio account is {status}")
    return Check("twilio", True, "credentials accepted; account active")


def table(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"{'check'.ljust(width)}  status    detail"]
    for check in checks:
        status = "fine" if check.fine else "NOT FINE"
        lines.append(f"{check.name.ljust(width)}  {status.ljust(8)}  {check.detail}")
    return "\n".join(lines)


async def doctor(settings: Settings) -> int:
    checks = await run_checks(settings)
    print(table(checks))
    return 0 if all(check.fine for check in checks) else 1
