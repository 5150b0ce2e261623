"""Logging that cannot carry what a person wrote or who they are.

Our own log lines carry only ids, states and counts. Redaction is the second line of
defence and sits where no logger can route around it: in the log-record factory, so
every record from every logger (httpx, uvicorn, telegram, twilio included, whatever
handlers they have) is redacted as it is created, and again by a filter on each root
handler. Third-party lines lose their arguments (httpx request URLs hold the Telegram
bot token; uvicorn's access line holds the query string; uvicorn logs WebSocket frames
with their payload at DEBUG; database drivers log query parameters at DEBUG). Exceptions keep their type
and stack frames but never their message, locals or chained messages: an exception's
message can quote SQL parameters, a URL or a request body.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType
from typing import Any

_PHONE = re.compile(r"\+?\d[\d\s().-]{4,}\d")
"""Six digits or more, separators allowed: phone numbers and Telegram chat ids."""
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")
"""A dotted IPv4 address (a bind address, a proxy): not a phone number, and an operator
needs to see where the server listens. Phone numbers are never written this way."""
_TAMED_LOGGERS = (
    "httpx",
    "httpcore",
    "uvicorn.access",
    "telegram",
    "twilio",
    "apscheduler",
    "websockets",
    "hpack",
    # Database drivers log statements with their parameters at DEBUG: aliases and
    # ciphertexts, and anything a future bug might put in a query.
    "aiosqlite",
    "asyncpg",
    "sqlalchemy",
    "alembic",
    "redis",
    "multipart",
    "python_multipart",
)
_REDACTED = "_helpline_redacted"


def scrub(text: str) -> str:
    return _PHONE.sub(_number, _BOT_TOKEN.sub("[token]", text))


def _number(found: re.Match[str]) -> str:
    return found.group(0) if _IPV4.fullmatch(found.group(0)) else "[number]"


def safe_traceback(error: BaseException) -> str:
    """Format an exception chain with frames and type names only: no messages, no locals."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        lines.insert(0, _frames(current.__traceback__, type(current)))
        current = current.__cause__ or current.__context__
    return "\n".join(lines)


def _frames(tb: TracebackType | None, kind: type[BaseException]) -> str:
    frames = traceback.extract_tb(tb)
    body = "".join(
        f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}\n' for frame in frames
    )
    return f"Traceback (message withheld):\n{body}{kind.__module__}.{kind.__qualname__}"


def redact(record: logging.LogRecord) -> None:
    """Rewrite ``record`` in place so that nothing it carries can identify anyone."""
    if getattr(record, _REDACTED, False):
        return
    if record.name.startswith(_TAMED_LOGGERS) or (
        # uvicorn logs every WebSocket frame, payload included, at DEBUG.
        record.name.startswith("uvicorn") and record.levelno < logging.INFO
    ):
        # Third-party lines format URLs and payloads into their arguments; keep the
        # event, drop the arguments.
        record.msg = f"{record.name}: {record.levelname.lower()} event"
    else:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the caller
            message = str(record.msg)
        record.msg = scrub(message)
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = safe_traceback(record.exc_info[1])
    elif record.exc_text:
        record.exc_text = "(exception text withheld)"
    record.exc_info = None
    record.stack_info = None
    setattr(record, _REDACTED, True)


class RedactingFilter(logging.Filter):
    """Redact each record before a handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact(record)
        return True


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    redact(record)
    return record


def install_redaction() -> None:
    """Redact every log record at creation, whichever logger makes it."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


def configure_logging(level: str, handler: logging.Handler | None = None) -> None:
    """Log at ``level`` to stderr (or to ``handler``), redacted everywhere."""
    install_redaction()
    root = logging.getLogger()
    root.setLevel(level)
    if handler is not None:
        root.addHandler(handler)
    elif not root.handlers:
        root.addHandler(logging.StreamHandler())
    for each in root.handlers:
        if each.formatter is None:
            each.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        if not any(isinstance(f, RedactingFilter) for f in each.filters):
            each.addFilter(RedactingFilter())
    # Handlers that libraries attached to their own loggers get the filter too, and
    # their records also reach the root handlers.
    for name, logger in logging.Logger.manager.loggerDict.items():
        if not isinstance(logger, logging.Logger):
            continue
        for each in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in each.filters):
                each.addFilter(RedactingFilter())
        if name.startswith(_TAMED_LOGGERS):
            logger.setLevel(max(logger.level, logging.WARNING))
    for name in _TAMED_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))
    uvicorn = logging.getLogger("uvicorn")
    uvicorn.setLevel(max(uvicorn.level, logging.INFO))
