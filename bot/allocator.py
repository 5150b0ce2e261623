"""One allocator setting for every worker: threads share at most four malloc arenas.

glibc gives each new thread that allocates an arena of its own, up to eight per core,
and memory freed in an arena stays with that arena. A SQLite worker runs a thread per
database connection (aiosqlite) and one for the group commit. Measured on 2026-12-01
(``/proc/PID/smaps`` and ``tracemalloc`` in a worker after 10,000 people and 1,000
tickets): the objects Python kept for those people grew by about 8 MB, the worker's
anonymous memory by 35 MB, most of it freed blocks held in the threads' arenas. With
four arenas the worker's RSS was 143–148 MB against 149–153 MB without (a scratch copy
of the benchmark's memory scenario and the scenario itself, ``docs/benchmarks.md``
step eight), and its SMS throughput stayed within the spread between runs (904 and
1,110 req/s against 1,039 and 1,087). Two arenas saved 1–2 MB more and answered 973
and 951.

An operator's own ``MALLOC_ARENA_MAX`` wins: glibc reads it before we run, and this
module then leaves it alone. On a C library without ``mallopt`` (musl, macOS) it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

ARENAS = 4
_M_ARENA_MAX = -8
"""glibc's ``mallopt`` parameter number for the arena limit (malloc.h)."""


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap malloc arenas for threads started from now on; True if the cap was set.

    Call it before the worker starts threads: a thread that already has an arena
    keeps it.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None)
    if mallopt is None:
        return False
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited=%s arenas=%d", done, arenas)
    return done
