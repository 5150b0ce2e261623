"""Reading level of catalogue texts: Flesch–Kincaid grade for English, Flesch-type ease elsewhere.

Our own small functions rather than a library: ``textstat`` (the usual choice) needs
NLTK and downloads the CMU dictionary at run time, which a content check on a server
without internet must not do. Syllables are counted as vowel groups, which is within
about half a grade of dictionary counts on short, plain sentences like ours.

Formulas (published adaptations of Flesch's reading ease to each language):
- en: Flesch–Kincaid grade = 0.39·words/sentence + 11.8·syllables/word − 15.59
- es: Fernández Huerta ease = 206.84 − 0.60·syllables/100 words − 1.02·sentences/100 words
- fr: Kandel & Moles ease = 207 − 1.015·words/sentence − 73.6·syllables/word
- pt: Martins et al. ease = 248.835 − 1.015·words/sentence − 84.6·syllables/word
- ru: Oborneva ease = 206.835 − 1.3·words/sentence − 60.1·syllables/word
Other languages have no formula here (tonal or non-alphabetic scripts, or no adaptation
we could check), and get no figure rather than a misleading one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
_VOWELS = {
    "en": "aeiouy",
    "es": "aeiouáéíóúü",
    "fr": "aeiouyàâéèêëîïôûùüœæ",
    "pt": "aeiouáàâãéêíóôõú",
    "ru": "аеёиоуыэюя",
}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@dataclass(frozen=True, slots=True)
class Counts:
    words: int = 0
    sentences: int = 0
    syllables: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.words + other.words,
            self.sentences + other.sentences,
            self.syllables + other.syllables,
        )


def _syllables(word: str, language: str) -> int:
    vowels = _VOWELS[language]
    groups = len(re.findall(f"[{vowels}]+", word.casefold()))
    if language == "en" and word.casefold().endswith("e") and not word.casefold().endswith("le"):
        groups -= 1  # a silent final e: "take", "safe", "phone"
    return max(groups, 1)


def counts(text: str, language: str) -> Counts:
    """Words, sentences and syllables of one text, placeholders left out."""
    plain = _PLACEHOLDER.sub(" ", text)
    words = _WORD.findall(plain)
    if not words:
        return Counts()
    sentences = max(len(_SENTENCE_END.findall(plain.strip())), 1)
    return Counts(len(words), sentences, sum(_syllables(w, language) for w in words))


def has_formula(language: str) -> bool:
    return language in _VOWELS


def score(total: Counts, language: str) -> float | None:
    """The language's figure: a US school grade for English, a 0–100 ease elsewhere (higher is easier)."""
    if not has_formula(language) or total.words == 0:
        return None
    per_sentence = total.words / total.sentences
    per_word = total.syllables / total.words
    if language == "en":
        return 0.39 * per_sentence + 11.8 * per_word - 15.59
    if language == "es":
        return 206.84 - 0.60 * per_word * 100 - 1.02 * total.sentences / total.words * 100
    if language == "fr":
        return 207 - 1.015 * per_sentence - 73.6 * per_word
    if language == "pt":
        return 248.835 - 1.015 * per_sentence - 84.6 * per_word
    return 206.835 - 1.3 * per_sentence - 60.1 * per_word  # ru


def level(texts: Iterable[str], language: str) -> float | None:
    """One figure for a set of texts, weighted by their length."""
    if not has_formula(language):
        return None
    total = Counts()
    for text in texts:
        total = total + counts(text, language)
    return score(total, language)


def label(language: str) -> str:
    return "grade (Flesch–Kincaid)" if language == "en" else "ease (0–100, higher is easier)"
