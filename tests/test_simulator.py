"""The web simulator and the health routes, through a real app with its lifespan."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.i18n import catalogue
from bot.migrate import migrate
from tests.conftest import make_settings


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "demo.db"


@pytest.fixture
def client(sqlite_file: Path) -> Iterator[TestClient]:
    url = f"sqlite+aiosqlite:///{sqlite_file}"
    asyncio.run(migrate(url))
    app = create_app(make_settings(url, HELPLINE_MODE="demo"))
    with TestClient(app) as test_client:
        yield test_client


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] is True


def test_simulator_page_is_served_in_demo(client: TestClient) -> None:
    page = client.get("/simulator")
    assert page.status_code == 200
    assert "simulator" in page.text.casefold()
    assert "innerHTML" not in page.text


def test_simulator_is_absent_outside_demo(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/serve.db"
    asyncio.run(migrate(url))
    app = create_app(make_settings(url, HELPLINE_MODE="serve"))
    with TestClient(app) as test_client:
        assert test_client.get("/simulator").status_code == 404


def test_simulator_sms_style_shows_numbered_menu_and_telegram_style_shows_buttons(
    client: TestClient,
) -> None:
    with client.websocket_connect("/simulator/ws") as phone:
        phone.send_json({"text": "hola", "style": "sms", "country": "MX"})
        replies = phone.receive_json()["replies"]
        # The welcome may arrive as two SMS; the menu is the last message.
        assert catalogue("es").raw("option.hotlines") in replies[-1]["text"]
        assert "\n1 " in replies[-1]["text"]
        phone.send_json({"text": "", "choice": "safety", "style": "telegram"})
        replies = phone.receive_json()["replies"]
        labels = [b["label"] for b in replies[-1]["buttons"]]
        assert catalogue("es").raw("safety.option.phone") in labels


@pytest.mark.parametrize(
    "code", ["en", "es", "pt", "fr", "ro", "uk", "ru", "zh", "vi", "tl", "th", "ar"]
)
def test_simulator_answers_in_each_language(client: TestClient, code: str) -> None:
    with client.websocket_connect("/simulator/ws") as phone:
        phone.send_json({"text": "hello", "style": "telegram", "country": "US"})
        phone.receive_json()
        phone.send_json({"text": "", "choice": f"lang:{code}", "style": "telegram"})
        replies = phone.receive_json()["replies"]
        assert replies[0]["text"] == catalogue(code).text("language.set")


def test_a_full_demo_conversation_leaves_no_typed_text_in_the_database(
    client: TestClient, sqlite_file: Path
) -> None:
    canaries = [f"CANARY{uuid.uuid4().hex}" for _ in range(6)]
    with client.websocket_connect("/simulator/ws") as phone:
        for index, canary in enumerate(canaries):
            phone.send_json({"text": f"hello {canary}", "style": "sms", "country": "US"})
            phone.receive_json()
            phone.send_json({"text": ["1", "2", "3", "4", "5", "6"][index], "style": "sms"})
            phone.receive_json()
        phone.send_json({"text": "talk", "style": "sms"})
        phone.receive_json()
        phone.send_json({"text": "1", "style": "sms"})  # consent: join the line
        phone.receive_json()
        phone.send_json({"text": f"I need help {canaries[0]}", "style": "sms"})
        phone.receive_json()
    written = b"".join(
        path.read_bytes()
        for path in sqlite_file.parent.iterdir()
        if path.name.startswith(sqlite_file.name)
    )
    assert len(written) > 0
    for canary in canaries:
        assert canary.encode() not in written
        assert canary.encode("utf-16-le") not in written
