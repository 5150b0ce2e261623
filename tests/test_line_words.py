"""Claims about a line come only from its directory fields; a young person is never sent to a reporting line."""

import dataclasses
import datetime as dt

from bot.hotlines import Country, Number
from bot.i18n import catalogue
from bot.line_words import facts, youth_line

_DIRECTORY_FIELDS = {field.name for field in dataclasses.fields(Number)}


@dataclasses.dataclass(frozen=True, slots=True)
class _Described(Number):
    """A directory entry with every field line_words reads, whether or not Number has it yet."""

    extra: dict[str, object] = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> object:
        # Only reached for a field Number does not declare (yet): read it from ``extra``.
        if name in ("interpreters", "confidential", "report_only", "purpose", "audience", "mode"):
            return self.extra.get(name)
        raise AttributeError(name)


def _line(**fields: object) -> Number:
    base: dict[str, object] = {
        "id": "x",
        "name": "Example Line",
        "source": "test",
        "checked": dt.date(2026, 11, 1),
        "confirmed": True,
        "call": "0800 000",
    }
    given = {"kind": "trafficking"} | fields
    if "kind" not in _DIRECTORY_FIELDS:  # the directory calls it purpose now
        given.setdefault("purpose", given.pop("kind"))
        given.pop("kind", None)
    known = {k: v for k, v in given.items() if k in _DIRECTORY_FIELDS}
    extra = {k: v for k, v in given.items() if k not in _DIRECTORY_FIELDS}
    return _Described(**(base | known), extra=extra)  # type: ignore[arg-type]


def test_a_line_with_no_fields_gets_no_claim() -> None:
    assert facts(catalogue("en"), _line()) == ""


def test_each_claim_appears_only_when_its_field_says_so() -> None:
    en = catalogue("en")
    said = facts(en, _line(hours="24/7", interpreters=True, confidential=True))
    assert "open day and night" in said
    assert "interpreter" in said
    assert "private" in said
    assert "police" not in said
    partly = facts(en, _line(hours="Mon-Fri 9-17", interpreters=False))
    assert partly == ""


def test_a_police_or_reporting_line_says_so() -> None:
    en = catalogue("en")
    assert "part of the police" in facts(en, _line(purpose="police"))
    assert "pass them to the police" in facts(en, _line(report_only=True))


def test_claims_are_said_in_the_persons_language() -> None:
    said = facts(catalogue("es"), _line(hours="24/7"))
    assert said == " " + catalogue("es").raw("facts.open_always")


def test_youth_line_skips_reporting_and_missing_children_lines() -> None:
    report = _line(id="r", name="Tip line", kind="child", report_only=True, audience="children")
    missing = _line(id="m", name="Hotline", kind="child", purpose="missing children")
    support = _line(id="s", name="Youth Line", kind="child", purpose="support", audience="youth")
    country = Country(code="XX", emergency=(), lines=(report, missing, support), referral=None)
    assert youth_line(country) == support


def test_no_youth_support_line_means_none_rather_than_a_reporting_line() -> None:
    report = _line(id="r", name="Tip line", kind="child", report_only=True)
    police = _line(id="p", name="Police line", kind="trafficking", purpose="police")
    country = Country(code="XX", emergency=(), lines=(report, police), referral=police)
    assert youth_line(country) is None


def test_texting_is_offered_only_where_the_number_shown_takes_texts() -> None:
    en = catalogue("en")
    assert "send it a text" in facts(en, _line(mode="voice, text"))
    assert "send it a text" in facts(en, _line(text="0800 000"))  # same number as the call
    assert facts(en, _line(text="233733")) == ""  # texts go to another number
    assert facts(en, _line(mode="voice")) == ""


def test_a_line_for_children_comes_before_a_child_line_open_to_everyone() -> None:
    everyone = _line(id="e", name="Family line", kind="child", audience="everyone")
    children = _line(id="c", name="Kids line", kind="child", audience="children")
    adults = _line(id="a", name="Adults line", kind="child", audience="adults")
    country = Country(code="XX", emergency=(), lines=(adults, everyone, children), referral=None)
    assert youth_line(country) == children
    assert (
        youth_line(Country(code="XX", emergency=(), lines=(adults, everyone), referral=None))
        == everyone
    )
