"""SMS over Twilio: signed webhooks in, TwiML replies out, nothing left at the carrier.

The adapter verifies, parses and renders; the engine decides what to say. Carrier
keywords (STOP and friends) are recorded here and never reach the conversation.
Pictures are never fetched: the person is told they are not kept and where a picture
of a child can be reported.
"""

from __future__ import annotations

import logging
from functools import partial

from bot.channels import openapi
from bot.channels.carrier_cleanup import Activity, CarrierCleanup
from bot.channels.sms_sender import STATUS_PATH, SmsCounts, SmsSender, opted_out, status_url
from bot.channels.sms_webhook import (
    TWIML_TYPE,
    SmsMessage,
    WebhookVerifier,
    country_of,
    is_message_sid,
    parse_message,
    sender_in,
    twiml,
)
from bot.channels.twilio_api import TwilioApi
from bot.helpline import Helpline
from bot.render import sms_parts_all
from bot.types import Address, Channel, Inbound
from bot.webhook_lane import WebhookAnswer, WebhookRequest, WebhookRoute

log = logging.getLogger(__name__)

COUNTED_STATUSES = frozenset({"sent", "delivered", "undelivered", "failed", "read"})
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "read"})
"""After these Twilio has nothing more to do with a message, so its record can go."""
OPTED_OUT_CODE = "21610"
SMS_PATH = "/webhooks/twilio/sms"
FORBIDDEN = WebhookAnswer(403)
BAD_REQUEST = WebhookAnswer(400)
COUNTED = WebhookAnswer(204)


class SmsChannel:
    def __init__(self, helpline: Helpline) -> None:
        settings = helpline.settings
        self._helpline = helpline
        self._counts = SmsCounts(helpline)
        self._api = TwilioApi(settings, count=self._counts) if settings.sms_enabled else None
        self._answering = Activity()
        self._cleanup = (
            CarrierCleanup(
                self._api.delete,
                self._answering,
                sessions=helpline.sessions,
                clock=helpline.clock,
            )
            if self._api is not None and settings.twilio_delete_messages
            else None
        )
        self._verifier = WebhookVerifier(settings, paths=(SMS_PATH, STATUS_PATH))
        self._status_url = status_url(helpline)

    def webhooks(self) -> list[WebhookRoute]:
        """The webhook routes; without Twilio settings they answer 403 to everyone."""
        return [
            WebhookRoute(
                SMS_PATH,
                self.inbound,
                summary="Inbound",
                sender=sender_in,
                openapi_extra=openapi.TWILIO_SMS,
                responses=openapi.TWILIO_SMS_RESPONSES,
            ),
            WebhookRoute(
                STATUS_PATH,
                self.status,
                summary="Status",
                openapi_extra=openapi.TWILIO_STATUS,
                responses=openapi.TWILIO_STATUS_RESPONSES,
            ),
        ]

    async def start(self) -> None:
        if self._api is not None:
            sender = SmsSender(self._helpline, self._api, self._counts)
            self._helpline.senders.register(Channel.SMS, sender)
        if self._cleanup is not None:
            self._cleanup.start()

    async def stop(self) -> None:
        if self._cleanup is not None:
            await self._cleanup.stop()
        if self._api is not None:
            await self._api.close()

    # --- webhooks --------------------------------------------------------------------

    async def inbound(self, request: WebhookRequest) -> WebhookAnswer:
        """Answer one text message from a person with TwiML."""
        with self._answering:
            form = self._verifier.fields(request)
            if form is None:
                return FORBIDDEN
            message = parse_message(form)
            if message is None:
                return BAD_REQUEST
            # A database or Redis outage propagates to the lane, which answers 503.
            bodies = await self._answer(message)
        content = twiml(bodies, status_url=self._status_url)
        # Run once the answer is sent: the webhook answers first, the record goes later.
        return WebhookAnswer(
            200, content.encode(), TWIML_TYPE, after=partial(self._forget, message.sid)
        )

    async def status(self, request: WebhookRequest) -> WebhookAnswer:
        """Count one delivery report; delete the message's record once Twilio is done."""
        with self._answering:
            return await self._status(request)

    async def _status(self, request: WebhookRequest) -> WebhookAnswer:
        form = self._verifier.fields(request)
        if form is None:
            return FORBIDDEN
        sid = form.get("MessageSid") or form.get("SmsSid")
        state = form.get("MessageStatus") or form.get("SmsStatus")
        if not sid or not is_message_sid(sid) or not state:
            # Only an id of Twilio's own shape is ever put into a call to Twilio's API.
            return BAD_REQUEST
        if state in COUNTED_STATUSES:
            self._counts(f"sms.status.{state}")
        if form.get("ErrorCode") == OPTED_OUT_CODE:
            number = form.get("To")
            if number:
                await self._opt_out(number)
        if state in FINAL_STATUSES:
            return WebhookAnswer(204, after=partial(self._forget, sid))
        return COUNTED

    def _forget(self, sid: str) -> None:
        """Queue a message record for deletion at Twilio, when the operator wants that."""
        if self._cleanup is not None:
            self._cleanup.add(sid)

    # --- one message -----------------------------------------------------------------

    async def _answer(self, message: SmsMessage) -> list[str]:
        """Decide the SMS bodies for one inbound message (empty: answer nothing)."""
        engine = self._helpline.engine
        if message.opts_out:
            await self._opt_out(message.sender)
            return []
        aliases = await engine.identify(Channel.SMS, message.sender)
        alias, previous = aliases
        if message.opts_in and await opted_out(engine, aliases):
            for each in (alias, previous):
                if each is not None:
                    await engine.set_opt_out(each, False)
            self._counts("sms.opt_in")
            log.info("sms opt-in recorded sid=%s", message.sid)
            return []

        turn = await engine.handle(
            Inbound(
                channel=Channel.SMS,
                alias=alias,
                previous_alias=previous,
                text=message.body,
                address=Address(Channel.SMS, message.sender),
                has_media=message.media_count > 0,
                locate=partial(country_of, message.sender, message.from_country),
                message_id=message.sid,
            )
        )
        if turn.duplicate:
            self._counts("sms.duplicate")
            log.info("sms redelivery ignored sid=%s", message.sid)
            return []
        if not turn.replies:
            return []  # opted out, or words relayed to an advocate
        if message.media_count:
            self._counts("sms.media_refused", turn.language)
        bodies = sms_parts_all(turn.replies)
        self._counts.bodies(bodies, turn.language)
        return bodies

    async def _opt_out(self, number: str) -> None:
        """Record a carrier opt-out under both current aliases; the carrier confirms it."""
        engine = self._helpline.engine
        alias, previous = await engine.identify(Channel.SMS, number)
        for each in (alias, previous):
            if each is not None:
                await engine.set_opt_out(each, True)
        self._counts("sms.opt_out")
        log.info("sms opt-out recorded")
