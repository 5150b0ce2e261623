"""What a basic phone shows: numbered menus, and long content in a few numbered texts."""

from __future__ import annotations

from bot.i18n import catalogue, language_codes
from bot.render import SEGMENT_BUDGET, sms_parts
from bot.segments import measure
from bot.types import Button, Reply


def test_a_menu_is_numbered_lines_in_one_message() -> None:
    reply = Reply(
        text="How can we help?",
        buttons=(Button("Hotline numbers", "hotlines"), Button("Staying safe", "safety")),
    )
    assert sms_parts(reply) == ["How can we help?\n1 Hotline numbers\n2 Staying safe"]


def test_a_long_menu_splits_between_lines_never_inside_one() -> None:
    buttons = tuple(
        Button(f"Шелтер в городе номер {n} для женщин и детей", str(n)) for n in range(9)
    )
    parts = sms_parts(Reply(text="Выберите место:", buttons=buttons))
    assert len(parts) > 1
    lines = [line for part in parts for line in part.split(") ", 1)[1].split("\n")]
    assert lines[0] == "Выберите место:"
    assert lines[1:] == [f"{n + 1} {b.label}" for n, b in enumerate(buttons)]


def test_chinese_splits_after_full_stops_without_spaces() -> None:
    sentence = "如果你现在有危险，请马上打紧急电话。"
    parts = sms_parts(Reply(text=sentence * 14))
    assert len(parts) >= 2
    for part in parts:
        assert part.endswith("。")
        assert measure(part).count <= SEGMENT_BUDGET


def test_one_endless_sentence_is_still_cut_within_budget() -> None:
    parts = sms_parts(Reply(text="word " * 200))
    assert all(measure(part).count <= SEGMENT_BUDGET for part in parts)
    assert all(not part.endswith(" wor") for part in parts)  # cut between words


def test_every_catalogue_text_fits_in_two_budgeted_messages_in_every_language() -> None:
    # A safety text says what the line is and is not, so a translation in a UCS-2
    # script (201 characters a message) may take two messages; never more
    # (``helpline content check`` enforces the same with placeholders filled).
    # English, the source, always fits in one.
    for code in language_codes():
        words = catalogue(code)
        for key in words.entries:
            if key.startswith(("keywords.", "intent.")):
                continue
            text = words.raw(key)
            allowed = 1 if code == "en" else 2
            assert len(sms_parts(Reply(text=text))) <= allowed, (code, key, measure(text))
