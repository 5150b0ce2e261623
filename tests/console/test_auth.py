"""Console sign-in and sessions over real HTTP: TOTP, replay, lockout, CSRF, Origin, idle logout."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from pathlib import Path

import httpx
import pytest
import websockets
from sqlmodel import select

from bot.console import auth
from bot.console.security import LOGIN_CSRF_COOKIE, session_cookie
from bot.console.throttle import (
    ADDRESS_FAILURES,
    HASH_QUEUE,
    HASH_SLOTS,
    SignInThrottle,
    Throttled,
)
from bot.console.words import Words
from bot.crypto import token_hash
from bot.i18n import catalogue
from bot.models import Advocate, AuditEvent, ConsoleSession
from bot.states import Role
from tests.conftest import METRICS_HEADERS, FrozenClock
from tests.console.conftest import PASSWORD, Console, Staffer, start_console
from tests.dialogue import Person

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, name: str, code: str, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"csrf": csrf_in(page.text), "name": name, "password": password, "code": code},
    )


async def audit_actions(console: Console) -> list[tuple[str, str]]:
    async with console.helpline.sessions() as session:
        rows = await session.exec(select(AuditEvent).order_by(AuditEvent.id))  # type: ignore[arg-type]
        return [(event.action, event.detail) for event in rows.all()]


async def test_sign_in_with_password_and_code_gives_a_strict_http_only_session(
    console: Console,
) -> None:
    ana = await console.add("ana")
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        response = await sign_in(client, "ana", ana.code(console.clock))
        assert response.status_code == 303
        assert response.headers["location"] == "/console"
        cookie = next(
            h for h in response.headers.get_list("set-cookie") if h.startswith("helpline_console=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Secure" not in cookie  # plain http in this test; see the https test below
        page = await client.get("/console")
        assert page.status_code == 200
        assert "Signed in as" in page.text
        assert "is not stored on the server or in your browser" in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "script-src 'self';" in page.headers["content-security-policy"]
        token = client.cookies["helpline_console"]
    async with console.helpline.sessions() as session:
        rows = (await session.exec(select(ConsoleSession))).all()
    assert [row.token_hash for row in rows] == [token_hash(token)]
    assert ("login_ok", "") in await audit_actions(console)


async def test_wrong_code_is_refused_and_audited(console: Console) -> None:
    ana = await console.add("ana")
    wrong = str((int(ana.code(console.clock)) + 1) % 1_000_000).zfill(6)
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        response = await sign_in(client, "ana", wrong)
        assert response.status_code == 401
        assert "Login failed" in response.text
        assert "helpline_console" not in client.cookies
        assert (await client.get("/console")).headers["location"] == "/console/login"
    assert ("login_failed", "totp") in await audit_actions(console)


async def test_a_code_is_accepted_only_once(console: Console) -> None:
    ana = await console.add("ana")
    code = ana.code(console.clock)
    async with httpx.AsyncClient(base_url=console.base_url) as first:
        assert (await sign_in(first, "ana", code)).status_code == 303
    async with httpx.AsyncClient(base_url=console.base_url) as second:
        replay = await sign_in(second, "ana", code)
        assert replay.status_code == 401
        assert "helpline_console" not in second.cookies
        # The previous step is older still: also refused.
        earlier = ana.code(console.clock, steps_later=-1)
        assert (await sign_in(second, "ana", earlier)).status_code == 401
        console.clock.advance(seconds=30)
        assert (await sign_in(second, "ana", ana.code(console.clock))).status_code == 303
    assert ("login_failed", "totp_replay") in await audit_actions(console)


async def test_wrong_codes_after_the_right_password_lock_the_account_for_a_while(
    console: Console,
) -> None:
    ana = await console.add("ana")
    attempts = console.helpline.settings.console_lockout_attempts
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        for _ in range(attempts):
            assert (await sign_in(client, "ana", "000000")).status_code == 401
        # Locked: someone has the password; even the right code is refused for now.
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 401
        console.clock.advance(minutes=16)
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 303
    assert ("login_failed", "locked") in await audit_actions(console)


async def test_nobody_can_lock_an_advocate_out_with_wrong_passwords(console: Console) -> None:
    ana = await console.add("ana")
    stranger, own = "203.0.113.9", "198.51.100.7"
    throttle = SignInThrottle()
    for _ in range(ADDRESS_FAILURES + 2):
        with pytest.raises(auth.LoginFailed):
            await auth.log_in(
                console.helpline,
                name="ana",
                password="guessing wrong",
                code="000000",
                address=stranger,
                throttle=throttle,
            )
    actions = await audit_actions(console)
    # After the limit the stranger's address is refused before any password is hashed,
    # and the audit log says so once, not once per attempt.
    assert actions.count(("login_failed", "password")) == ADDRESS_FAILURES
    assert actions.count(("login_failed", "throttled")) == 1
    staff, _ = await auth.log_in(
        console.helpline,
        name="ana",
        password=PASSWORD,
        code=ana.code(console.clock),
        address=own,
        throttle=throttle,
    )
    assert staff.id == ana.id


async def test_an_unknown_name_fails_like_a_wrong_password(console: Console) -> None:
    await console.add("ana")
    throttle = SignInThrottle()
    loop = asyncio.get_running_loop()
    for name in ("ana", "nobody-by-this-name"):
        started = loop.time()
        with pytest.raises(auth.LoginFailed):
            await auth.log_in(
                console.helpline,
                name=name,
                password="wrong password!",
                code="000000",
                address="192.0.2.1",
                throttle=throttle,
            )
        # Both hash once and write one audit row; neither answers sooner than the floor.
        assert loop.time() - started >= auth.LOGIN_FLOOR_SECONDS
    details = [d for a, d in await audit_actions(console) if a == "login_failed"]
    assert details == ["password", "unknown"]


def sign_ins_handled(metrics: str, handling: str) -> float:
    found = re.search(
        rf'^helpline_console_sign_ins_total{{handling="{handling}"}} (\S+)$', metrics, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_a_throttled_address_is_told_to_wait_in_its_language_and_nothing_is_hashed(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    spanish = {"Accept-Language": "es"}
    async with httpx.AsyncClient(base_url=console.base_url, headers=spanish) as client:
        for attempt in range(ADDRESS_FAILURES):
            assert (await sign_in(client, f"nobody-{attempt}", "000000")).status_code == 401
        # A fresh form for the next attempt is refused the same way: no form, no token.
        form = await client.get("/console/login")
        assert form.status_code == 429
        assert Words("es").t("error.throttled") in form.text
        assert 'name="csrf"' not in form.text
        # A post with the last form's token (its cookie is still held) is refused too.
        token = client.cookies[LOGIN_CSRF_COOKIE]
        attempt = {"csrf": token, "name": "nobody-else", "password": PASSWORD, "code": "000000"}
        before = (await client.get("/metrics", headers=METRICS_HEADERS)).text
        refused = await client.post("/console/login", data=attempt)
        after = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    assert refused.status_code == 429
    refusals = [d for a, d in await audit_actions(console) if a == "login_failed"]
    assert refusals.count("throttled") == 1  # noted once for the address, not per attempt
    assert Words("es").t("error.throttled") in refused.text
    assert 'href="/console/login"' in refused.text
    # The ten wrong attempts were each checked (hashed); the refusal was not.
    assert sign_ins_handled(before, "checked") >= ADDRESS_FAILURES
    assert sign_ins_handled(after, "checked") == sign_ins_handled(before, "checked")
    assert (
        sign_ins_handled(after, "refused_address")
        == sign_ins_handled(before, "refused_address") + 1
    )


async def test_a_flood_of_sign_ins_is_turned_away_with_one_audit_row(console: Console) -> None:
    ana = await console.add("ana")
    throttle = SignInThrottle()
    admitted, turned_away = HASH_SLOTS + HASH_QUEUE, 5
    attempts = [
        auth.log_in(
            console.helpline,
            name=f"nobody-{n}",
            password="guessing wrong",
            code="000000",
            address=f"192.0.2.{n}",
            throttle=throttle,
        )
        for n in range(admitted + turned_away)
    ]
    failures = await asyncio.gather(*attempts, return_exceptions=True)
    reasons = [f.reason for f in failures if isinstance(f, auth.LoginFailed)]
    assert sorted(reasons) == ["throttled"] * turned_away + ["unknown"] * admitted
    details = [d for a, d in await audit_actions(console) if a == "login_failed"]
    assert details.count("throttled") == 1
    # The flood is over: an advocate with the right password gets in at once.
    staff, _ = await auth.log_in(
        console.helpline,
        name="ana",
        password=PASSWORD,
        code=ana.code(console.clock),
        address="198.51.100.7",
        throttle=throttle,
    )
    assert staff.id == ana.id


async def test_a_flood_of_sign_ins_waits_in_a_short_line_or_is_turned_away() -> None:
    throttle = SignInThrottle()
    release = asyncio.Event()
    inside = 0

    async def sign_in_once(address: str) -> None:
        nonlocal inside
        async with throttle.checking(address):
            inside += 1
            await release.wait()

    holders = [
        asyncio.create_task(sign_in_once(f"192.0.2.{n}")) for n in range(HASH_SLOTS + HASH_QUEUE)
    ]
    await asyncio.sleep(0.05)
    assert inside == HASH_SLOTS  # only this many hashes run at once
    with pytest.raises(Throttled):
        async with throttle.checking("198.51.100.7"):
            pass
    release.set()
    await asyncio.gather(*holders)
    assert inside == HASH_SLOTS + HASH_QUEUE


async def test_one_address_sending_many_at_once_gets_no_more_checks_than_its_limit() -> None:
    throttle = SignInThrottle()
    release = asyncio.Event()
    checked = 0

    async def guess() -> None:
        nonlocal checked
        async with throttle.checking("203.0.113.9"):
            checked += 1
            await release.wait()

    async def guess_or_refused() -> bool:
        try:
            await guess()
        except Throttled:
            return False
        return True

    first = [asyncio.create_task(guess_or_refused()) for _ in range(HASH_SLOTS + HASH_QUEUE)]
    await asyncio.sleep(0.05)
    release.set()
    assert all(await asyncio.gather(*first))
    # Every admitted attempt already counts: only the rest of the limit gets through.
    later = await asyncio.gather(*(guess_or_refused() for _ in range(ADDRESS_FAILURES)))
    assert checked == ADDRESS_FAILURES
    assert later.count(True) == ADDRESS_FAILURES - (HASH_SLOTS + HASH_QUEUE)


async def test_a_sign_in_form_past_its_token_comes_back_fresh_in_the_advocates_language(
    console: Console,
) -> None:
    """Left open past its cookie (or posted from elsewhere), the form is refused with a new
    one, in the language the browser asks for, not a bare "Forbidden" with no way back."""
    ana = await console.add("ana")
    spanish = {"Accept-Language": "es-MX,es;q=0.9"}
    async with httpx.AsyncClient(base_url=console.base_url, headers=spanish) as client:
        stale = await client.post(
            "/console/login",
            data={"name": "ana", "password": PASSWORD, "code": "123456", "csrf": "yesterday"},
        )
        assert stale.status_code == 403
        assert catalogue("es").raw("console.error.form_expired") in stale.text
        assert csrf_in(stale.text) and LOGIN_CSRF_COOKIE in client.cookies
        assert PASSWORD not in stale.text
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 303


async def test_forms_without_the_right_csrf_token_are_forbidden(console: Console) -> None:
    ana = await console.add("ana", role=Role.ADMIN)
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        await client.get("/console/login")
        missing = await client.post(
            "/console/login", data={"name": "ana", "password": PASSWORD, "code": "123456"}
        )
        assert missing.status_code == 403
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 303
        assert (await client.post("/console/logout", data={})).status_code == 403
        assert (await client.post("/console/logout", data={"csrf": "forged"})).status_code == 403
        forged = await client.post(
            "/console/admin/advocates", data={"csrf": "forged", "name": "mallory"}
        )
        assert forged.status_code == 403
        assert (await client.get("/console")).status_code == 200  # still signed in
        csrf = csrf_in((await client.get("/console")).text)
        created = await client.post(
            "/console/admin/advocates",
            data={"csrf": csrf, "name": "bea", "role": "advocate", "languages": ["en", "es"]},
        )
        assert created.status_code == 200
        assert "otpauth://totp/" in created.text
        out = await client.post("/console/logout", data={"csrf": csrf})
        assert out.status_code == 303
        assert (await client.get("/console")).status_code == 303


async def signed_in_cookie(console: Console, staffer: Staffer) -> str:
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        assert (await sign_in(client, staffer.name, staffer.code(console.clock))).status_code == 303
        return str(client.cookies["helpline_console"])


async def test_websocket_from_another_origin_or_without_a_session_is_refused(
    console: Console,
) -> None:
    ana = await console.add("ana")
    cookie = f"helpline_console={await signed_in_cookie(console, ana)}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(
            console.ws_url,
            origin=websockets.Origin("http://evil.example"),
            additional_headers={"Cookie": cookie},
        ):
            pass
    assert refused.value.response.status_code == 403
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(console.ws_url, origin=websockets.Origin(console.origin)):
            pass
    async with websockets.connect(
        console.ws_url,
        origin=websockets.Origin(console.origin),
        additional_headers={"Cookie": cookie},
    ) as socket:
        await socket.send('{"type": "hello", "csrf": "wrong"}')
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
        assert socket.close_code == 4403


async def test_an_idle_session_is_signed_out(console: Console) -> None:
    ana = await console.add("ana")
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 303
        console.clock.advance(minutes=console.helpline.settings.console_idle_logout_minutes - 1)
        assert (await client.get("/console")).status_code == 200
        console.clock.advance(minutes=console.helpline.settings.console_idle_logout_minutes + 1)
        assert (await client.get("/console")).headers["location"] == "/console/login"
        console.clock.advance(minutes=-60)
        # Revoked, not merely idle: going back in time does not revive it.
        assert (await client.get("/console")).status_code == 303
    assert ("logout_idle", "") in await audit_actions(console)


async def test_demo_login_page_shows_the_demo_code_only_in_demo_mode(
    database_url: str, clock: FrozenClock
) -> None:
    async for demo in start_console(database_url, clock, HELPLINE_MODE="demo"):
        staffer = await demo.add("demo", role=Role.SUPERVISOR)
        async with httpx.AsyncClient(base_url=demo.base_url) as client:
            page = (await client.get("/console/login")).text
        assert staffer.code(clock) in page
    async for test_mode in start_console(database_url, clock):
        staffer = await test_mode.add("demo", replace=True)
        async with httpx.AsyncClient(base_url=test_mode.base_url) as client:
            page = (await client.get("/console/login")).text
        assert "demo-code" not in page
        assert staffer.code(clock) not in page


async def test_cookies_are_secure_behind_https(database_url: str, clock: FrozenClock) -> None:
    async for secure in start_console(
        database_url, clock, HELPLINE_PUBLIC_URL="https://help.example.org"
    ):
        ana = await secure.add("ana")
        name = session_cookie(secure.helpline.settings)
        assert name.startswith("__Host-")
        async with httpx.AsyncClient(base_url=secure.base_url) as client:
            page = await client.get("/console/login")
            csrf = csrf_in(page.text)
            # The login form's own cookie is Secure too, so this plain-http client returns it by hand.
            response = await client.post(
                "/console/login",
                data={"csrf": csrf, "name": "ana", "password": PASSWORD, "code": ana.code(clock)},
                headers={"Cookie": f"helpline_login_csrf={csrf}"},
            )
        assert response.status_code == 303
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(name))
        assert "Secure" in cookie
        assert "Path=/" in cookie


async def test_a_connected_console_is_online_and_an_idle_one_is_signed_out(
    console: Console,
) -> None:
    ana = await console.add("ana")
    token = await signed_in_cookie(console, ana)
    cookie = f"helpline_console={token}"
    async with httpx.AsyncClient(base_url=console.base_url, headers={"Cookie": cookie}) as client:
        page = (await client.get("/console")).text
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found is not None
    async with websockets.connect(
        console.ws_url,
        origin=websockets.Origin(console.origin),
        additional_headers={"Cookie": cookie},
    ) as socket:
        await socket.send(json.dumps({"type": "hello", "csrf": found.group(1)}))
        assert json.loads(await socket.recv())["type"] == "queue"
        person = Person(console.helpline, country="US")
        await person.send("hello")
        await person.send(choice="talk")
        joined = " ".join(await person.send(choice="talk:yes"))
        assert "in line" in joined
        assert "No one from our team is free" not in joined
        console.clock.advance(minutes=console.helpline.settings.console_idle_logout_minutes + 1)
        await socket.send(json.dumps({"type": "active"}))
        frames = []
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                frames.append(json.loads(await socket.recv()))
        assert {"type": "logout"} in frames
        assert socket.close_code == 4401
    later = Person(console.helpline, country="US")
    await later.send("hello")
    await later.send(choice="talk")
    assert "No one from our team is free" in " ".join(await later.send(choice="talk:yes"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread priorities are Linux's")
async def test_a_sign_in_is_hashed_below_the_priority_of_the_peoples_messages(
    console: Console,
) -> None:
    """What ``top -H`` shows an operator: the sign-in hash thread at a higher nice value
    than the thread that answers webhooks, so a burst of sign-ins yields the cores."""
    await console.add("ana")
    with pytest.raises(auth.LoginFailed):
        await auth.log_in(
            console.helpline,
            name="ana",
            password="wrong password!",
            code="000000",
            address="192.0.2.9",
            throttle=SignInThrottle(),
        )
    hashing = [t for t in threading.enumerate() if t.name.startswith("sign-in-hash")]
    assert hashing, "the password was not checked on the sign-in hash thread"
    for thread in hashing:
        assert thread.native_id is not None
        assert niceness(thread.native_id) == auth.HASH_NICENESS
    assert niceness(threading.get_native_id()) == 0


def niceness(thread_id: int) -> int:
    """A thread's nice value, as the kernel reports it (``/proc``, field 19)."""
    stat = Path(f"/proc/self/task/{thread_id}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[16])


async def test_a_form_posted_after_the_session_ended_leads_back_to_sign_in_with_the_reason(
    console: Console,
) -> None:
    """An admin form left open past the idle sign-out: sign in again, told why, in French."""
    ana = await console.add("ana", role=Role.ADMIN, languages=("fr",))
    async with httpx.AsyncClient(base_url=console.base_url) as client:
        assert (await sign_in(client, "ana", ana.code(console.clock))).status_code == 303
        csrf = csrf_in((await client.get("/console/admin")).text)
        console.clock.advance(minutes=console.helpline.settings.console_idle_logout_minutes + 1)
        late = await client.post(
            "/console/admin/advocates",
            data={"csrf": csrf, "name": "bea", "role": "advocate", "languages": ["fr"]},
        )
        assert late.status_code == 303
        assert late.headers["location"] == "/console/login?expired=1"
        told = await client.get(late.headers["location"])
        assert catalogue("fr").raw("console.error.expired") in told.text
    async with console.helpline.sessions() as session:
        names = (await session.exec(select(Advocate.name))).all()
    assert "bea" not in names  # nothing was done with the late form
