"""Which country a person is in: a country named in what they typed, or their SIM's, as a guess.

Country names in every language come from CLDR (through Babel), with a few common short
forms CLDR does not list ("USA", "UK", "السعودية"). A name counts only when it is the
whole message or follows "I am in" in one of the help line's languages, so an ordinary
word is never taken for a country.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import phonenumbers

from bot.i18n import content_country_names
from bot.place_index import territory_names

LANGUAGES = (
    *("en", "es", "pt", "fr", "ro", "uk", "ru", "zh", "vi", "tl", "th", "ar"),
    *("sq", "ko", "bg", "pl", "hu", "hi", "ht", "so"),
)
_CLDR_LOCALE = {"tl": "fil", "ht": "fr"}
"""CLDR names no countries in Haitian Creole: French ones, plus content/country_names.toml."""
_NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})

SHORT_FORMS: dict[str, str] = {
    "usa": "US",
    "u.s.a.": "US",
    "america": "US",
    "united states of america": "US",
    "eeuu": "US",
    "ee.uu.": "US",
    "eua": "US",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "uae": "AE",
    "emirates": "AE",
    "ksa": "SA",
    "turkey": "TR",
    "holland": "NL",
    "czech republic": "CZ",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "ivory coast": "CI",
    "burma": "MM",
    "viet nam": "VN",
    "russian federation": "RU",
    "السعودية": "SA",
    "الامارات": "AE",
    "امريكا": "US",
    "بريطانيا": "GB",
    "америка": "US",
    "сша": "US",
    "англия": "GB",
    "англія": "GB",
    "美国": "US",
    "英国": "GB",
    "อเมริกา": "US",
    "mỹ": "US",
    "anh": "GB",
}
"""Names people use that CLDR does not list, folded as :func:`fold` folds."""

_AMBIGUOUS = frozenset({"mali", "chad", "jordan", "georgia", "niger", "guinea", "anh", "china"})
"""Names that are also ordinary words or first names (Tagalog "mali" is "wrong"): taken as
a country only in the country question or after "I am in", never from a bare message."""

_I_AM_IN: dict[str, tuple[str, ...]] = {
    "en": ("i am in", "i'm in", "im in", "i am now in", "i live in", "i'm now in", "in"),
    "es": ("estoy en", "vivo en", "ahora estoy en", "en"),
    "pt": ("estou em", "estou no", "estou na", "moro em", "moro no", "moro na", "em", "no", "na"),
    "fr": (
        "je suis en",
        "je suis au",
        "je suis aux",
        "je suis a",
        "j'habite en",
        "j'habite au",
        "en",
        "au",
        "aux",
    ),
    "ro": ("sunt in", "ma aflu in", "locuiesc in", "in"),
    "uk": ("я в", "я у", "я зараз в", "я зараз у", "в", "у"),
    "ru": ("я в", "я во", "я сейчас в", "я живу в", "в", "во"),
    "zh": ("我在", "我现在在", "我住在", "在"),
    "vi": ("tôi ở", "tôi đang ở", "em ở", "ở"),
    "tl": ("nasa", "ako ay nasa", "nandito ako sa", "nasa bansang"),
    "th": ("ฉันอยู่ที่ประเทศ", "ฉันอยู่ที่", "ผมอยู่ที่", "อยู่ที่", "ฉันอยู่", "ผมอยู่"),
    "ar": ("انا في", "انا فى", "اعيش في", "في", "فى"),
    "sq": ("jam ne", "jam në", "jetoj ne", "jetoj në", "ne", "në"),
    "ko": ("저는", "나는", "지금"),
    "bg": ("аз съм в", "аз съм във", "живея в", "в", "във"),
    "pl": ("jestem w", "jestem we", "mieszkam w", "w", "we"),
    "hu": ("itt vagyok", "most itt vagyok"),
    "hi": ("मैं", "मैं अभी"),
    "ht": ("mwen nan", "m nan", "mwen ap viv nan", "m ap viv nan", "nan"),
    "so": ("waxaan joogaa", "waxaan ku noolahay", "waxaan ku suganahay"),
}
"""How people say where they are, folded; the country name must be all that follows."""


def fold(text: str) -> str:
    """Case, accents, width and Arabic letter forms folded; spaces single."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("’", "'").replace("ʼ", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_ARABIC_FORMS)
    text = re.sub(r"[\s\u200b]+", " ", text).strip(' .,!?¡¿;:"()«»。！？،؟…')
    return text


_ARABIC_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ـ": None})


@cache
def _names() -> dict[str, str]:
    """Every folded country name in the help line's languages (and short forms) to its code."""
    names: dict[str, str] = {}
    for language in ("en", *LANGUAGES):
        territories = territory_names(_CLDR_LOCALE.get(language, language))
        for code, name in territories.items():
            if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                names.setdefault(fold(str(name)), code)
    for by_code in content_country_names().values():
        for code, name in by_code.items():
            names.setdefault(fold(name), code)
    for name, code in SHORT_FORMS.items():
        names.setdefault(fold(name), code)
    return names


@cache
def country_codes() -> frozenset[str]:
    """Every ISO 3166-1 country and territory CLDR names (built once: every SMS asks)."""
    return frozenset(_names().values())


def country_in_text(text: str, language: str, *, asked: bool = False) -> str | None:
    """The ISO code of a country the message names, or None.

    ``asked``: the person was just asked which country; then a bare ISO code ("PT") and
    names that are also ordinary words count too.
    """
    said = fold(text)
    if not said or len(said) > 60:
        return None
    names = _names()
    code = names.get(said)
    if code is not None and (asked or said not in _AMBIGUOUS):
        return code
    if asked and len(said) == 2 and said.upper() in country_codes():
        return said.upper()
    for prefix in (*_I_AM_IN.get(language, ()), *_I_AM_IN["en"]):
        folded_prefix = fold(prefix)
        unspaced = language in ("zh", "th") and not prefix.isascii()
        if said.startswith(folded_prefix if unspaced else folded_prefix + " "):
            rest = said[len(folded_prefix) :].strip()
            found = names.get(rest) or _declined(rest, language)
            if found is not None and (rest not in _AMBIGUOUS or len(folded_prefix) > 3):
                return found
    return None


def _declined(rest: str, language: str) -> str | None:
    """Russian and Ukrainian decline a country after "в": "в Польше" is Польша."""
    if language not in ("ru", "uk") or len(rest) < 4:
        return None
    names = _names()
    for ending in ("а", "я", "й", "ия", ""):
        found = names.get(rest[:-1] + ending)
        if found is not None:
            return found
    return None


def sim_country(number: str, from_country: str | None = None) -> str | None:
    """The country a phone number's SIM is from: a guess of where the person is, or None.

    phonenumbers knows territories sharing a calling code by their leading digits
    (+44 7624 is the Isle of Man); Twilio's FromCountry is next. The calling code's main
    country is used only where it is not shared, because +1 is not only the US.
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None:
        region = phonenumbers.region_code_for_number(parsed)
        if region and region not in ("ZZ", "001"):
            return region
    if from_country and from_country.upper() in country_codes():
        return from_country.upper()
    if parsed is not None and parsed.country_code:
        regions = phonenumbers.region_codes_for_country_code(parsed.country_code)
        if len(regions) == 1 and regions[0] not in ("ZZ", "001"):
            return regions[0]
    return None
