"""SMS sent outside a webhook's reply: advocate messages, queue news, the closing message.

Before each send the person's alias is checked for a carrier opt-out: the bot never
writes to a number that said STOP. A 21610 from Twilio (the carrier's own record of a
STOP) is written back to the alias so later sends stop before they reach the API.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot import metrics
from bot.channels.twilio_api import Failure, TwilioApi
from bot.engine import Engine
from bot.helpline import Helpline
from bot.i18n import catalogue
from bot.render import sms_parts_all
from bot.segments import measure
from bot.types import Address, Channel, Reply

log = logging.getLogger(__name__)

STATUS_PATH = "/webhooks/twilio/status"

# Reason codes of the operators' delivery-failure metric (a closed set in bot.metrics).
_REASONS = {
    Failure.OPTED_OUT: "opted_out",
    Failure.INVALID_NUMBER: "invalid_address",
    Failure.REFUSED: "refused",
    Failure.SERVER_ERROR: "unavailable",
    Failure.TIMEOUT: "timeout",
    Failure.NETWORK: "unavailable",
}


class SmsCounts:
    """Daily SMS counters (no numbers, no text) in the help line's aggregate counts."""

    def __init__(self, helpline: Helpline) -> None:
        self._helpline = helpline

    def __call__(self, metric: str, language: str = "-", n: int = 1) -> None:
        self._helpline.counts.add(
            day=self._helpline.clock().date(),
            channel=Channel.SMS,
            language=language,
            metric=metric,
            n=n,
        )

    def bodies(self, bodies: Sequence[str], language: str) -> None:
        """Count the messages and the segments one reply costs, and log the sizes."""
        sizes = [measure(body) for body in bodies]
        segments = sum(size.count for size in sizes)
        self("sms.messages", language, len(bodies))
        self("sms.segments", language, segments)
        if not log.isEnabledFor(logging.DEBUG):
            return  # the sizes below are worked out only for a log that will be written
        log.debug(
            "sms reply language=%s messages=%d segments=%d per_message=%s encodings=%s",
            language,
            len(bodies),
            segments,
            [size.count for size in sizes],
            sorted({size.encoding for size in sizes}),
        )


def status_url(helpline: Helpline) -> str:
    return helpline.settings.public_url.rstrip("/") + STATUS_PATH


async def opted_out(engine: Engine, aliases: tuple[str, str | None]) -> bool:
    """True if this person said STOP, under this period's alias or the previous one."""
    return any(state.opted_out for state in await engine.saved_states(aliases))


class SmsSender:
    """The ``Sender`` for SMS: opt-out check, segment budgeting, Twilio API calls."""

    def __init__(self, helpline: Helpline, api: TwilioApi, counts: SmsCounts) -> None:
        self._helpline = helpline
        self._api = api
        self._counts = counts
        self._status_url = status_url(helpline)

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        """Send ``replies`` as SMS; False if the person opted out or the carrier refused."""
        if address.channel != Channel.SMS or not replies:
            return False
        engine = self._helpline.engine
        aliases = await engine.identify(Channel.SMS, address.value)
        # One read for the opt-out and the language: each read waits a turn of a busy
        # event loop, and an advocate's words should not wait behind three of them.
        states = await engine.saved_states(aliases)
        if any(state.opted_out for state in states):
            self._counts("sms.skipped.opted_out")
            metrics.delivery_failed(Channel.SMS, "opted_out")
            log.info("sms not sent: person opted out")
            return False
        language = catalogue(states[0].language if states else "en").language.code
        bodies = sms_parts_all(replies)
        self._counts.bodies(bodies, language)
        for body in bodies:
            sent = await self._api.send(
                to=address.value, body=body, status_callback=self._status_url
            )
            if sent.failure is not None:
                metrics.delivery_failed(Channel.SMS, _REASONS[sent.failure])
                if sent.failure is Failure.OPTED_OUT:
                    await engine.set_opt_out(aliases[0], True)
                return False
            log.debug("sms sent sid=%s", sent.sid)
        return True
