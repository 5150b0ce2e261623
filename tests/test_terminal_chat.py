"""``helpline chat`` talks like an SMS phone in the terminal."""

import os
import subprocess
import sys
from pathlib import Path

from bot.i18n import catalogue


def test_chat_answers_in_the_terminal_with_numbered_menus(tmp_path: Path) -> None:
    env = os.environ | {
        "HELPLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/chat.db",
        "HELPLINE_SECRET_KEY": "",
        "HELPLINE_LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat"],
        input="hola\n1\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    spanish = catalogue("es")
    assert spanish.raw("option.hotlines") in result.stdout
    assert "\n1 " in result.stdout
    # The terminal has no phone country: the numbers every mobile dials, then the question.
    assert "112 / 911" in result.stdout
    assert spanish.raw("country.prompt") in result.stdout
