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


def test_demo_on_another_port_is_reached_where_it_listens(tmp_path: Path) -> None:
    """The demo's console and simulator check the Origin against the public URL."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELPLINE_", "REDIS"))
    } | {"HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db"}
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the demo did not start"
                assert demo.poll() is None, "the demo exited"
                time.sleep(0.5)
    finally:
        demo.terminate()
        output, _ = demo.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/console" in output
    assert "HELPLINE_PUBLIC_URL is" not in output  # no mismatch warning
