"""Score understanding on the example corpus (content/corpus/<lang>.toml).

For each example the same decision a person in the main menu would meet is taken: a
whole-message keyword first, then the understood intent. An example counts as
understood when that decision is its intent (for a two-way question, when its intent
is one of the two offered). Danger examples must reach the emergency number (danger
words or fear); harmless examples must never run the quick exit or forget directly.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.i18n import Catalogue, catalogue, language_codes, normalise
from bot.understanding.danger import contains_danger
from bot.understanding.intents import Intent
from bot.understanding.match import understand
from content import CONTENT_DIR

CORPUS_DIR = CONTENT_DIR / "corpus"
KEYWORD_INTENTS = {
    "keywords.exit": Intent.EXIT,
    "keywords.forget": Intent.FORGET,
    "keywords.talk": Intent.TALK,
    "keywords.menu": Intent.MENU,
    "keywords.back": Intent.MENU,
    "keywords.language": Intent.LANGUAGE,
    "keywords.help": Intent.HELP,
    "keywords.discreet": Intent.DISCREET,
}
"""The keyword lists topics register, and the intent each stands for."""
TARGET = 0.9


@dataclass(slots=True)
class Score:
    right: int = 0
    total: int = 0
    not_understood: int = 0

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass(slots=True)
class LanguageScore:
    code: str
    reviewed: bool
    intents: Score = field(default_factory=Score)
    held_out: Score = field(default_factory=Score)
    """Examples written after the word lists were frozen, never used to tune them."""
    by_intent: dict[str, Score] = field(default_factory=dict)
    danger_missed: int = 0
    danger_total: int = 0
    harmless_to_exit: int = 0
    harmless_total: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)


def decide(text: str, words: Catalogue) -> tuple[Intent | None, Intent | None, bool]:
    """(intent, second intent offered, acted at once on an exit or forget word)."""
    said = normalise(text)
    for key, intent in KEYWORD_INTENTS.items():
        own = words.words(key)
        english = words.fallback.words(key) if words.fallback else ()
        if said in own or said in english:
            return intent, None, intent in (Intent.EXIT, Intent.FORGET)
    meaning = understand(text, words)
    if meaning.confirm is not None:
        return meaning.confirm, None, False
    acts = meaning.intent in (Intent.EXIT, Intent.FORGET)  # never expected: counted if so
    return meaning.intent, meaning.other, acts


def score_language(code: str, path: Path) -> LanguageScore:
    with path.open("rb") as handle:
        corpus = tomllib.load(handle)
    words = catalogue(code)
    result = LanguageScore(code=code, reviewed=bool(corpus.get("reviewed", False)))
    for section, overall in (("intents", result.intents), ("held_out", result.held_out)):
        for name, examples in corpus.get(section, {}).items():
            expected = Intent(name)
            score = result.by_intent.setdefault(name, Score())
            for example in examples:
                intent, other, _ = decide(example, words)
                right = expected in (intent, other)
                for target in (score, overall):
                    target.total += 1
                    target.right += right
                    target.not_understood += intent is None
                if not right:
                    result.confusions[(name, str(intent))] += 1
    for example in corpus.get("danger", {}).get("examples", []):
        result.danger_total += 1
        reached = contains_danger(example, words) or decide(example, words)[0] == Intent.FEAR
        result.danger_missed += not reached
    for example in corpus.get("harmless", {}).get("examples", []):
        result.harmless_total += 1
        result.harmless_to_exit += decide(example, words)[2]
    return result


def evaluate(corpus_dir: Path = CORPUS_DIR) -> list[LanguageScore]:
    return [
        score_language(code, corpus_dir / f"{code}.toml")
        for code in language_codes()
        if (corpus_dir / f"{code}.toml").exists()
    ]


def report(scores: list[LanguageScore], *, verbose: bool = False) -> tuple[str, bool]:
    """A plain-text table, and whether every target is met."""
    lines = [
        "language  examples  understood  held-out  not-understood  danger-missed  harmless->exit"
        "  reviewed",
    ]
    ok = True
    for s in scores:
        passed = (
            min(s.intents.accuracy, s.held_out.accuracy) >= TARGET
            and not s.danger_missed
            and not s.harmless_to_exit
        )
        ok = ok and passed
        both = s.intents.total + s.held_out.total
        lost = s.intents.not_understood + s.held_out.not_understood
        lines.append(
            f"{s.code:<9} {both:>8}  {s.intents.accuracy:>9.0%}  {s.held_out.accuracy:>7.0%}"
            f"  {lost / max(1, both):>14.0%}  "
            f"{s.danger_missed:>6}/{s.danger_total:<6}  {s.harmless_to_exit:>7}/{s.harmless_total:<6}"
            f"  {'yes' if s.reviewed else 'no'}{'' if passed else '   BELOW TARGET'}"
        )
    lines.append("")
    lines.append("intent        understood (all languages)")
    totals: dict[str, Score] = {}
    for s in scores:
        for name, score in s.by_intent.items():
            total = totals.setdefault(name, Score())
            total.right += score.right
            total.total += score.total
    for name, score in sorted(totals.items()):
        lines.append(f"{name:<13} {score.accuracy:>5.0%}  ({score.right}/{score.total})")
    if verbose:
        lines.append("")
        for s in scores:
            for (wanted, got), count in s.confusions.most_common():
                lines.append(f"{s.code}: {wanted} taken as {got} x{count}")
    return "\n".join(lines), ok
