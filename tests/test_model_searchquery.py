"""The search query language: words, phrases, operators, field filters, dates and errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kizashi.model.errors import KizashiError
from kizashi.model.searchquery import (
    And,
    DateRange,
    Expr,
    Field,
    MatchAll,
    Not,
    Or,
    Phrase,
    Word,
    parse,
    words,
)


def w(text: str, pos: int) -> Word:
    return Word(text, pos)


def test_the_example_query() -> None:
    assert parse("tag:ransomware 攻撃 NOT tag:tlp:red") == And(
        (Field("tag", "ransomware", 0), Word("攻撃", 15), Not(Field("tag", "tlp:red", 22)))
    )


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\u3000"])
def test_empty_query_matches_everything(text: str) -> None:
    assert parse(text) == MatchAll()


@pytest.mark.parametrize(
    "text",
    [
        "ランサムウェア攻撃",
        "hxxp://evil[.]com/a",
        "10.0.0.5",
        "evil.com:443",
        "user@example[.]com",
        "http://x",
        "foo:bar",
        "evil(.)com",
        "evil(dot)com",
        "evil(DOT)com/path(.)php",
        "and",
        "not",
        "-",
        "--no-sandbox",
        "a&&b",
        'foo"bar',
    ],
)
def test_a_single_word_is_kept_whole(text: str) -> None:
    assert parse(text) == Word(text, 0)


def test_defanged_word_inside_parentheses() -> None:
    assert parse("(evil(.)com OR 1[.]2[.]3[.]4)") == Or(
        (w("evil(.)com", 1), w("1[.]2[.]3[.]4", 15))
    )


def test_a_paren_not_after_a_word_character_groups() -> None:
    assert parse("a(b)") == And((w("a", 0), w("b", 2)))
    assert parse("(.)") == w(".", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"exact phrase"', Phrase("exact phrase", 0)),
        ("“日本語の 句”", Phrase("日本語の 句", 0)),
        ("＂全角＂", Phrase("全角", 0)),
        ('"a"b', And((Phrase("a", 0), w("b", 3)))),
    ],
)
def test_phrases(text: str, expected: Expr) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a OR b c", Or((w("a", 0), And((w("b", 5), w("c", 7)))))),
        ("NOT a b", And((Not(w("a", 4)), w("b", 6)))),
        ("a AND b OR c", Or((And((w("a", 0), w("b", 6))), w("c", 11)))),
        ("a && b || c", Or((And((w("a", 0), w("b", 5))), w("c", 10)))),
        ("a (b OR c)", And((w("a", 0), Or((w("b", 3), w("c", 8)))))),
        ("a (b c) d", And((w("a", 0), w("b", 3), w("c", 5), w("d", 8)))),
        ("(a OR b) OR c", Or((w("a", 1), w("b", 6), w("c", 12)))),
        ("((a))", w("a", 2)),
        ("NOT NOT a", w("a", 8)),
        ("NOT (a OR b)", Not(Or((w("a", 5), w("b", 10))))),
    ],
)
def test_precedence_and_grouping(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_leading_minus_negates_words_phrases_fields_and_groups() -> None:
    assert parse('-tag:test -"foo bar" -(a OR b) -x') == And(
        (
            Not(Field("tag", "test", 1)),
            Not(Phrase("foo bar", 11)),
            Not(Or((w("a", 23), w("b", 28)))),
            Not(w("x", 32)),
        )
    )


def test_a_lone_minus_is_a_word() -> None:
    assert parse("a - b") == And((w("a", 0), w("-", 2), w("b", 4)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag:tlp:red", Field("tag", "tlp:red", 0)),
        ("TAG:apt", Field("tag", "apt", 0)),
        ("tag:tlp:*", Field("tag", "tlp:", 0, prefix=True)),
        ('tag:"APT 28"', Field("tag", "APT 28", 0)),
        ('tag:"APT 2"*', Field("tag", "APT 2", 0, prefix=True)),
        ('source:"JPCERT CC"', Field("source", "JPCERT CC", 0)),
        ("source:JPCERT/CC", Field("source", "JPCERT/CC", 0)),
        ("ioc:hxxp://evil[.]com", Field("ioc", "hxxp://evil[.]com", 0)),
        ("ioc:evil(.)com", Field("ioc", "evil(.)com", 0)),
        ("type:intrusion-set", Field("type", "intrusion-set", 0)),
        ("id:indicator--1234", Field("id", "indicator--1234", 0)),
        ("lang:ja", Field("lang", "ja", 0)),
        ("lang:mixed", Field("lang", "mixed", 0)),
        ("tlp:TLP:AMBER", Field("tlp", "amber", 0)),
        ("tlp:amber+strict", Field("tlp", "amber+strict", 0)),
        ("tlp:white", Field("tlp", "clear", 0)),
        ("x tag:a", And((w("x", 0), Field("tag", "a", 2)))),
    ],
)
def test_field_filters(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def _day(d: str) -> str:
    return f"{d}T00:00:00.000Z"


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        (">=2024-01-01", _day("2024-01-01"), None),
        (">2024-01", _day("2024-02-01"), None),
        (">2024-12", _day("2025-01-01"), None),
        ("<=2024", None, _day("2025-01-01")),
        ("<2025-06-30", None, _day("2025-06-30")),
        ("<=2024-02-29", None, _day("2024-03-01")),
        ("2024-03", _day("2024-03-01"), _day("2024-04-01")),
        ("2024", _day("2024-01-01"), _day("2025-01-01")),
        ("2024-12-31", _day("2024-12-31"), _day("2025-01-01")),
        ("2024-01-01..2024-06-30", _day("2024-01-01"), _day("2024-07-01")),
        ("2024-01..2024-01", _day("2024-01-01"), _day("2024-02-01")),
        ("2024-01-01..", _day("2024-01-01"), None),
        ("..2024-06-30", None, _day("2024-07-01")),
        ("2024-05-01T10:20:30Z", "2024-05-01T10:20:30.000Z", "2024-05-01T10:20:30.001Z"),
        (">2024-05-01T10:20:30.25Z", "2024-05-01T10:20:30.251Z", None),
        ("<=2024-05-01T10:20:30.123456Z", None, "2024-05-01T10:20:30.124Z"),
    ],
)
def test_date_filters(value: str, start: str | None, end: str | None) -> None:
    assert parse(f"published:{value}") == DateRange("published", start, end, 0)


def test_every_date_field_and_its_name_case() -> None:
    assert parse("Created:2024 modified:2024") == And(
        (
            DateRange("created", _day("2024-01-01"), _day("2025-01-01"), 0),
            DateRange("modified", _day("2024-01-01"), _day("2025-01-01"), 13),
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"abc', "unclosed quote at position 1"),
        ('a tag:"APT 28', "unclosed quote at position 7"),
        ('a ""', "empty phrase at position 3"),
        ('" "', "empty phrase at position 1"),
        ("(a OR b", "unclosed '(' at position 1"),
        ("a (", "unclosed '(' at position 3"),
        ("a b)", "unexpected ')' at position 4"),
        (")", "unexpected ')' at position 1"),
        ("ransomware AND", "nothing after 'AND' at position 12"),
        ("NOT", "nothing after 'NOT' at position 1"),
        ("a ||", "nothing after '||' at position 3"),
        ("a OR OR b", "nothing after 'OR' at position 3"),
        ("(a AND)", "nothing after 'AND' at position 4"),
        ("OR b", "nothing before 'OR' at position 1"),
        ("AND b", "nothing before 'AND' at position 1"),
        ("a (OR b)", "nothing before 'OR' at position 4"),
        ("a () b", "empty parentheses at position 3"),
        ("tag:", "empty value for tag: at position 5"),
        ('tag:"" x', "empty value for tag: at position 6"),
        ("tag:*", "empty value for tag: at position 5"),
        ("published:2024-02-30", "invalid date '2024-02-30' at position 11"),
        ("published:2024-13", "invalid date '2024-13' at position 11"),
        ("published:24-01-01", "invalid date '24-01-01' at position 11"),
        ("published:>=2024-1", "invalid date '2024-1' at position 13"),
        ("published:>=", "missing date at position 13"),
        ("published:2024-01..2024-1", "invalid date '2024-1' at position 20"),
        ("published:2024-07..2024-06", "date range starts after it ends at position 11"),
        ("published:2024-06-30..2024-06-29", "date range starts after it ends at position 11"),
        ("published:..", "date range needs a start or an end at position 11"),
        ("published:2024*", "published: does not take a '*' prefix at position 11"),
        ("lang:fr", "lang must be ja, en or mixed, not 'fr' at position 6"),
        ("tlp:pink", "unknown TLP level 'pink' at position 5"),
        ("type:Indicator", "type must be a lower-case STIX type, not 'Indicator' at position 6"),
    ],
)
def test_errors_name_the_position(text: str, message: str) -> None:
    with pytest.raises(KizashiError) as info:
        parse(text)
    err = info.value
    assert err.code == "validation_failed"
    assert err.message == f"Search query: {message}."
    assert err.problems[0].loc == "q"
    # The problem is the reason alone; where it is, 0-based, for a page to mark it.
    reason, _, position = message.rpartition(" at position ")
    assert err.problems[0].msg == reason
    assert err.extra["position"] == int(position) - 1


def test_limits_are_errors_not_crashes() -> None:
    assert parse("x" * 4000) == Word("x" * 4000, 0)
    with pytest.raises(KizashiError, match="longer than 4000 characters"):
        parse("x" * 4001)
    assert parse("(" * 32 + "a" + ")" * 32) == Word("a", 32)
    with pytest.raises(KizashiError, match="nested deeper than 32 at position 33"):
        parse("(" * 33 + "a" + ")" * 33)
    assert parse("NOT " * 999 + "a") == Not(Word("a", 3996))
    assert parse("-(" * 30 + "a" + ")" * 30) == Word("a", 60)


def test_words_are_the_positive_terms_in_query_order() -> None:
    expr = parse('a "b c" NOT d (e OR -f) tag:x -"g" published:2024 攻撃')
    assert words(expr) == [w("a", 0), Phrase("b c", 2), w("e", 15), w("攻撃", 50)]
    assert words(parse("")) == []
    assert words(parse("NOT (a b)")) == []


def _leaves(expr: Expr) -> list[Expr]:
    if isinstance(expr, Not):
        return _leaves(expr.expr)
    if isinstance(expr, And | Or):
        assert len(expr.exprs) > 1
        assert not any(isinstance(e, type(expr)) for e in expr.exprs)
        return [leaf for e in expr.exprs for leaf in _leaves(e)]
    return [expr]


_PIECES = st.sampled_from(
    [" ", "a", "攻撃", "(", ")", '"', "“", "”", "-", ":", "*", ".", "..", "[.]", "(.)", "AND",
     "OR", "NOT", "&&", "||", "tag:", "tlp:", "lang:", "type:", "published:", ">=", "<", "2024",
     "-02", "-30", "T10:00:00Z", "amber", "ja"]
)  # fmt: skip


@settings(max_examples=400)
@given(st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=25).map("".join)))
@example('tag:"a" ) (')
@example("published:9999")
@example("-" * 50 + "a")
def test_parse_returns_an_expression_or_a_validation_error(text: str) -> None:
    try:
        expr = parse(text)
    except KizashiError as err:
        error = err
    else:
        error = None
    if error is not None:
        assert error.code == "validation_failed"
        assert re.search(r" at position \d+\.$", error.message)
        return
    for leaf in _leaves(expr):
        if isinstance(leaf, Word):
            assert text[leaf.pos : leaf.pos + len(leaf.text)] == leaf.text
            assert leaf.text and not any(c.isspace() for c in leaf.text)
        elif isinstance(leaf, Phrase):
            assert text[leaf.pos + 1 : leaf.pos + 1 + len(leaf.text)] == leaf.text
        elif isinstance(leaf, Field | DateRange):
            assert text[leaf.pos : leaf.pos + len(leaf.name) + 1].lower() == f"{leaf.name}:"
        else:
            assert isinstance(leaf, MatchAll)
            assert not text.strip()
