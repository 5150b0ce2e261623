"""The admin page: resets and edits, each behind the CSRF token and audited without secrets."""

from __future__ import annotations

import re

import httpx
import pyotp

from bot.models import Advocate
from bot.states import Role
from tests.console.conftest import Console
from tests.console.test_auth import audit_actions, csrf_in, sign_in, signed_in_cookie

_PASSWORD = re.compile(r"Password: <code>([^<]+)</code>")
_SECRET = re.compile(r"secret=([A-Z2-7]+)")


async def admin_client(console: Console) -> httpx.AsyncClient:
    root = await console.add("root", role=Role.ADMIN)
    cookie = f"helpline_console={await signed_in_cookie(console, root)}"
    return httpx.AsyncClient(base_url=console.base_url, headers={"Cookie": cookie})


async def test_an_admin_resets_a_password_and_only_the_new_one_works(console: Console) -> None:
    ana = await console.add("ana")
    async with await admin_client(console) as admin:
        csrf = csrf_in((await admin.get("/console/admin")).text)
        refused = await admin.post(f"/console/admin/advocates/{ana.id}/reset-password")
        assert refused.status_code == 403  # no CSRF token, no change
        page = await admin.post(
            f"/console/admin/advocates/{ana.id}/reset-password", data={"csrf": csrf}
        )
    found = _PASSWORD.search(page.text)
    assert page.status_code == 200 and found is not None
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 401
        later = ana.code(console.clock, steps_later=1)
        assert (await sign_in(client, "ana", later, found.group(1))).status_code == 303
    actions = await audit_actions(console)
    assert ("account_reset_password", f"advocate:{ana.id}") in actions
    assert not any(found.group(1) in detail for _, detail in actions)


async def test_an_admin_resets_the_authenticator_with_a_qr_code(console: Console) -> None:
    ana = await console.add("ana")
    async with await admin_client(console) as admin:
        csrf = csrf_in((await admin.get("/console/admin")).text)
        page = await admin.post(
            f"/console/admin/advocates/{ana.id}/reset-code", data={"csrf": csrf}
        )
    assert 'src="data:image/svg+xml' in page.text
    assert "QR code that enrols" in page.text
    found = _SECRET.search(page.text)
    assert found is not None and found.group(1) != ana.secret
    new_code = pyotp.TOTP(found.group(1)).at(console.clock.now)
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 401
        assert (await sign_in(client, "ana", new_code)).status_code == 303
    assert ("account_reset_code", f"advocate:{ana.id}") in await audit_actions(console)


async def test_an_admin_edits_role_languages_and_chats_at_once(console: Console) -> None:
    ana = await console.add("ana")
    async with await admin_client(console) as admin:
        csrf = csrf_in((await admin.get("/console/admin")).text)
        form = {"csrf": csrf, "role": "supervisor", "languages": ["es", "ar"], "max_chats": "5"}
        answer = await admin.post(f"/console/admin/advocates/{ana.id}/edit", data=form)
        assert answer.status_code == 303
        bad = dict(form, max_chats="50")
        answer = await admin.post(f"/console/admin/advocates/{ana.id}/edit", data=bad)
        assert answer.status_code == 400 and "1 to 10" in answer.text
    async with console.helpline.sessions() as session:
        stored = await session.get(Advocate, ana.id)
    assert stored is not None
    assert (stored.role, stored.language_codes(), stored.max_chats) == (
        Role.SUPERVISOR,
        ("es", "ar"),
        5,
    )
    assert ("account_edit", f"advocate:{ana.id}") in await audit_actions(console)
