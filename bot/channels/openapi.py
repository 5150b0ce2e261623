"""OpenAPI descriptions of the routes carriers and operators call: webhooks and health.

The webhooks read their bodies themselves (the signature covers the raw form), so
their request bodies are described here rather than derived from parameters. These
descriptions are what the fuzz suite (schemathesis) generates requests from, and
what an operator's gateway can check callers against. The console is not described:
it is a browser application, not an API.
"""

from __future__ import annotations

from typing import Any

MESSAGE_SID_PATTERN = r"^(SM|MM)[0-9a-f]{32}$"
"""Twilio's message ids: SM (text) or MM (picture) and 32 lower-case hex digits."""

_ERROR = {"description": "Refused; nothing changed."}
_TOO_LARGE = {"description": "The body is larger than the route accepts; it was not read."}
_UNAVAILABLE = {
    "description": "A backing service is out of reach; the carrier should deliver again.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
}

HEALTHZ: dict[int | str, dict[str, Any]] = {200: {"description": "The process serves requests."}}
READYZ: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The database and the relay answer.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    503: {
        "description": "The database or the relay does not answer.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


def _form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "properties": properties, "required": required}
            }
        },
    }


_SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "description": "Twilio's HMAC-SHA1 of the public URL and the form; 403 without it.",
    "schema": {"type": "string"},
}

TWILIO_SMS: dict[str, Any] = {
    "parameters": [_SIGNATURE],
    "requestBody": _form(
        {
            "MessageSid": {"type": "string", "pattern": MESSAGE_SID_PATTERN},
            "SmsSid": {"type": "string"},
            "AccountSid": {"type": "string"},
            "From": {"type": "string", "maxLength": 32},
            "To": {"type": "string", "maxLength": 32},
            "Body": {"type": "string", "maxLength": 1600},
            "NumMedia": {"type": "string"},
            "FromCountry": {"type": "string"},
        },
        ["MessageSid", "From"],
    ),
}
TWILIO_SMS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "TwiML: the replies to send, one <Message> each.",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
    400: _ERROR,
    403: {"description": "Not signed by Twilio for this URL; nothing changed."},
    408: _ERROR,
    413: _TOO_LARGE,
    503: _UNAVAILABLE,
}

TWILIO_STATUS: dict[str, Any] = {
    "parameters": [_SIGNATURE],
    "requestBody": _form(
        {
            "MessageSid": {"type": "string", "pattern": MESSAGE_SID_PATTERN},
            "MessageStatus": {"type": "string"},
            "ErrorCode": {"type": "string"},
            "To": {"type": "string", "maxLength": 32},
        },
        ["MessageSid", "MessageStatus"],
    ),
}
TWILIO_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Counted."},
    400: _ERROR,
    403: {"description": "Not signed by Twilio for this URL; nothing changed."},
    408: _ERROR,
    413: _TOO_LARGE,
    503: _UNAVAILABLE,
}

TELEGRAM: dict[str, Any] = {
    "parameters": [
        {
            "name": "X-Telegram-Bot-Api-Secret-Token",
            "in": "header",
            "required": True,
            "description": "The secret given to setWebhook; 403 without it.",
            "schema": {"type": "string"},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "A Bot API Update; an authentic one that cannot be read "
                    "is acknowledged (200) and dropped with a counted reason.",
                    "properties": {
                        "update_id": {"type": "integer"},
                        "message": {"type": "object"},
                        "callback_query": {"type": "object"},
                        "my_chat_member": {"type": "object"},
                        "channel_post": {"type": "object"},
                    },
                    "required": ["update_id"],
                }
            }
        },
    },
}
TELEGRAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Taken: answered, or dropped when it cannot be read."},
    403: {"description": "Without the webhook's secret token; nothing changed."},
    408: _ERROR,
    413: _TOO_LARGE,
    503: _UNAVAILABLE,
}
