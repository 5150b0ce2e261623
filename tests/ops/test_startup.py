"""Start-up that explains itself: every configuration mistake is one line and an exit
code, never a traceback; the server says where it listens; ``doctor`` checks it all."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.doctor import run_checks, table
from bot.logs import scrub
from bot.migrate import migrate
from tests import services
from tests.conftest import make_settings
from tests.fakes import telegram_api, twilio_api
from tests.scale.cluster import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-real-secret-key-that-is-long-enough-for-serve-0123"


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELPLINE_", "REDIS", "TWILIO_", "TELEGRAM_", "DATABASE_URL"))
    }
    return (
        base
        | {
            "HELPLINE_SECRET_KEY": SECRET,
            "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/helpline.db",
        }
        | values
    )


def _python(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def helpline(env: dict[str, str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return _python(["-m", "bot.cli", *args], env, cwd, timeout=120)


def fresh_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` run to success by a new interpreter in the project's root: nothing that
    this test process has imported or set up is there."""
    result = _python(["-c", code, *args], env, ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]


COMMANDS = [
    ("serve", "--port", "1"),
    ("migrate",),
    ("advocate", "add", "someone"),
    ("purge",),
    ("doctor",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
@pytest.mark.parametrize(
    ("secret", "said"),
    [("", "HELPLINE_SECRET_KEY is required"), ("short", "at least 32 characters")],
    ids=["missing secret", "short secret"],
)
def test_a_missing_or_short_secret_is_one_line_for_every_command(
    tmp_path: Path, command: tuple[str, ...], secret: str, said: str
) -> None:
    env = environment(tmp_path, HELPLINE_SECRET_KEY=secret)
    one_clear_line(helpline(env, *command, cwd=tmp_path), said)


@pytest.mark.parametrize("command", COMMANDS[:4], ids=[" ".join(c) for c in COMMANDS[:4]])
def test_an_unreachable_database_is_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    env = environment(
        tmp_path, HELPLINE_DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    one_clear_line(helpline(env, *command), "127.0.0.1:1")


def test_an_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    env = environment(tmp_path, HELPLINE_REDIS_URL="redis://127.0.0.1:1/0")
    one_clear_line(helpline(env, "serve", "--port", "1"), "Redis", "HELPLINE_REDIS_URL")


def test_half_set_channels_are_named(tmp_path: Path) -> None:
    twilio = environment(tmp_path, TWILIO_ACCOUNT_SID=twilio_api.ACCOUNT_SID)
    one_clear_line(helpline(twilio, "serve", "--port", "1"), "TWILIO_AUTH_TOKEN")
    telegram = environment(tmp_path, TELEGRAM_BOT_TOKEN="123:abc")
    one_clear_line(helpline(telegram, "serve", "--port", "1"), "TELEGRAM_WEBHOOK_SECRET")


@pytest.mark.postgres
def test_an_unmigrated_postgresql_says_to_run_migrate(tmp_path: Path) -> None:
    services.require("PostgreSQL", services.postgres_available())
    name = services.create_database()
    try:
        env = environment(tmp_path, HELPLINE_DATABASE_URL=services.postgres_url(name))
        for command in (("serve", "--port", "1"), ("advocate", "add", "someone")):
            one_clear_line(helpline(env, *command), "helpline migrate")
    finally:
        services.drop_database(name)


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(log.read_text())


def oversized_head_answer(port: int) -> str:
    """Send a request head of 40 kB and say what came back: a status code, or
    ``"reset"`` when the server closed while the head was still arriving (the kernel
    then resets the connection and may drop the error response before it is read)."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 40_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(head)
            answer = connection.recv(64)
        except (ConnectionResetError, BrokenPipeError):
            return "reset"
    if not answer:
        return "reset"
    return answer.split(b" ")[1].decode()


def test_serve_on_a_fresh_sqlite_file_migrates_and_says_where_it_listens(tmp_path: Path) -> None:
    port = free_port()
    env = environment(tmp_path, HELPLINE_PUBLIC_URL="http://127.0.0.1:8000")
    log = tmp_path / "serve.log"
    with serving(env, port, log) as process:
        wait_ready(process, f"http://127.0.0.1:{port}", log)
        # A request head past the limit is refused before any route sees it, and the
        # worker goes on answering.
        assert oversized_head_answer(port) in ("400", "431", "reset")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    said = log.read_text()
    assert f"127.0.0.1:{port}" in said
    assert "[number]" not in said
    # The public URL points at this machine, on another port: the operator is told.
    assert "HELPLINE_PUBLIC_URL is http://127.0.0.1:8000" in said
    assert "Traceback" not in said


def test_bind_addresses_stay_and_phone_numbers_go() -> None:
    assert scrub("Uvicorn running on http://127.0.0.1:8765") == (
        "Uvicorn running on http://127.0.0.1:8765"
    )
    assert scrub("listening on 0.0.0.0:8000 and 10.1.2.3:5432") == (
        "listening on 0.0.0.0:8000 and 10.1.2.3:5432"
    )
    for number in ("+1 202 555 0123", "202.555.0123", "+442079460958", "1.202.555.0123"):
        assert scrub(f"from {number} today") == "from [number] today"


@pytest.fixture
def fakes() -> Iterator[tuple[telegram_api.FakeTelegram, twilio_api.FakeTwilio]]:
    with telegram_api.running_fake() as telegram, twilio_api.running_fake() as twilio:
        yield telegram, twilio


async def test_doctor_finds_a_set_up_deployment_fine_and_names_each_fault(
    tmp_path: Path, fakes: tuple[telegram_api.FakeTelegram, twilio_api.FakeTwilio]
) -> None:
    telegram, twilio = fakes
    url = f"sqlite+aiosqlite:///{tmp_path}/helpline.db"
    values = {
        **telegram_api.telegram_settings(telegram),
        **twilio_api.twilio_settings(twilio),
        "HELPLINE_MODE": "serve",
    }
    settings = make_settings(url, **values)

    before = {check.name: check.fine for check in await run_checks(settings)}
    assert before == {
        "settings": True,
        "database": False,  # not migrated yet
        "redis": True,
        "telegram": False,  # no webhook registered yet
        "twilio": True,
    }
    await migrate(url)
    telegram.webhook_url = settings.public_url + "/webhooks/telegram"
    after = await run_checks(settings)
    assert all(check.fine for check in after), table(after)

    wrong = make_settings(url, **{**values, "TWILIO_AUTH_TOKEN": "not-the-token-at-all"})
    checks = {check.name: check for check in await run_checks(wrong)}
    assert not checks["twilio"].fine
    assert "not-the-token" not in table(list(checks.values()))


def test_doctor_exits_non_zero_when_something_is_wrong(tmp_path: Path) -> None:
    result = helpline(environment(tmp_path), "doctor")
    assert result.returncode == 1
    assert "NOT FINE" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
