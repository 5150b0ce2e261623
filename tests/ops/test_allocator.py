"""A worker's threads share at most four malloc arenas (``bot/allocator.py``): the memory
that SQLite's connection threads free stays in few arenas instead of one each.

Each check runs a fresh interpreter, since the cap applies only to threads started
after it. glibc's ``malloc_stats`` prints one "Arena N:" block per arena in use.
"""

from __future__ import annotations

import ctypes.util
import sys
from pathlib import Path

import pytest

from tests.ops.test_startup import environment, fresh_python

WORKER = """
import ctypes, ctypes.util, threading
import bot.asgi  # what uvicorn imports in every worker

THREADS = 8
together = threading.Barrier(THREADS + 1)


def allocate() -> None:
    block = bytearray(300_000)  # malloc'd by the thread itself
    together.wait()  # every thread holds its block while the arenas are counted
    together.wait()
    del block


threads = [threading.Thread(target=allocate) for _ in range(THREADS)]
for thread in threads:
    thread.start()
together.wait()
ctypes.CDLL(ctypes.util.find_library("c")).malloc_stats()
together.wait()
for thread in threads:
    thread.join()
"""

glibc_only = pytest.mark.skipif(
    sys.platform != "linux" or ctypes.util.find_library("c") != "libc.so.6",
    reason="malloc arenas are glibc's",
)


def arenas_in_use(env: dict[str, str]) -> int:
    result = fresh_python(WORKER, env)
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


@glibc_only
def test_eight_threads_of_a_worker_share_at_most_four_arenas(tmp_path: Path) -> None:
    assert 1 <= arenas_in_use(environment(tmp_path)) <= 4


@glibc_only
def test_an_operators_own_arena_limit_is_left_as_it_is(tmp_path: Path) -> None:
    # Without our cap each of the eight threads takes an arena of its own.
    assert arenas_in_use(environment(tmp_path, MALLOC_ARENA_MAX="16")) == 9
