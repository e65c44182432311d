"""The boolean grammar the tag filter and the search query share.

``NOT`` binds tightest, then ``AND``, then ``OR``; adjacent terms are joined by AND;
parentheses group, at most :data:`MAX_DEPTH` deep. What a *term* is differs (a tag, with
quoted machine-tag values inside it; a word, a phrase or a field filter), and so do the
operators' spellings and how each language words an error, so each language brings its
own term reader (:func:`tokenise`) and a :class:`Language` that builds its trees and its
errors; the loop over the text and the grammar are here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from kizashi.model.errors import KizashiError, Text

#: Parentheses nested deeper than this are refused (the parser recurses on them).
MAX_DEPTH = 32
OPERATORS = ("AND", "OR", "NOT")

E = TypeVar("E")


@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "AND" "OR" "NOT" "TERM"
    text: str
    pos: int
    #: A term's tree (None for parentheses and operators).
    node: Any = None


#: Reads the term or operator that starts at an offset: the token, and where it ends.
TermReader = Callable[[str, int], tuple[Token, int]]


def tokenise(text: str, read: TermReader, *, dash_not: bool = False) -> list[Token]:
    """The tokens of ``text``: blanks skipped, parentheses, and (``dash_not``) a ``-``
    before a term as NOT; everything else is read by ``read``."""
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(Token(c, c, i))
            i += 1
        elif (
            dash_not
            and c == "-"
            and i + 1 < n
            and not text[i + 1].isspace()
            and text[i + 1] not in "-)"
        ):
            toks.append(Token("NOT", c, i))
            i += 1
        else:
            tok, i = read(text, i)
            toks.append(tok)
    return toks


class Language(Protocol[E]):
    """What a query language makes of the grammar's parts, and how it words errors."""

    def all_of(self, parts: Sequence[E]) -> E: ...

    def any_of(self, parts: Sequence[E]) -> E: ...

    def negate(self, expr: E) -> E: ...

    def empty(self) -> E:
        """A query without a term (it may be an error)."""
        ...

    def error(self, reason: Text, pos: int) -> KizashiError: ...

    def unclosed(self, opened: Token, found: Token | None, end: int, /) -> KizashiError:
        """A ``(`` whose ``)`` is missing (``found`` stands where it should be)."""
        ...

    def missing(self, found: Token | None, before: Token | None, end: int, /) -> KizashiError:
        """No term where one must be: ``found`` stands there, after ``before``."""
        ...


class Parser(Generic[E]):
    def __init__(self, toks: list[Token], end: int, language: Language[E]) -> None:
        self.toks = toks
        self.end = end
        self.lang = language
        self.i = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> E:
        if not self.toks:
            return self.lang.empty()
        expr = self.or_()
        tok = self.peek()
        if tok is not None:
            raise self.lang.error(Text("unexpected %(token)r", {"token": tok.text}), tok.pos)
        return expr

    def or_(self) -> E:
        parts = [self.and_()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else self.lang.any_of(parts)

    def and_(self) -> E:
        parts = [self.not_()]
        while (tok := self.peek()) is not None and tok.kind in ("AND", "NOT", "TERM", "("):
            if tok.kind == "AND":
                self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else self.lang.all_of(parts)

    def not_(self) -> E:
        # A loop, not recursion: a long run of NOTs is no deeper than one.
        times = 0
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            self.take()
            times += 1
        expr = self.atom()
        for _ in range(times):
            expr = self.lang.negate(expr)
        return expr

    def atom(self) -> E:
        tok = self.peek()
        if tok is not None and tok.kind == "TERM":
            self.take()
            node: E = tok.node
            return node
        if tok is not None and tok.kind == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.lang.error(
                    Text("parentheses nested deeper than %(n)s", {"n": MAX_DEPTH}), tok.pos
                )
            expr = self.or_()
            close = self.peek()
            if close is None or close.kind != ")":
                raise self.lang.unclosed(tok, close, self.end)
            self.take()
            self.depth -= 1
            return expr
        raise self.lang.missing(tok, self.toks[self.i - 1] if self.i else None, self.end)
