"""Console login and sessions: argon2id + TOTP, lockout, revocable server-side sessions.

The cookie holds a random token; the database holds only its SHA-256, so a copy of
the database cannot be replayed as a login. A TOTP code is accepted once: its time
step must be later than the last step accepted for that advocate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import WebSocket
from sqlmodel import col, delete, select, update
from starlette.responses import RedirectResponse, Response

from bot.accounts import TOTP_PURPOSE
from bot.console.audit import record
from bot.console.security import allowed_origins
from bot.console.throttle import HASH_SLOTS, REFUSAL_SECONDS, SignInThrottle, Throttled
from bot.crypto import DecryptionError, token_hash
from bot.db import transaction
from bot.helpline import Helpline
from bot.metrics import sign_in_handled
from bot.models import Advocate, ConsoleSession
from bot.states import Role

log = logging.getLogger(__name__)

LOCKOUT = dt.timedelta(minutes=15)
LOGIN_FLOOR_SECONDS = 0.3
"""Every failed sign-in takes at least this long, so timing does not say which part was wrong."""
SESSION_LIFETIME = dt.timedelta(hours=12)
TOTP_STEP_SECONDS = 30
HASH_NICENESS = 10
"""The priority (``nice``) the sign-in hash runs at: below the webhooks' 0."""
_hasher = PasswordHasher()
# Verified when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class LoginFailed(Exception):
    """Wrong name, password or code, or a locked account; the reason is kept for the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Staff:
    """The advocate behind a valid console session."""

    id: int
    name: str
    role: Role
    languages: tuple[str, ...]
    csrf_token: str
    token_hash: str

    @property
    def supervises(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


def csrf_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def form_refusal(staff: Staff | None) -> Response:
    """The answer to a console form that cannot be acted on.

    No session: it ended while the form was open (the idle sign-out, or a sign-out in
    another tab), so the advocate is sent to sign in again and told why, in their
    language. A session with the wrong token: a forged post, 403."""
    if staff is None:
        return RedirectResponse("/console/login?expired=1", status_code=303)
    return Response("Forbidden", status_code=403)


def totp_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // TOTP_STEP_SECONDS


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """Return the time step (now, or one either side for clock drift) whose code this is."""
    code = code.strip().replace(" ", "")
    if not code.isdecimal() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp_step(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def current_code(helpline: Helpline, advocate: Advocate) -> str:
    """The advocate's code right now (the demo login page shows the demo account's)."""
    secret = helpline.sealer(TOTP_PURPOSE).open(advocate.totp_secret_ciphertext).decode()
    return str(pyotp.TOTP(secret).at(helpline.clock()))


def _lower_priority() -> None:
    """Run this thread, and the threads argon2 starts for its lanes, below the webhooks.

    An argon2id check takes about 165 ms of CPU over four lanes, so on two cores a
    burst of sign-ins (ten wrong passwords are hashed before an address is held off)
    took both cores from the people's messages for a moment each: SMS p99 3.2× quiet
    with two workers. On Linux the priority is each thread's own and threads inherit
    it, so the lanes run at ``HASH_NICENESS`` too; under load a sign-in takes longer,
    never a person's reply. Elsewhere the priority stays as it is.
    """
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICENESS)


HASHING = ThreadPoolExecutor(
    max_workers=HASH_SLOTS, thread_name_prefix="sign-in-hash", initializer=_lower_priority
)
"""Where sign-in passwords are checked (``HASH_SLOTS`` at a time, as the throttle allows)."""


async def _password_ok(password_hash: str, password: str) -> bool:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(HASHING, _hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def log_in(
    helpline: Helpline,
    *,
    name: str,
    password: str,
    code: str,
    address: str = "",
    throttle: SignInThrottle | None = None,
) -> tuple[Staff, str]:
    """Check name, password and TOTP code; return the staff member and a new session token.

    An unknown name, a wrong password and a locked account do the same work (one hash,
    one audit row) and take at least ``LOGIN_FLOOR_SECONDS``. Wrong passwords count
    against the client address, never the account, so nobody can lock an advocate out
    from outside; only wrong codes after a right password lock the account. A throttled
    sign-in reads and hashes nothing and is answered after ``REFUSAL_SECONDS``.
    """
    started = asyncio.get_running_loop().time()
    try:
        return await _log_in(helpline, name, password, code, address, throttle or _THROTTLE)
    except LoginFailed as failed:
        floor = REFUSAL_SECONDS if failed.reason == "throttled" else LOGIN_FLOOR_SECONDS
        spent = asyncio.get_running_loop().time() - started
        await asyncio.sleep(max(0.0, floor - spent))
        raise


_THROTTLE = SignInThrottle()


async def turned_away(helpline: Helpline, address: str, throttle: SignInThrottle) -> bool:
    """True if ``address`` is over its limit: counted and audited as a refused sign-in.

    The console checks this before it reads a posted form, so a flood from one address
    costs no form parsing either; the caller answers after ``REFUSAL_SECONDS``."""
    try:
        await throttle.check(address)
    except Throttled as refused:
        await _refused(helpline, refused)
        return True
    return False


async def _refused(helpline: Helpline, refused: Throttled) -> None:
    sign_in_handled(f"refused_{refused.refusal}")
    if refused.first:
        await record(helpline, action="login_failed", detail="throttled")


async def _log_in(
    helpline: Helpline,
    name: str,
    password: str,
    code: str,
    address: str,
    throttle: SignInThrottle,
) -> tuple[Staff, str]:
    now = helpline.clock()
    try:
        async with throttle.checking(address):
            async with helpline.sessions() as session:
                found = (await session.exec(select(Advocate).where(Advocate.name == name))).first()
            advocate = (
                found if found is not None and found.id is not None and found.active else None
            )
            right = await _password_ok(
                advocate.password_hash if advocate else _DUMMY_HASH, password
            )
    except Throttled as refused:
        await _refused(helpline, refused)
        raise LoginFailed("throttled") from None
    sign_in_handled("checked")
    if advocate is None or advocate.id is None or not right:
        advocate_id = advocate.id if advocate else None
        await record(
            helpline,
            action="login_failed",
            advocate_id=advocate_id,
            detail="password" if advocate else "unknown",
        )
        raise LoginFailed("password" if advocate else "unknown")
    # Wrong codes after the right password lock the account instead (``_fail``).
    await throttle.passed(address)
    if advocate.locked_until is not None and _aware(advocate.locked_until) > now:
        await record(helpline, action="login_failed", advocate_id=advocate.id, detail="locked")
        raise LoginFailed("locked")
    try:
        secret = helpline.sealer(TOTP_PURPOSE).open(advocate.totp_secret_ciphertext).decode()
    except DecryptionError:
        await _fail(helpline, advocate.id, "totp", now)
        raise LoginFailed("totp") from None
    step = matching_step(secret, code, now)
    if step is None or not await _accept_step(helpline, advocate.id, step):
        await _fail(helpline, advocate.id, "totp" if step is None else "totp_replay", now)
        raise LoginFailed("totp")
    await throttle.succeeded(address)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with transaction(helpline.sessions) as session:
        fresh = await session.get(Advocate, advocate.id)
        assert fresh is not None
        fresh.failed_logins = 0
        fresh.locked_until = None
        session.add(fresh)
        # Ended sessions are of no use to anyone: drop this advocate's old rows now.
        await session.exec(
            delete(ConsoleSession)
            .where(col(ConsoleSession.advocate_id) == advocate.id)
            .where(
                col(ConsoleSession.revoked_at).is_not(None)
                | (col(ConsoleSession.created_at) < now - SESSION_LIFETIME)
            )
        )
        session.add(
            ConsoleSession(
                token_hash=token_hash(token),
                advocate_id=advocate.id,
                csrf_token=csrf,
                created_at=now,
                last_seen=now,
            )
        )
    await record(helpline, action="login_ok", advocate_id=advocate.id)
    log.info("console login advocate=%s", advocate.id)
    staff = Staff(
        advocate.id,
        advocate.name,
        advocate.role,
        advocate.language_codes(),
        csrf,
        token_hash(token),
    )
    return staff, token


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


async def _accept_step(helpline: Helpline, advocate_id: int, step: int) -> bool:
    """Remember this step as used; False if it (or a later one) was used already."""
    async with transaction(helpline.sessions) as session:
        result = await session.exec(
            update(Advocate)
            .where(col(Advocate.id) == advocate_id)
            .where(col(Advocate.totp_last_step) < step)
            .values(totp_last_step=step)
        )
        return bool(result.rowcount == 1)


async def _fail(helpline: Helpline, advocate_id: int, reason: str, now: dt.datetime) -> None:
    limit = helpline.settings.console_lockout_attempts
    async with transaction(helpline.sessions) as session:
        advocate = await session.get(Advocate, advocate_id)
        assert advocate is not None
        advocate.failed_logins += 1
        if advocate.failed_logins >= limit:
            advocate.locked_until = now + LOCKOUT
            advocate.failed_logins = 0
            log.warning("console account locked advocate=%s", advocate_id)
        session.add(advocate)
    await record(helpline, action="login_failed", advocate_id=advocate_id, detail=reason)


async def staff_for(helpline: Helpline, token: str | None, *, touch: bool = False) -> Staff | None:
    """Return who holds this session token, or None if it is unknown, revoked or idle too long."""
    if not token:
        return None
    now = helpline.clock()
    idle = dt.timedelta(minutes=helpline.settings.console_idle_logout_minutes)
    hashed = token_hash(token)
    expired_for: int | None = None
    staff: Staff | None = None
    async with transaction(helpline.sessions) as session:
        row = await session.get(ConsoleSession, hashed)
        if row is None or row.revoked_at is not None:
            return None
        advocate = await session.get(Advocate, row.advocate_id)
        if now - row.last_seen > idle or now - row.created_at > SESSION_LIFETIME:
            row.revoked_at = now
            session.add(row)
            expired_for = row.advocate_id
        elif advocate is not None and advocate.id is not None and advocate.active:
            if touch:
                row.last_seen = now
                session.add(row)
            staff = Staff(
                advocate.id,
                advocate.name,
                advocate.role,
                advocate.language_codes(),
                row.csrf_token,
                hashed,
            )
    if expired_for is not None:
        await record(helpline, action="logout_idle", advocate_id=expired_for)
    return staff


async def revoke(helpline: Helpline, token_hash_: str) -> None:
    async with transaction(helpline.sessions) as session:
        row = await session.get(ConsoleSession, token_hash_)
        if row is not None and row.revoked_at is None:
            row.revoked_at = helpline.clock()
            session.add(row)


async def revoke_all(helpline: Helpline, advocate_id: int) -> None:
    """End every session of an advocate (deactivated, or their password reset)."""
    async with transaction(helpline.sessions) as session:
        await session.exec(
            update(ConsoleSession)
            .where(col(ConsoleSession.advocate_id) == advocate_id)
            .where(col(ConsoleSession.revoked_at).is_(None))
            .values(revoked_at=helpline.clock())
        )


async def admit_socket(
    helpline: Helpline, socket: WebSocket, cookie: str, *, page: str, supervisors: bool = False
) -> tuple[Staff, str] | None:
    """Check a console WebSocket before accepting it: our Origin, a live session, the role.

    Closes the socket (4403 foreign origin or wrong role, 4401 no session) and returns
    None when a check fails; otherwise who is signed in and their session token.
    """
    origin = (socket.headers.get("origin") or "").lower()
    if origin not in allowed_origins(helpline.settings, socket.headers.get("host")):
        log.warning("%s websocket refused: foreign origin", page)
        await socket.close(code=4403)
        return None
    token = socket.cookies.get(cookie)
    staff = await staff_for(helpline, token)
    if staff is None or token is None:
        await socket.close(code=4401)
        return None
    if supervisors and not staff.supervises:
        await socket.close(code=4403)
        return None
    return staff, token
