"""The Big List of Naughty Strings (MIT; see data/NOTICE), and canaries to find in logs."""

from __future__ import annotations

import json
import secrets
import string
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "blns.json"


@cache
def naughty_strings() -> tuple[str, ...]:
    """Every string of the list (JSON on disk: escapes keep control characters intact)."""
    strings: list[str] = json.loads(DATA.read_text(encoding="utf-8"))
    return tuple(strings)


def canary() -> str:
    """A unique word of letters only (digits would be taken for a number and scrubbed)."""
    return "zq" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(14))


def rotated(offset: int) -> list[str]:
    """The list, started at ``offset``: field k of request i gets string i + k."""
    strings = naughty_strings()
    return [strings[(index + offset) % len(strings)] for index in range(len(strings))]
