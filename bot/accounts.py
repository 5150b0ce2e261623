"""Advocate accounts: argon2id passwords and TOTP secrets sealed at rest.

Enrolment QR codes are drawn by segno: pure Python (no Pillow or C image libraries),
maintained, and it writes SVG directly, so the code is made on the server and shown as
an image; the secret never goes to a third-party service or a script on the page.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pyotp
import segno
from argon2 import PasswordHasher
from sqlmodel import col, select, update

from bot.crypto import Sealer
from bot.db import SessionFactory, transaction
from bot.i18n import language_codes
from bot.models import Advocate
from bot.states import Role

TOTP_ISSUER = "Help line console"
TOTP_PURPOSE = "totp-secret"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class AccountError(ValueError):
    """An account request that cannot be honoured; the message is safe to show."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_password() -> str:
    return secrets.token_urlsafe(15)


def enrolment_uri(name: str, totp_secret: str) -> str:
    return pyotp.TOTP(totp_secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)


MAX_CHATS_LIMIT = 10


def enrolment_qr(uri: str) -> str:
    """The enrolment URI as an SVG data URI (the console's CSP allows ``data:`` images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


async def reset_password(sessions: SessionFactory, advocate_id: int) -> tuple[str, str]:
    """Give an advocate a new random password; return their name and it (shown once)."""
    password = new_password() + new_password()[:4]
    async with transaction(sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        if advocate is None:
            raise AccountError("no such advocate")
        advocate.password_hash = hash_password(password)
        advocate.failed_logins = 0
        advocate.locked_until = None
        session.add(advocate)
        return advocate.name, password


async def reset_totp(sessions: SessionFactory, sealer: Sealer, advocate_id: int) -> tuple[str, str]:
    """Give an advocate a new TOTP secret; return their name and the secret (shown once)."""
    secret = pyotp.random_base32()
    async with transaction(sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        if advocate is None:
            raise AccountError("no such advocate")
        advocate.totp_secret_ciphertext = sealer.seal(secret.encode())
        advocate.totp_last_step = 0
        advocate.locked_until = None
        session.add(advocate)
        return advocate.name, secret


async def update_advocate(
    sessions: SessionFactory,
    advocate_id: int,
    *,
    role: Role,
    languages: tuple[str, ...],
    max_chats: int,
) -> None:
    """Change what an advocate may do: role, the languages they speak, how many chats at once."""
    unknown = [code for code in languages if code not in language_codes()]
    if unknown or not languages:
        raise AccountError("choose at least one known language")
    if not 1 <= max_chats <= MAX_CHATS_LIMIT:
        raise AccountError(f"chats at once must be 1 to {MAX_CHATS_LIMIT}")
    async with transaction(sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        if advocate is None:
            raise AccountError("no such advocate")
        advocate.role = role
        advocate.languages = ",".join(languages)
        advocate.max_chats = max_chats
        session.add(advocate)


async def add_advocate(
    sessions: SessionFactory,
    sealer: Sealer,
    *,
    name: str,
    password: str,
    role: Role = Role.ADVOCATE,
    languages: tuple[str, ...] = ("en",),
    replace: bool = False,
) -> tuple[Advocate, str]:
    """Create (or with ``replace``, reset) an advocate; return it and its TOTP secret."""
    if not name.strip() or len(name) > 80:
        raise AccountError("name must be 1 to 80 characters")
    if len(password) < 12:
        raise AccountError("password must be at least 12 characters")
    unknown = [code for code in languages if code not in language_codes()]
    if unknown:
        raise AccountError(f"unknown language codes: {', '.join(unknown)}")
    totp_secret = pyotp.random_base32()
    async with transaction(sessions) as session:
        existing = (await session.exec(select(Advocate).where(Advocate.name == name))).first()
        if existing is not None and not replace:
            raise AccountError(f"an advocate named {name!r} already exists")
        advocate = existing or Advocate(name=name, password_hash="", totp_secret_ciphertext=b"")
        advocate.password_hash = hash_password(password)
        advocate.totp_secret_ciphertext = sealer.seal(totp_secret.encode())
        advocate.totp_last_step = 0
        advocate.role = role
        advocate.languages = ",".join(languages)
        advocate.failed_logins = 0
        advocate.locked_until = None
        advocate.active = True
        session.add(advocate)
    return advocate, totp_secret


async def list_advocates(sessions: SessionFactory) -> list[Advocate]:
    async with sessions() as session:
        rows = await session.exec(select(Advocate).order_by(col(Advocate.name)))
        return list(rows.all())


async def set_active(sessions: SessionFactory, advocate_id: int, *, active: bool) -> None:
    async with transaction(sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        if advocate is None:
            raise AccountError("no such advocate")
        advocate.active = active
        if not active:
            advocate.online_until = None
        session.add(advocate)


async def unlock(sessions: SessionFactory, advocate_id: int) -> None:
    async with transaction(sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        if advocate is None:
            raise AccountError("no such advocate")
        advocate.locked_until = None
        advocate.failed_logins = 0
        session.add(advocate)


async def mark_online(
    sessions: SessionFactory, advocate_id: int, until: dt.datetime | None
) -> None:
    """Presence: the queue counts an advocate online while ``online_until`` is in the future."""
    async with transaction(sessions) as session:
        await session.exec(
            update(Advocate).where(col(Advocate.id) == advocate_id).values(online_until=until)
        )
