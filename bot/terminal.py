"""``helpline chat``: talk to the bot in a terminal, exactly as an SMS user would."""

from __future__ import annotations

import asyncio
import secrets
import sys

from bot.helpline import build_helpline
from bot.migrate import migrate
from bot.render import numbered
from bot.settings import Settings
from bot.types import Channel


async def chat(settings: Settings) -> int:
    await migrate(settings.database_url)
    helpline = build_helpline(settings)
    await helpline.start()
    phone_id = secrets.token_urlsafe(12)
    print("You are texting the help line (Ctrl+D to stop). Try: hello, hola, 1 ...", flush=True)
    try:
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return 0
            turn = await helpline.engine.receive(Channel.SIMULATOR, phone_id, line.rstrip("\n"))
            for reply in turn.replies:
                print(f"\n{numbered(reply)}\n", flush=True)
    finally:
        await helpline.stop()
