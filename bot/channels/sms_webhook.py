"""Twilio webhooks in, TwiML out: signature check, form parsing, carrier keywords.

The signature is checked against the URL built from ``HELPLINE_PUBLIC_URL`` and the
request path, never from ``Host`` or ``X-Forwarded-*`` headers a caller controls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.countries import sim_country
from bot.i18n import normalise
from bot.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
TWIML_TYPE = "application/xml"

# The words on which carriers and Twilio opt a number out (or back in). They are never
# conversation: the bot records the choice and stays silent, because the carrier sends
# its own confirmation.
OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})

MAX_BODY = 1600
"""Twilio's own limit for one message body; anything longer is not from Twilio."""
MAX_NUMBER = 32
"""E.164 is at most 15 digits; short codes and channel prefixes stay well under this."""
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")


def is_message_sid(sid: str) -> bool:
    """True for an id of Twilio's shape (SM or MM and 32 hex digits), nothing else."""
    return _MESSAGE_SID.fullmatch(sid) is not None


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One inbound SMS/MMS as Twilio posted it. Number and text never printed."""

    sid: str
    sender: str = field(repr=False)
    body: str = field(repr=False)
    media_count: int = 0
    from_country: str | None = None
    """Twilio's FromCountry: the country of the sender's number, as Twilio reads it."""

    @property
    def keyword(self) -> str:
        return normalise(self.body)

    @property
    def opts_out(self) -> bool:
        return self.keyword in OPT_OUT_WORDS

    @property
    def opts_in(self) -> bool:
        return self.keyword in OPT_IN_WORDS


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the configured public base plus the path (and query)."""
    url = settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


async def verified_form(settings: Settings, request: Request) -> FormData | None:
    """Return the posted form if Twilio signed it for this URL, else None."""
    token = settings.twilio_auth_token
    signature = request.headers.get(SIGNATURE_HEADER)
    if not settings.sms_enabled or token is None or not signature:
        return None
    form = await request.form()
    if not all(isinstance(value, str) for _, value in form.multi_items()):
        return None  # Twilio posts url-encoded text only, never files
    validator = RequestValidator(token.get_secret_value())
    if not validator.validate(public_url(settings, request), form, signature):
        return None
    return form


def parse_message(form: FormData) -> SmsMessage | None:
    sid = _field(form, "MessageSid") or _field(form, "SmsSid")
    sender = _field(form, "From")
    if not sid or not is_message_sid(sid) or not sender or len(sender) > MAX_NUMBER:
        return None
    try:
        media_count = int(_field(form, "NumMedia") or "0")
    except ValueError:
        media_count = 0
    return SmsMessage(
        sid=sid,
        sender=sender,
        body=(_field(form, "Body") or "")[:MAX_BODY],
        media_count=max(media_count, 0),
        from_country=(_field(form, "FromCountry") or "")[:2].upper() or None,
    )


def country_of(number: str, from_country: str | None = None) -> str | None:
    """The country of the SIM a number belongs to (a guess of where the person is), or None."""
    return sim_country(number, from_country)


def twiml(bodies: Sequence[str], *, status_url: str | None) -> str:
    """One <Message> per body; ``action`` makes Twilio report each one's delivery."""
    response = MessagingResponse()
    for body in bodies:
        if status_url:
            response.message(body, action=status_url, method="POST")
        else:
            response.message(body)
    return str(response.to_xml())


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None
