"""The traffic a campaign brings: distinct, correctly signed webhooks from made-up people.

Half the messages come from new senders (a first "hello"), half from a pool of repeat
senders walking the menu, so both the new-contact path and the state-load path run.
Every number is in the fictional +1 555 range; every message id is unique, so the help
line can never answer from its duplicate shortcut.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

SMS_PATH = "/webhooks/twilio/sms"
TELEGRAM_PATH = "/webhooks/telegram"
REPEAT_SCRIPT = ("hi", "1", "menu", "2", "0", "3", "back", "help", "0", "1")
"""What a repeat sender writes, in order: menu choices and keywords, never danger words."""


@dataclass(frozen=True, slots=True)
class Message:
    sender: int
    text: str
    new: bool


def messages(count: int, *, repeat_pool: int = 1000, start: int = 0) -> Iterator[Message]:
    """Alternate new senders and repeat senders; sender ids never collide between runs."""
    new_ids = itertools.count(start + 10_000_000)
    steps = [0] * repeat_pool
    for index in range(count):
        if index % 2 == 0:
            yield Message(next(new_ids), "hello", new=True)
        else:
            slot = (index // 2) % repeat_pool
            text = REPEAT_SCRIPT[steps[slot] % len(REPEAT_SCRIPT)]
            steps[slot] += 1
            yield Message(start + slot, text, new=steps[slot] == 1)


def phone(sender: int) -> str:
    return (
        f"+1555{sender % 10_000_000:07d}"
        if sender < 10_000_000
        else f"+1556{sender % 10_000_000:07d}"
    )


def sms_form(message: Message, account_sid: str) -> dict[str, str]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "Body": message.text,
        "From": phone(message.sender),
        "FromCountry": "US",
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": "+15550100000",
        "ToCountry": "US",
    }


def write_sms_requests(
    path: Path, *, count: int, url: str, token: str, account_sid: str, start: int = 0
) -> Path:
    """Write one ``signature<TAB>body`` line per request, signed for ``url``."""
    validator = RequestValidator(token)
    with path.open("w") as out:
        for message in messages(count, start=start):
            form = sms_form(message, account_sid)
            signature = validator.compute_signature(url, form)
            out.write(f"{signature}\t{urlencode(form)}\n")
    return path


def telegram_update(message: Message, update_id: int) -> dict[str, object]:
    chat_id = 5_000_000_000 + message.sender
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en"},
            "text": message.text,
        },
    }


def write_telegram_requests(path: Path, *, count: int, secret: str, start: int = 0) -> Path:
    """Write one ``secret<TAB>json`` line per update (the secret header is the same on each)."""
    with path.open("w") as out:
        for update_id, message in enumerate(messages(count, start=start), start=start + 1):
            out.write(f"{secret}\t{json.dumps(telegram_update(message, update_id))}\n")
    return path
