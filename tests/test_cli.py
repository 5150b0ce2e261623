"""The ``helpline`` command refuses set-ups that would split one help line in pieces."""

import os
import subprocess
import sys
from pathlib import Path


def test_serve_refuses_several_workers_without_redis(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELPLINE_", "REDIS"))
    } | {
        "HELPLINE_SECRET_KEY": "a-real-secret-key-that-is-long-enough-for-serve-0123",
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/serve.db",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "2", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "HELPLINE_REDIS_URL" in result.stderr
