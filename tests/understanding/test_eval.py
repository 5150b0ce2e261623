"""`helpline content eval`: the score is printed per language, and its checks can fail."""

import subprocess
import sys
from pathlib import Path

from bot.i18n import language_codes
from bot.understanding.evaluate import evaluate, score_language


def test_every_language_is_scored_and_no_danger_is_missed_nor_harmless_text_exits() -> None:
    scores = evaluate()
    assert sorted(score.code for score in scores) == sorted(language_codes())
    for score in scores:
        assert score.danger_total >= 4 and score.danger_missed == 0, score.code
        assert score.harmless_total >= 5 and score.harmless_to_exit == 0, score.code
        assert score.intents.accuracy >= 0.9, score.code


def test_the_command_prints_a_row_per_language() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "content", "eval"],
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [line.split()[0] for line in result.stdout.splitlines()[1:13]]
    assert sorted(rows) == sorted(language_codes())


def test_a_bare_exit_word_among_harmless_examples_is_counted(tmp_path: Path) -> None:
    corpus = tmp_path / "en.toml"
    corpus.write_text(
        'language = "en"\n[harmless]\nexamples = ["bye", "I want to exit this job"]\n'
        '[danger]\nexamples = ["the weather is nice"]\n',
        encoding="utf-8",
    )
    score = score_language("en", corpus)
    assert score.harmless_to_exit == 1
    assert score.danger_missed == 1
