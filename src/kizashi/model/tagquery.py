"""A small boolean language over tags: ``ransomware AND (tlp:amber OR tlp:red) NOT test``.

Adjacent terms are joined by AND; ``NOT`` binds tightest, then ``AND``, then ``OR``.
A tag with spaces is written in double quotes (``"APT 28"``); a machine tag keeps
its quoted value inside the term (``admiralty-scale:source-reliability="b"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kizashi.model.errors import Problem, invalid

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


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(" ")" "AND" "OR" "NOT" "TAG"
    text: str
    pos: int


def _error(msg: str, pos: int) -> Exception:
    return invalid(
        f"Tag filter: {msg} at position {pos + 1}.", [Problem("tags", f"{msg} at {pos + 1}")]
    )


def _tokenise(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            toks.append(_Tok(c, c, i))
            i += 1
            continue
        start = i
        buf: list[str] = []
        if c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise _error("unclosed quote", i)
            toks.append(_Tok("TAG", text[i + 1 : end], start))
            i = end + 1
            continue
        while i < n and not text[i].isspace() and text[i] not in "()":
            if text[i] == '"':
                end = text.find('"', i + 1)
                if end < 0:
                    raise _error("unclosed quote", i)
                buf.append(text[i : end + 1])
                i = end + 1
            else:
                buf.append(text[i])
                i += 1
        word = "".join(buf)
        kind = word.upper() if word.upper() in KEYWORDS and word.isupper() else "TAG"
        toks.append(_Tok(kind, word, start))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenise(text)
        self.i = 0
        self.end = len(text)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Expr:
        if not self.toks:
            raise _error("empty filter", 0)
        expr = self.or_()
        tok = self.peek()
        if tok is not None:
            raise _error(f"unexpected {tok.text!r}", tok.pos)
        return expr

    def or_(self) -> Expr:
        parts = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def and_(self) -> Expr:
        parts = [self.not_()]
        while (tok := self.peek()) is not None and tok.kind in ("AND", "NOT", "TAG", "("):
            if tok.kind == "AND":
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def not_(self) -> Expr:
        tok = self.peek()
        if tok is not None and tok.kind == "NOT":
            self.take()
            return Not(self.not_())
        return self.atom()

    def atom(self) -> Expr:
        tok = self.peek()
        if tok is None:
            raise _error("expected a tag", self.end)
        if tok.kind == "(":
            self.take()
            expr = self.or_()
            close = self.peek()
            if close is None or close.kind != ")":
                raise _error("missing ')'", close.pos if close else self.end)
            self.take()
            return expr
        if tok.kind == "TAG":
            self.take()
            return Has(tok.text)
        raise _error(f"expected a tag, found {tok.text!r}", tok.pos)


def parse_tag_query(text: str) -> Expr:
    """Parse a tag filter; errors name the position (1-based)."""
    return _Parser(text).parse()


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
