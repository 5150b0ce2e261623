"""One typed settings object, read from the environment (and ``.env``).

Outside ``demo`` the help line refuses to start without a real secret key: the key
protects aliases, console sessions and the encrypted reply addresses.
"""

from __future__ import annotations

import secrets
import zoneinfo
from functools import cache
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_PLACEHOLDER = "demo-only-not-secret"  # noqa: S105 - refused outside demo
_MIN_SECRET_LENGTH = 32


@cache
def time_zones() -> frozenset[str]:
    """Every IANA time zone name this machine knows (the system's or the tzdata package's)."""
    return frozenset(zoneinfo.available_timezones())


def known_time_zone(name: str) -> bool:
    """An IANA name such as ``Europe/Bucharest`` or ``UTC``: never a path or a made-up name."""
    return name in time_zones()


class UnsafeSettingsError(ValueError):
    """Raised at start-up when a setting would put people at risk."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    mode: Literal["serve", "demo", "test"] = Field("serve", alias="HELPLINE_MODE")
    # Procfile hosts' add-ons set DATABASE_URL and REDIS_URL; ours take precedence.
    database_url: str = Field(
        "sqlite+aiosqlite:///./var/helpline.db",
        validation_alias=AliasChoices("HELPLINE_DATABASE_URL", "DATABASE_URL"),
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("HELPLINE_REDIS_URL", "REDIS_URL")
    )
    secret_key: SecretStr = Field(SecretStr(""), alias="HELPLINE_SECRET_KEY")
    public_url: str = Field("http://127.0.0.1:8000", alias="HELPLINE_PUBLIC_URL")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", alias="HELPLINE_LOG_LEVEL"
    )

    idle_timeout_seconds: int = Field(15 * 60, alias="HELPLINE_IDLE_TIMEOUT_SECONDS", ge=60)
    default_country: str = Field("US", alias="HELPLINE_DEFAULT_COUNTRY")
    queue_hold_seconds: int = Field(30 * 60, alias="HELPLINE_QUEUE_HOLD_SECONDS", ge=60)
    queue_update_interval_seconds: int = Field(
        180, alias="HELPLINE_QUEUE_UPDATE_INTERVAL_SECONDS", ge=0
    )

    menu_concurrency: int = Field(16, alias="HELPLINE_MENU_CONCURRENCY", ge=1, le=1000)
    """SMS menu turns one worker runs at once; live chats never wait for them."""

    retention_person_hours: int = Field(24, alias="HELPLINE_RETENTION_PERSON_HOURS", ge=1)
    retention_ticket_days: int = Field(30, alias="HELPLINE_RETENTION_TICKET_DAYS", ge=1)
    retention_audit_days: int = Field(90, alias="HELPLINE_RETENTION_AUDIT_DAYS", ge=1)
    alias_key_rotation_hours: int = Field(24, alias="HELPLINE_ALIAS_KEY_ROTATION_HOURS", ge=1)

    console_idle_logout_minutes: int = Field(15, alias="HELPLINE_CONSOLE_IDLE_MINUTES", ge=1)
    console_lockout_attempts: int = Field(5, alias="HELPLINE_CONSOLE_LOCKOUT_ATTEMPTS", ge=1)
    # The console's times for an advocate who has not chosen a time zone (an IANA name).
    console_timezone: str = Field("UTC", alias="HELPLINE_CONSOLE_TIMEZONE")
    # The supervisor's board marks a chat open longer than this "Open a long time".
    long_chat_minutes: int = Field(45, alias="HELPLINE_LONG_CHAT_MINUTES", ge=1, le=24 * 60)
    # /metrics shows live queue state: only a scraper with this bearer token sees it (unset: 404).
    metrics_token: SecretStr | None = Field(None, alias="HELPLINE_METRICS_TOKEN")

    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_messaging_service_sid: str | None = Field(None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_from_number: str | None = Field(None, alias="TWILIO_FROM_NUMBER")
    twilio_api_base_url: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE_URL")
    twilio_delete_messages: bool = Field(True, alias="HELPLINE_TWILIO_DELETE_MESSAGES")

    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_secret: SecretStr | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_base_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_BASE_URL")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept the plain ``postgres://`` URLs hosts hand out; we talk asyncpg."""
        for plain in ("postgres://", "postgresql://"):
            if url.startswith(plain):
                return "postgresql+asyncpg://" + url.removeprefix(plain)
        return url

    @field_validator("console_timezone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        if not known_time_zone(name):
            raise ValueError(
                "HELPLINE_CONSOLE_TIMEZONE must be an IANA time zone such as Europe/Bucharest"
            )
        return name

    @model_validator(mode="after")
    def _refuse_unsafe_values(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.mode == "serve":
            if not secret or secret == DEMO_SECRET_PLACEHOLDER:
                raise UnsafeSettingsError(
                    "HELPLINE_SECRET_KEY is required outside demo; "
                    "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                )
            if len(secret) < _MIN_SECRET_LENGTH:
                raise UnsafeSettingsError(
                    f"HELPLINE_SECRET_KEY must be at least {_MIN_SECRET_LENGTH} characters"
                )
        elif not secret:
            # demo and test get a fresh random key per process: nothing they write is
            # linkable after a restart, which is what a demo should show.
            self.secret_key = SecretStr(secrets.token_urlsafe(48))
        if self.twilio_auth_token and not self.public_url.startswith(("https://", "http://")):
            raise UnsafeSettingsError("HELPLINE_PUBLIC_URL must be an absolute http(s) URL")
        return self

    @property
    def is_demo(self) -> bool:
        return self.mode in ("demo", "test")

    @property
    def sms_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_webhook_secret)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")
