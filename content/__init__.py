"""Data only: locale catalogues, the hotline directory and referral data."""

from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent
LOCALES_DIR = CONTENT_DIR / "locales"
HOTLINES_FILE = CONTENT_DIR / "hotlines.toml"
LANGUAGES_FILE = CONTENT_DIR / "languages.toml"
CLAIM_WORDS_FILE = CONTENT_DIR / "claim_words.toml"
EVERYDAY_WORDS_FILE = CONTENT_DIR / "everyday_words.toml"
