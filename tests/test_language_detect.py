"""Guessing the language from a first message, and refusing to guess when unclear."""

import pytest

from bot.language_detect import guess_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hola, necesito ayuda", "es"),
        ("Olá, preciso de ajuda", "pt"),
        ("bonjour", "fr"),
        ("Bună ziua, am nevoie de ajutor", "ro"),
        ("Привіт, мені потрібна допомога", "uk"),
        ("Здравствуйте, мне нужна помощь", "ru"),
        ("你好", "zh"),
        ("Xin chào, tôi cần giúp đỡ", "vi"),
        ("Kumusta po", "tl"),
        ("สวัสดีครับ", "th"),
        ("مرحبا", "ar"),
        ("hello", "en"),
    ],
)
def test_first_message_language(text: str, expected: str) -> None:
    assert guess_language(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "???", "12345"])
def test_no_guess_when_the_text_says_nothing(text: str) -> None:
    assert guess_language(text) is None
