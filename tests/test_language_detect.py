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


# Real first messages in the look-alike pairs the help line must tell apart.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Bulgarian, Russian and Ukrainian share most Cyrillic letters.
        ("Здравей, имам нужда от помощ", "bg"),
        ("Шефът ми взе паспорта и не ми плаща", "bg"),
        ("Не мога да изляза от къщата", "bg"),
        ("Здравствуйте, мне нужна помощь", "ru"),
        ("Мой начальник забрал паспорт", "ru"),
        ("Меня не выпускают из квартиры", "ru"),
        ("Мій начальник забрав паспорт", "uk"),
        ("Я не можу вийти з дому", "uk"),
        # Haitian Creole and French share roots and letters; lingua has no Creole.
        ("Bonjou, mwen bezwen èd", "ht"),
        ("Patwon an pran paspò m epi li pa peye m", "ht"),
        ("Mwen pè, yo pa kite m soti", "ht"),
        ("Bonjour, j'ai besoin d'aide", "fr"),
        ("Mon patron a pris mon passeport", "fr"),
        ("J'ai peur, je ne peux pas sortir", "fr"),
        # Hindi and Nepali share Devanagari; the help line has no Nepali.
        ("नमस्ते, मुझे मदद चाहिए", "hi"),
        ("मेरे मालिक ने मेरा पासपोर्ट ले लिया है", "hi"),
        ("मुझे डर लग रहा है", "hi"),
        # Somali and English share the Latin alphabet.
        ("Salaan, waxaan u baahanahay caawimaad", "so"),
        ("Maamulahaygu baasaboorkayga wuu qaatay", "so"),
        ("Waan baqayaa, guriga lagama ii oggola inaan ka baxo", "so"),
        ("Hello, I need help", "en"),
        ("My boss took my passport", "en"),
        ("I am scared and I can't leave the house", "en"),
        # The other new languages.
        ("Përshëndetje, kam nevojë për ndihmë", "sq"),
        ("Shefi më mori pasaportën", "sq"),
        ("안녕하세요 도와주세요", "ko"),
        ("사장이 여권을 가져갔어요", "ko"),
        ("Dzień dobry, potrzebuję pomocy", "pl"),
        ("Szef zabrał mi paszport", "pl"),
        ("Szia, segítségre van szükségem", "hu"),
        ("A főnököm elvette az útlevelem", "hu"),
        ("Kumusta po, kailangan ko ng tulong", "tl"),
    ],
)
def test_look_alike_languages_are_told_apart(text: str, expected: str) -> None:
    assert guess_language(text) == expected


@pytest.mark.parametrize(
    "text", ["मलाई मद्दत चाहिन्छ", "मेरो मालिकले मेरो राहदानी लिएको छ", "म धेरै डराएको छु"]
)
def test_nepali_is_not_answered_in_hindi(text: str) -> None:
    assert guess_language(text) is None


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("Olá, preciso de ajuda", "PT", "pt_PT"),
        ("Olá, preciso de ajuda", "AO", "pt_PT"),
        ("Olá, preciso de ajuda", "BR", "pt"),
        ("Olá, preciso de ajuda", None, "pt"),
        ("Estou a trabalhar sem receber e tenho medo", None, "pt_PT"),
        ("O meu patrão ficou com o telemóvel", "BR", "pt_PT"),
        ("Oi, meu chefe pegou meu celular, você pode ajudar?", "PT", "pt"),
    ],
)
def test_european_or_brazilian_portuguese_by_words_then_country(
    text: str, country: str | None, expected: str
) -> None:
    assert guess_language(text, country) == expected
