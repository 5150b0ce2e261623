"""The place index on a machine that has none yet: built at the first search, offline."""

from __future__ import annotations

import os
from pathlib import Path

from tests.ops.test_startup import fresh_python

SEARCH = """
from bot.directory import resolve
from bot.i18n import catalogue
place = resolve("Nueva York", country="MX")
print(place.name, place.country, catalogue("es").country_name("DE"), sep="|")
"""


def test_a_fresh_machine_builds_the_index_at_the_first_search_and_finds_the_place(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    result = fresh_python(SEARCH, env)
    assert result.stdout.strip() == "New York City|US|Alemania"
    assert len(list((tmp_path / "helpline").glob("places-*.sqlite3"))) == 1
