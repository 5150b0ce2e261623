"""A worker process for the hard-kill test: it queues records, then waits to be killed.

Run as ``python -m tests.channels.carrier_worker DATABASE_URL CARRIER_URL SID...``. It
prints ``written`` once the database holds every record it queued (its ledger wrote
them in the background, as in a serving worker) and then never stops on its own: the
test ends it with SIGKILL, so nothing it keeps in memory survives.
"""

from __future__ import annotations

import asyncio
import sys

from bot import carrier_records
from bot.channels.carrier_cleanup import Activity, CarrierCleanup
from bot.channels.sms_sender import SmsCounts
from bot.channels.twilio_api import TwilioApi
from bot.helpline import build_helpline
from tests.conftest import make_settings
from tests.fakes.twilio_api import FakeTwilio, twilio_settings


async def main(database_url: str, carrier_url: str, sids: list[str]) -> None:
    settings = make_settings(database_url, **twilio_settings(FakeTwilio(url=carrier_url)))
    line = build_helpline(settings)
    api = TwilioApi(settings, count=SmsCounts(line), timeout=2.0)
    cleanup = CarrierCleanup(api.delete, Activity(), sessions=line.sessions)
    cleanup.start()
    for sid in sids:
        cleanup.add(sid)
    give_up = asyncio.get_running_loop().time() + 30.0  # the test fails, it does not hang
    while asyncio.get_running_loop().time() < give_up:
        async with line.sessions() as session:
            if await carrier_records.waiting(session) >= len(sids):
                break
        await asyncio.sleep(0.05)
    else:
        print("not written", flush=True)
        return
    print("written", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
