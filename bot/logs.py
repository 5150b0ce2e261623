"""Logging that cannot carry what a person wrote or who they are.

Our own log lines carry only ids, states and counts. The filter below is the second
line of defence, on every handler, third-party loggers included: it drops the
arguments of httpx/uvicorn access lines (URLs can hold the Telegram bot token and
query strings) and masks anything that looks like a phone number or a bot token.
"""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"\+?\d[\d\s().-]{6,}\d")
_BOT_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")
_TAMED_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "telegram", "twilio", "apscheduler")


def scrub(text: str) -> str:
    return _PHONE.sub("[number]", _BOT_TOKEN.sub("[token]", text))


class RedactingFilter(logging.Filter):
    """Rewrite each record so that numbers and tokens never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(_TAMED_LOGGERS):
            # Third-party lines format URLs and payloads into their arguments; keep the
            # event, drop the arguments.
            record.msg = f"{record.name}: {record.levelname.lower()} event"
            record.args = None
        else:
            record.msg = scrub(record.getMessage())
            record.args = None
        record.exc_text = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception messages can quote their inputs; keep only the type.
            error = record.exc_info[1]
            record.msg = f"{record.msg} [{type(error).__name__}]"
            record.exc_info = None
        record.stack_info = None
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    for name in _TAMED_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.WARNING))
