"""Fixtures for the privacy suite: a DEBUG log file and a temp directory that are scanned."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import configure_logging


@pytest.fixture
def debug_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Send every logger's output, at DEBUG and redacted as in production, to a file."""
    # As under `helpline serve` (uvicorn with log_config=None) uvicorn's loggers reach
    # the root; a fake provider's uvicorn earlier in the run may have set them apart.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
    path = tmp_path / "logs" / "helpline.log"
    path.parent.mkdir()
    root = logging.getLogger()
    factory = logging.getLogRecordFactory()
    levels = {
        name: logging.getLogger(name).level for name in ("", *logging.root.manager.loggerDict)
    }
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    configure_logging("DEBUG", handler=handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        logging.setLogRecordFactory(factory)
        for name, level in levels.items():
            logging.getLogger(name or None).setLevel(level)


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the process's temp directory into tmp_path, so any temp file is scanned."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    monkeypatch.setenv("TMPDIR", str(directory))
    return directory
