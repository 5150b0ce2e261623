"""Understanding what people write, offline, in every language the line speaks.

Nothing here leaves the process or is kept: a message is folded, stemmed and scored
against each intent's phrases (``intent.*`` in words.po), and only the intent's name
comes out. Libraries chosen on merit: ``snowballstemmer`` (pure Python, the Snowball
algorithms for 7 of our 12 languages, no compiler needed on a free-tier host; PyStemmer
is the same algorithms in C, faster than we need for one short message) and
``rapidfuzz`` (MIT, C++ edit distance, maintained) for slips of the keyboard.
"""

from bot.understanding.intents import EXPLOITATION, Intent
from bot.understanding.match import Meaning, understand

__all__ = ["EXPLOITATION", "Intent", "Meaning", "understand"]
