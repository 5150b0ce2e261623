"""A person texting the help line's workers through signed Twilio webhooks."""

from __future__ import annotations

import re
import secrets

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bot.i18n import catalogue
from tests.fakes.twilio_api import (
    ACCOUNT_SID,
    HELPLINE_NUMBER,
    inbound_sid,
    post_signed,
    read_twiml,
)


def params(number: str, body: str, sid: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": number,
        "To": HELPLINE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


async def text(client: httpx.AsyncClient, number: str, body: str, sid: str | None = None) -> str:
    """Text the help line once; return what came back (all messages joined)."""
    response = await send(client, number, body, sid or inbound_sid())
    assert response.status_code == 200
    return "\n".join(message.body for message in read_twiml(response.text))


async def send(client: httpx.AsyncClient, number: str, body: str, sid: str) -> httpx.Response:
    return await post_signed(client, "/webhooks/twilio/sms", params(number, body, sid))


async def sql_value(database_url: str, query: str, *args: object) -> object:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def option_number(menu: str, label_key: str) -> str:
    label = catalogue("en").text(label_key)
    for line in menu.splitlines():
        found = re.match(r"(\d+) (.*)", line)
        if found and found.group(2) == label:
            return found.group(1)
    raise AssertionError(f"no option {label_key!r} in the menu")


def new_number() -> str:
    return "+1202555" + f"{secrets.randbelow(10_000):04d}"


async def open_tickets(database_url: str) -> int:
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database
    )
    try:
        return int(
            await connection.fetchval("SELECT count(*) FROM ticket WHERE status != 'closed'")
        )
    finally:
        await connection.close()
