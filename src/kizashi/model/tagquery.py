"""A small boolean language over tags: ``ransomware AND (tlp:amber OR tlp:red) NOT test``.

Adjacent terms are joined by AND; ``NOT`` binds tightest, then ``AND``, then ``OR``.
The grammar is :mod:`kizashi.model.boolean`'s, shared with the search query.
A tag with spaces is written in double quotes (``"APT 28"``); a machine tag keeps
its quoted value inside the term (``admiralty-scale:source-reliability="b"``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kizashi.model.boolean import Parser, Token, tokenise
from kizashi.model.errors import KizashiError, Problem, Text, invalid
from kizashi.model.width import fold_width

KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Has:
    tag: str


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class AllOf:
    exprs: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    exprs: tuple[Expr, ...]


Expr = Has | Not | AllOf | AnyOf


def _error(reason: Text, pos: int) -> KizashiError:
    """The filter's error: ``reason`` at a (0-based) position, which the message gives
    1-based and ``extra["position"]`` 0-based."""
    exc = invalid(
        "Tag filter: %(reason)s at position %(position)s.",
        [Problem.of("tags", reason)],
        reason=reason,
        position=pos + 1,
    )
    exc.extra["position"] = pos
    return exc


def _read(text: str, i: int) -> tuple[Token, int]:
    """A tag (quoted whole, or with quoted values inside it) or an operator."""
    start, n = i, len(text)
    if text[i] == '"':
        end = text.find('"', i + 1)
        if end < 0:
            raise _error(Text("unclosed quote"), i)
        return Token("TERM", text[i + 1 : end], start, Has(text[i + 1 : end])), end + 1
    buf: list[str] = []
    while i < n and not text[i].isspace() and text[i] not in "()":
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _error(Text("unclosed quote"), i)
            buf.append(text[i : end + 1])
            i = end + 1
        else:
            buf.append(text[i])
            i += 1
    word = "".join(buf)
    if word in KEYWORDS:  # only upper-case words are operators
        return Token(word, word, start), i
    return Token("TERM", word, start, Has(word)), i


class _Tags:
    """The tag filter's trees (as written: no flattening) and errors."""

    def all_of(self, parts: Sequence[Expr]) -> Expr:
        return AllOf(tuple(parts))

    def any_of(self, parts: Sequence[Expr]) -> Expr:
        return AnyOf(tuple(parts))

    def negate(self, expr: Expr) -> Expr:
        return Not(expr)

    def empty(self) -> Expr:
        raise _error(Text("empty filter"), 0)

    def error(self, reason: Text, pos: int) -> KizashiError:
        return _error(reason, pos)

    def unclosed(self, _opened: Token, found: Token | None, end: int) -> KizashiError:
        return _error(Text("missing ')'"), found.pos if found else end)

    def missing(self, found: Token | None, _before: Token | None, end: int) -> KizashiError:
        if found is None:
            return _error(Text("expected a tag"), end)
        return _error(Text("expected a tag, found %(token)r", {"token": found.text}), found.pos)


def parse_tag_query(text: str) -> Expr:
    """Parse a tag filter; errors name the position (1-based). Full-width forms read as
    their usual ones (``ｔｌｐ：ａｍｂｅｒ``)."""
    text = fold_width(text)
    return Parser(tokenise(text, _read), len(text), _Tags()).parse()


def tags_in(expr: Expr) -> set[str]:
    if isinstance(expr, Has):
        return {expr.tag}
    if isinstance(expr, Not):
        return tags_in(expr.expr)
    out: set[str] = set()
    for e in expr.exprs:
        out |= tags_in(e)
    return out


def evaluate(expr: Expr, tags: set[str]) -> bool:
    """Reference semantics, used by tests to check the SQL translation."""
    if isinstance(expr, Has):
        return expr.tag in tags
    if isinstance(expr, Not):
        return not evaluate(expr.expr, tags)
    if isinstance(expr, AllOf):
        return all(evaluate(e, tags) for e in expr.exprs)
    return any(evaluate(e, tags) for e in expr.exprs)


def map_tags(expr: Expr, fn: Callable[[str], str]) -> Expr:
    """The same expression with every tag name passed through ``fn``."""
    if isinstance(expr, Has):
        return Has(fn(expr.tag))
    if isinstance(expr, Not):
        return Not(map_tags(expr.expr, fn))
    parts = tuple(map_tags(e, fn) for e in expr.exprs)
    return AllOf(parts) if isinstance(expr, AllOf) else AnyOf(parts)
