"""The TwiML answer, read back as Twilio reads it: an XML document, one <Message> per text."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from bot.channels.sms_webhook import twiml

STATUS_URL = "https://helpline.example.org/webhooks/twilio/status"


def messages(document: str) -> list[ElementTree.Element]:
    root = ElementTree.fromstring(document.encode("utf-8"))  # noqa: S314 - our own output
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return list(root)


@pytest.mark.parametrize(
    "body",
    [
        "1 Hotline numbers\n2 Staying safe",
        "x < y & y > z; </Message><Message>injected</Message>",
        "She said \"don't\" and 'left' &amp; &#65; &lt;",
        "Call 911 now 🆘🏳️‍🌈 ☎",
        "اتصل بخط المساعدة 1 خطوط المساعدة",
        "\u200fمرحبا\u200e 123 \u202bעברית\u202c",
        "line one\r\nline two\ttabbed",
        "",
    ],
    ids=["menu", "markup", "quotes", "emoji", "arabic", "bidi marks", "whitespace", "empty"],
)
def test_each_body_reads_back_exactly_with_a_delivery_report_url(body: str) -> None:
    (message,) = messages(twiml([body], status_url=STATUS_URL))
    # An XML reader turns CR LF into LF; Twilio reads the document the same way.
    assert (message.text or "") == body.replace("\r\n", "\n")
    assert message.attrib == {"action": STATUS_URL, "method": "POST"}


def test_several_bodies_arrive_as_separate_messages_in_order() -> None:
    bodies = ["(1/3) Первая часть", "(2/3) 第二部分", "(3/3) Τρίτο μέρος"]
    assert [m.text for m in messages(twiml(bodies, status_url=STATUS_URL))] == bodies


def test_an_action_url_with_a_query_and_quotes_survives_as_an_attribute() -> None:
    url = "https://helpline.example.org/webhooks/twilio/status?a=1&b=\"two\"&c='3'<>"
    (message,) = messages(twiml(["hi"], status_url=url))
    assert message.get("action") == url


def test_without_a_status_url_a_message_has_no_attributes() -> None:
    (message,) = messages(twiml(["hi"], status_url=None))
    assert message.attrib == {}
    assert message.text == "hi"


def test_no_bodies_is_an_empty_response_that_sends_nothing() -> None:
    document = twiml([], status_url=STATUS_URL)
    assert document.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert messages(document) == []


def test_characters_xml_cannot_carry_are_dropped_so_the_answer_still_parses() -> None:
    (message,) = messages(twiml(["bell\x07 form\x0c nul\x00 end\ud800"], status_url=None))
    assert message.text == "bell form nul end"
