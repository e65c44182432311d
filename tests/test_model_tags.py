"""Tag names and the tag filter language."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizashi.model.errors import KizashiError
from kizashi.model.tagquery import (
    AllOf,
    AnyOf,
    Expr,
    Has,
    Not,
    evaluate,
    map_tags,
    parse_tag_query,
    tags_in,
)
from kizashi.model.tags import MAX_TAG_LENGTH, check_colour, parse_tag

# -- tag names ------------------------------------------------------------------------


def test_free_tag_japanese_is_kept_exactly() -> None:
    tag = parse_tag("ランサムウェア")
    assert tag.name == "ランサムウェア"
    assert not tag.is_machine
    assert tag.namespace is tag.predicate is tag.value is None


def test_free_tag_is_nfc_normalised_and_trimmed() -> None:
    decomposed = unicodedata.normalize("NFD", "ガ café")
    assert decomposed != "ガ café"
    assert parse_tag(f"  {decomposed}\t").name == "ガ café"
    # Case of a free tag is kept.
    assert parse_tag("APT28").name == "APT28"


def test_tlp_machine_tag_is_lower_cased() -> None:
    tag = parse_tag("TLP:AMBER")
    assert tag.name == "tlp:amber"
    assert (tag.namespace, tag.predicate, tag.value) == ("tlp", "amber", None)
    assert tag.is_machine
    assert parse_tag("tlp:AMBER+STRICT").name == "tlp:amber+strict"


def test_machine_tag_with_value() -> None:
    tag = parse_tag('admiralty-scale:source-reliability="b"')
    assert tag.name == 'admiralty-scale:source-reliability="b"'
    assert (tag.namespace, tag.predicate, tag.value) == (
        "admiralty-scale",
        "source-reliability",
        "b",
    )
    # Only TLP is re-spelled here; the tag service applies a taxonomy's own spelling.
    typed = parse_tag('Admiralty-Scale:source-reliability="b"')
    assert typed.name == 'Admiralty-Scale:source-reliability="b"'
    assert typed.namespace == "Admiralty-Scale"
    assert parse_tag("Tlp:Red").name == "tlp:red"


def test_machine_tag_value_may_hold_spaces_and_japanese() -> None:
    tag = parse_tag('team:owner="赤 チーム"')
    assert (tag.namespace, tag.predicate, tag.value) == ("team", "owner", "赤 チーム")


@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_tag_is_refused(raw: str) -> None:
    with pytest.raises(KizashiError) as info:
        parse_tag(raw)
    assert info.value.code == "validation_failed"
    assert info.value.problems[0].loc == "tag"


def test_tag_length_limit() -> None:
    assert parse_tag("あ" * MAX_TAG_LENGTH).name == "あ" * MAX_TAG_LENGTH
    with pytest.raises(KizashiError) as info:
        parse_tag("あ" * (MAX_TAG_LENGTH + 1))
    assert info.value.code == "validation_failed"


@pytest.mark.parametrize(
    "raw", ["bad\x00tag", "bad\x07", "two\nlines", "zero\u200bwidth", "del\x7f"]
)
def test_control_characters_are_refused(raw: str) -> None:
    with pytest.raises(KizashiError) as info:
        parse_tag(raw)
    assert info.value.code == "validation_failed"


def test_colour() -> None:
    assert check_colour("#A0B1C2") == "#a0b1c2"
    assert check_colour(None) is None
    assert check_colour("") is None
    for bad in ("red", "#12345", "#1234567", "a0b1c2", "#ggg000"):
        with pytest.raises(KizashiError):
            check_colour(bad)


# -- the filter language -----------------------------------------------------------------


def test_precedence_not_and_or() -> None:
    assert parse_tag_query("a OR b AND c") == AnyOf((Has("a"), AllOf((Has("b"), Has("c")))))
    assert parse_tag_query("NOT a AND b") == AllOf((Not(Has("a")), Has("b")))
    assert parse_tag_query("a AND b OR NOT c") == AnyOf(
        (AllOf((Has("a"), Has("b"))), Not(Has("c")))
    )
    assert parse_tag_query("NOT NOT a") == Not(Not(Has("a")))


def test_implicit_and() -> None:
    assert parse_tag_query("a b c") == AllOf((Has("a"), Has("b"), Has("c")))
    assert parse_tag_query("a b OR c") == AnyOf((AllOf((Has("a"), Has("b"))), Has("c")))
    assert parse_tag_query("ransomware NOT test") == AllOf((Has("ransomware"), Not(Has("test"))))


def test_parentheses() -> None:
    assert parse_tag_query("(a OR b) AND c") == AllOf((AnyOf((Has("a"), Has("b"))), Has("c")))
    assert parse_tag_query("NOT (a OR b)") == Not(AnyOf((Has("a"), Has("b"))))
    assert parse_tag_query("((a))") == Has("a")


def test_quoted_names_and_keywords_as_tags() -> None:
    assert parse_tag_query('"APT 28" OR "Lazarus Group"') == AnyOf(
        (Has("APT 28"), Has("Lazarus Group"))
    )
    assert parse_tag_query('"AND"') == Has("AND")
    # Only upper-case words are operators.
    assert parse_tag_query("and or not") == AllOf((Has("and"), Has("or"), Has("not")))


def test_machine_tags_with_quoted_values() -> None:
    q = 'admiralty-scale:source-reliability="b" AND (tlp:amber OR team:owner="Red Team")'
    assert parse_tag_query(q) == AllOf(
        (
            Has('admiralty-scale:source-reliability="b"'),
            AnyOf((Has("tlp:amber"), Has('team:owner="Red Team"'))),
        )
    )


def test_japanese_terms() -> None:
    assert parse_tag_query("ランサムウェア NOT 訓練") == AllOf(
        (Has("ランサムウェア"), Not(Has("訓練")))
    )


def error_position(text: str) -> int:
    with pytest.raises(KizashiError) as info:
        parse_tag_query(text)
    err = info.value
    assert err.code == "validation_failed"
    assert err.problems[0].loc == "tags"
    pos = int(err.message.rsplit("position ", 1)[1].rstrip("."))
    assert err.extra["position"] == pos - 1 and err.problems[0].msg in err.message
    return pos


@pytest.mark.parametrize(
    ("text", "pos"),
    [
        ('a AND "APT 28', 7),  # unclosed quote: at the quote
        ('team:owner="x', 12),  # unclosed quote inside a machine tag
        ("(a OR b", 8),  # missing ')': just past the end
        ("(a b ( c)", 10),
        ("a AND", 6),  # dangling operator: where the tag should be
        ("a OR", 5),
        ("a AND OR b", 7),  # operator where a tag should be
        ("NOT", 4),
        ("AND a", 1),
        ("a )", 3),  # unexpected ')'
        ("()", 2),
        ("", 1),
        ("   ", 1),
    ],
)
def test_errors_name_the_1_based_position(text: str, pos: int) -> None:
    assert error_position(text) == pos


def test_tags_in_and_map_tags() -> None:
    expr = parse_tag_query('TLP:AMBER (a OR NOT "b c")')
    assert tags_in(expr) == {"TLP:AMBER", "a", "b c"}
    upper = map_tags(expr, str.upper)
    assert tags_in(upper) == {"TLP:AMBER", "A", "B C"}
    assert evaluate(upper, {"TLP:AMBER", "A"}) and not evaluate(upper, {"TLP:AMBER", "B C"})


# -- round trip: render, parse, evaluate the same ---------------------------------------

ALPHABET = [
    "a",
    "b",
    "ransomware",
    "tlp:amber",
    "APT 28",
    'admiralty-scale:source-reliability="b"',
    'team:owner="Red Team"',
    "ランサム",
    "and",
    "OR",
]


PRECEDENCE = {AnyOf: 1, AllOf: 2, Not: 3, Has: 4}


def render(expr: Expr, draw: st.DrawFn, needs: int = 0) -> str:
    """Text for ``expr`` with only the parentheses precedence needs (plus random extras)."""
    if isinstance(expr, Has):
        t = expr.tag
        quote = (" " in t and '"' not in t) or t in ("AND", "OR", "NOT")
        text = f'"{t}"' if quote else t
    elif isinstance(expr, Not):
        text = "NOT " + render(expr.expr, draw, 3)
    elif isinstance(expr, AllOf):
        joiner = draw(st.sampled_from([" AND ", " "]))
        text = joiner.join(render(e, draw, 2) for e in expr.exprs)
    else:
        text = " OR ".join(render(e, draw, 1) for e in expr.exprs)
    if PRECEDENCE[type(expr)] < needs or draw(st.integers(0, 4)) == 0:
        text = f"({text})"
    return text


def exprs() -> st.SearchStrategy[Expr]:
    leaf = st.sampled_from(ALPHABET).map(Has)
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            kids.map(Not),
            st.lists(kids, min_size=2, max_size=4).map(lambda xs: AllOf(tuple(xs))),
            st.lists(kids, min_size=2, max_size=4).map(lambda xs: AnyOf(tuple(xs))),
        ),
        max_leaves=12,
    )


@settings(max_examples=300, deadline=None, database=None)
@given(
    expr=exprs(),
    data=st.data(),
    tag_sets=st.lists(st.sets(st.sampled_from(ALPHABET)), min_size=1, max_size=8),
)
def test_rendered_expression_parses_back_to_the_same_meaning(
    expr: Expr, data: st.DataObject, tag_sets: list[set[str]]
) -> None:
    text = render(expr, data.draw)
    parsed = parse_tag_query(text)
    assert tags_in(parsed) == tags_in(expr)
    for tags in [*tag_sets, set(), set(ALPHABET)]:
        assert evaluate(parsed, tags) == evaluate(expr, tags), (text, tags)
