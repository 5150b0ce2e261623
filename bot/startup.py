"""Start-up checks: each configuration mistake becomes one clear line, not a traceback.

Every ``helpline`` command reads its settings through ``load_settings`` and the
serving commands call ``check_services`` before uvicorn starts. A ``StartupError``
carries one sentence for the operator; the CLI prints it and exits with code 2.
Nothing here prints an exception's message: a database error quotes SQL parameters.
"""

from __future__ import annotations

import asyncio
import ipaddress
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from pydantic import AliasChoices, ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.db import create_engine, is_sqlite
from bot.settings import Settings

CONNECT_SECONDS = 5.0


class StartupError(Exception):
    """A configuration mistake, told in one line (the message is written for operators)."""


def load_settings() -> Settings:
    """Read the settings; a refused value becomes one line naming the variable."""
    try:
        settings = Settings()
    except ValidationError as error:
        raise StartupError(_first_problem(error)) from None
    problem = half_set_channel(settings)
    if problem:
        raise StartupError(problem)
    return settings


def _first_problem(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    names = [str(part) for part in first["loc"]]
    field = Settings.model_fields.get(names[0]) if names else None
    variable = ".".join(names)
    if field is not None and field.alias:
        variable = field.alias
    elif field is not None and isinstance(field.validation_alias, AliasChoices):
        variable = str(field.validation_alias.choices[0])
    return f"{variable}: {message}" if variable else message


def half_set_channel(settings: Settings) -> str | None:
    """A channel with some of its settings and not the others cannot work: say which."""
    twilio = {
        "TWILIO_ACCOUNT_SID": bool(settings.twilio_account_sid),
        "TWILIO_AUTH_TOKEN": bool(settings.twilio_auth_token),
        "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER": bool(
            settings.twilio_messaging_service_sid or settings.twilio_from_number
        ),
    }
    telegram = {
        "TELEGRAM_BOT_TOKEN": bool(settings.telegram_bot_token),
        "TELEGRAM_WEBHOOK_SECRET": bool(settings.telegram_webhook_secret),
    }
    for channel, values in (("SMS (Twilio)", twilio), ("Telegram", telegram)):
        if any(values.values()) and not all(values.values()):
            missing = ", ".join(name for name, present in values.items() if not present)
            return f"{channel} is half set up: also set {missing}, or unset the others"
    return None


def public_url_mismatch(settings: Settings, host: str, port: int) -> str | None:
    """A warning when HELPLINE_PUBLIC_URL points at this machine but not at this server."""
    public = urlsplit(settings.public_url)
    public_host = public.hostname or ""
    public_port = public.port or (443 if public.scheme == "https" else 80)
    if not _is_local(public_host):
        return None  # behind a proxy or a tunnel: only the operator knows the mapping
    if public_port == port:
        return None
    return (
        f"HELPLINE_PUBLIC_URL is {settings.public_url} but this server listens on "
        f"{host}:{port}; the console and Twilio's signatures use the public URL"
    )


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def where(url: str) -> str:
    """The database's place without its password, for an error line."""
    parsed = make_url(url)
    if is_sqlite(url):
        return f"SQLite file {parsed.database}"
    return f"{parsed.get_backend_name()} at {parsed.host}:{parsed.port or 5432}/{parsed.database}"


def head_revision() -> str:
    from bot.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("")).get_heads()
    return ",".join(sorted(heads))


async def database_revision(url: str) -> str | None:
    """The database's Alembic revision (None before the first migration)."""
    engine = create_engine(url)
    try:
        async with asyncio.timeout(CONNECT_SECONDS * 2), engine.connect() as connection:
            has_table = await connection.run_sync(
                lambda sync: sync.dialect.has_table(sync, "alembic_version")
            )
            if not has_table:
                return None
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return ",".join(sorted(str(row[0]) for row in rows)) or None
    finally:
        await engine.dispose()


async def check_database(url: str, *, migrate_sqlite: bool) -> None:
    """Raise StartupError unless the database answers and is at the newest schema."""
    try:
        revision = await database_revision(url)
    except (TimeoutError, OSError, Exception) as error:
        raise StartupError(
            f"the database does not answer ({where(url)}: {type(error).__name__}); "
            "check HELPLINE_DATABASE_URL and that the server is running"
        ) from None
    head = head_revision()
    if revision == head:
        return
    if migrate_sqlite and is_sqlite(url):
        # The embedded default migrates itself, as `helpline demo` does.
        from bot.migrate import migrate

        await migrate(url)
        return
    state = "has no tables yet" if revision is None else f"is at revision {revision}"
    raise StartupError(f"the database {state}, the code needs {head}: run `helpline migrate` first")


async def check_redis(url: str | None) -> None:
    """Raise StartupError unless Redis answers a PING within a few seconds."""
    if not url:
        return
    from redis.asyncio import Redis

    client = Redis.from_url(
        url, socket_timeout=CONNECT_SECONDS, socket_connect_timeout=CONNECT_SECONDS
    )
    try:
        async with asyncio.timeout(CONNECT_SECONDS * 2):
            await client.ping()
    except Exception as error:
        parsed = urlsplit(url)
        raise StartupError(
            f"Redis does not answer at {parsed.hostname}:{parsed.port or 6379} "
            f"({type(error).__name__}); check HELPLINE_REDIS_URL"
        ) from None
    finally:
        await client.aclose()


async def check_services(settings: Settings, *, migrate_sqlite: bool) -> None:
    await check_database(settings.database_url, migrate_sqlite=migrate_sqlite)
    await check_redis(settings.redis_url)
