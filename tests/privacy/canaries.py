"""Canary strings, natural sentences in every language that carry them, and a recording sender."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.types import Address, Reply

LANGUAGES = ("en", "es", "pt", "fr", "ro", "uk", "ru", "zh", "vi", "tl", "th", "ar")

# What a person might write: {c} is where the canary goes. Each carries words that
# matter (passport, boss, leaving) so the text takes the same paths real text would.
SENTENCES: dict[str, tuple[str, str, str]] = {
    "en": ("hello, I am {c}", "my boss {c} took my passport", "I cannot leave, {c}"),
    "es": ("hola, soy {c}", "mi jefe {c} tiene mi pasaporte", "no puedo salir, {c}"),
    "pt": ("olá, sou {c}", "meu patrão {c} pegou meu passaporte", "não posso sair, {c}"),
    "fr": (
        "bonjour, je suis {c}",
        "mon patron {c} a pris mon passeport",
        "je ne peux pas partir, {c}",
    ),
    "ro": ("bună, sunt {c}", "șeful meu {c} mi-a luat pașaportul", "nu pot pleca, {c}"),
    "uk": ("привіт, я {c}", "мій начальник {c} забрав мій паспорт", "я не можу піти, {c}"),
    "ru": ("привет, я {c}", "мой начальник {c} забрал мой паспорт", "я не могу уйти, {c}"),
    "zh": ("你好，我是{c}", "我的老板{c}拿走了我的护照", "我不能离开，{c}"),
    "vi": ("xin chào, tôi là {c}", "ông chủ {c} giữ hộ chiếu của tôi", "tôi không thể rời đi, {c}"),
    "tl": (
        "kumusta, ako si {c}",
        "kinuha ng amo kong si {c} ang pasaporte ko",
        "hindi ako makaalis, {c}",
    ),
    "th": ("สวัสดี ฉันชื่อ {c}", "นายจ้าง {c} ยึดหนังสือเดินทางของฉัน", "ฉันออกไปไม่ได้ {c}"),
    "ar": ("مرحبا، أنا {c}", "أخذ مديري {c} جواز سفري", "لا أستطيع المغادرة، {c}"),
}


class Canaries:
    """Hands out unique canaries and remembers every one, with the forms a number can take."""

    def __init__(self) -> None:
        self.all: list[str] = []

    def token(self) -> str:
        # Letters only: a redaction filter that masks digit runs cannot hide a leak of text.
        canary = "CANARY" + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16))
        self.all.append(canary)
        return canary

    def say(self, language: str, which: int) -> str:
        return SENTENCES[language][which].format(c=self.token())

    def phone(self) -> str:
        national = "555" + "".join(secrets.choice(string.digits) for _ in range(7))
        number = "+1" + national
        self.all += [number, "1" + national, national]
        return number

    def chat_id(self) -> str:
        chat = str(7_000_000_000 + secrets.randbelow(999_999_999))
        self.all.append(chat)
        return chat

    def name(self) -> str:
        return self.token().title()


@dataclass
class RecordingSender:
    """A carrier that keeps what it was asked to send, as the person's phone would show it."""

    sent: list[tuple[Address, str]] = field(default_factory=list)

    async def send(self, address: Address, replies: Sequence[Reply]) -> bool:
        self.sent += [(address, reply.text) for reply in replies]
        return True

    def to(self, user_id: str) -> list[str]:
        return [text for address, text in self.sent if address.value == user_id]
