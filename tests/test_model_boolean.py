"""The boolean grammar the tag filter and the search query share (model/boolean.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizashi.model import searchquery as sq
from kizashi.model import tagquery as tq
from kizashi.model.boolean import MAX_DEPTH
from kizashi.model.errors import KizashiError

WORDS = ["a", "b", "c", "ransomware", "ランサム"]


def as_tags(expr: sq.Expr) -> tq.Expr:
    """A search tree over plain words, as the tag filter's tree of the same meaning."""
    match expr:
        case sq.Word(text=text):
            return tq.Has(text)
        case sq.Not(expr=inner):
            return tq.Not(as_tags(inner))
        case sq.And(exprs=parts):
            return tq.AllOf(tuple(as_tags(p) for p in parts))
        case sq.Or(exprs=parts):
            return tq.AnyOf(tuple(as_tags(p) for p in parts))
    raise AssertionError(f"not a plain-word query: {expr!r}")


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    """Text in the syntax both languages read: words, AND, OR, NOT, blanks, parentheses."""
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(WORDS))
    kind = draw(st.sampled_from(["and", "adjacent", "or", "not", "group"]))
    if kind == "not":
        return "NOT " + draw(queries(depth + 1))
    if kind == "group":
        return "(" + draw(queries(depth + 1)) + ")"
    parts = draw(st.lists(queries(depth + 1), min_size=2, max_size=3))
    joiner = {"and": " AND ", "adjacent": " ", "or": " OR "}[kind]
    return joiner.join(parts)


@settings(max_examples=300, deadline=None, database=None)
@given(text=queries(), held=st.lists(st.sets(st.sampled_from(WORDS)), min_size=1, max_size=6))
def test_both_languages_give_one_text_the_same_meaning(text: str, held: list[set[str]]) -> None:
    """Same precedence, same implicit AND, same grouping: the search query's tree (which
    flattens) and the tag filter's (which keeps the text's shape) agree on every item."""
    searched = as_tags(sq.parse(text))
    filtered = tq.parse_tag_query(text)
    for tags in [*held, set(), set(WORDS)]:
        assert tq.evaluate(searched, tags) == tq.evaluate(filtered, tags), (text, tags)


@pytest.mark.parametrize("parse", [tq.parse_tag_query, sq.parse])
def test_nesting_is_limited_in_both(parse: object) -> None:
    assert callable(parse)
    fine = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    parse(fine)
    deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(KizashiError) as info:
        parse(deep)
    assert f"nested deeper than {MAX_DEPTH}" in info.value.message
    assert "position 33" in info.value.message


def test_a_long_run_of_nots_is_not_deep() -> None:
    # The grammar loops over NOTs: more of them than Python's stack is deep cost no depth
    # (the search query's length limit lets 999 through).
    text = "NOT " * 998 + "a"
    tree = tq.parse_tag_query(text)
    for _ in range(998):
        assert isinstance(tree, tq.Not)
        tree = tree.expr
    assert tree == tq.Has("a")
    assert sq.parse(text) == sq.Word("a", 3992)  # an even count cancels out


def test_each_language_keeps_its_own_terms_and_operators() -> None:
    # The search query reads '-', '&&' and '||'; in a tag filter they are tag names.
    assert sq.parse("a -b") == sq.And((sq.Word("a", 0), sq.Not(sq.Word("b", 3))))
    assert tq.parse_tag_query("a -b") == tq.AllOf((tq.Has("a"), tq.Has("-b")))
    assert tq.parse_tag_query("a && b") == tq.AllOf((tq.Has("a"), tq.Has("&&"), tq.Has("b")))
    # A tag may hold a quoted value; a search term of that shape is a field filter.
    assert tq.parse_tag_query('team:owner="Red Team"') == tq.Has('team:owner="Red Team"')
    assert sq.parse('tag:"APT 28"') == sq.Field("tag", "APT 28", 0)
