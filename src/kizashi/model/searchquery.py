"""Full-text search queries: ``tag:ransomware 攻撃 NOT tag:tlp:red published:>=2024-01``.

A bare word is any run of non-space characters (Japanese needs no spaces); only
whitespace, ``(`` and ``)`` end it, so indicators stay whole (``hxxp://evil[.]com/a``,
``evil(.)com``: a ``(.)`` or ``(dot)`` inside a word belongs to it). ``"a phrase"``
is matched exactly (also ``“…”`` and ``＂…＂``). ``AND``/``&&``, ``OR``/``||`` and
``NOT`` (upper case) or a leading ``-`` combine terms; adjacent terms are joined by
AND; ``NOT`` binds tightest, then ``AND``, then ``OR``; parentheses group.
``name:value`` filters a field (``tag:tlp:*`` is a prefix, ``tag:"APT 28"`` quoted);
the date fields take ``>=2024-01-01``, ``<2025``, ``2024-01..2024-06`` or ``2024-03``;
``keyword:サプライチェーン攻撃`` is a keyword as term statistics count it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kizashi.model import tlp
from kizashi.model.errors import KizashiError, Problem, invalid

FIELDS = {
    "tag",
    "type",
    "source",
    "lang",
    "tlp",
    "ioc",
    "keyword",
    "published",
    "created",
    "modified",
    "id",
}
DATE_FIELDS = {"published", "created", "modified"}
PREFIX_FIELDS = {"tag", "type", "source", "ioc", "id"}
LANGS = ("ja", "en", "mixed")
MAX_LENGTH = 4000
MAX_DEPTH = 32

_KEYWORDS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}
_QUOTES = '"“”＂'
_QUOTE = re.compile("[" + _QUOTES + "]")
_FIELD = re.compile(r"([A-Za-z]+):")
_DEFANG = re.compile(r"\((?:\.|dot)\)", re.IGNORECASE)
_TYPE = re.compile(r"[a-z0-9-]+")
_DATE = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z)?)?)?"
)


@dataclass(frozen=True)
class Word:
    text: str
    pos: int


@dataclass(frozen=True)
class Phrase:
    text: str
    pos: int


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    pos: int
    prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    """``start`` inclusive, ``end`` exclusive; ISO instants in UTC, None when open."""

    name: str
    start: str | None
    end: str | None
    pos: int


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class And:
    exprs: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    exprs: tuple[Expr, ...]


@dataclass(frozen=True)
class MatchAll:
    pass


Expr = Word | Phrase | Field | DateRange | Not | And | Or | MatchAll


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(" ")" "AND" "OR" "NOT" "TERM"
    text: str
    pos: int
    node: Expr | None = None


def _error(msg: str, pos: int) -> KizashiError:
    return invalid(
        f"Search query: {msg} at position {pos + 1}.", [Problem("q", f"{msg} at {pos + 1}")]
    )


def _close_quote(text: str, i: int) -> int:
    m = _QUOTE.search(text, i + 1)
    if m is None:
        raise _error("unclosed quote", i)
    return m.start()


def _word_end(text: str, i: int) -> int:
    j = i
    while j < len(text) and not text[j].isspace():
        if text[j] in "()":
            m = _DEFANG.match(text, j) if j > i else None
            if m is None:
                break
            j = m.end()
        else:
            j += 1
    return j


def _tokenise(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok(c, c, i))
            i += 1
        elif c in _QUOTES:
            end = _close_quote(text, i)
            if not text[i + 1 : end].strip():
                raise _error("empty phrase", i)
            toks.append(_Tok("TERM", text[i : end + 1], i, Phrase(text[i + 1 : end], i)))
            i = end + 1
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] not in "-)":
            toks.append(_Tok("NOT", c, i))
            i += 1
        else:
            tok, i = _term(text, i)
            toks.append(tok)
    return toks


def _term(text: str, i: int) -> tuple[_Tok, int]:
    """The word, operator or field filter starting at ``i``, and where it ends."""
    m = _FIELD.match(text, i)
    name = m.group(1).lower() if m else ""
    if m and name in FIELDS and m.end() < len(text) and text[m.end()] in _QUOTES:
        end = _close_quote(text, m.end())
        value = text[m.end() + 1 : end]
        star = end + 1 < len(text) and text[end + 1] == "*"
        node = _field(name, value, i, m.end() + 1, star)
        return _Tok("TERM", text[i : end + 1 + star], i, node), end + 1 + star
    end = _word_end(text, i)
    word = text[i:end]
    if word in _KEYWORDS:
        return _Tok(_KEYWORDS[word], word, i), end
    if m and name in FIELDS:
        value = word[m.end() - i :]
        star = value.endswith("*")
        node = _field(name, value[:-1] if star else value, i, m.end(), star)
        return _Tok("TERM", word, i, node), end
    return _Tok("TERM", word, i, Word(word, i)), end


def _field(name: str, value: str, pos: int, vpos: int, prefix: bool) -> Expr:
    if not value.strip():
        raise _error(f"empty value for {name}:", vpos)
    if prefix and name not in PREFIX_FIELDS:
        raise _error(f"{name}: does not take a '*' prefix", vpos)
    if name in DATE_FIELDS:
        return _date_range(name, value, pos, vpos)
    if name == "lang" and value not in LANGS:
        raise _error(f"lang must be ja, en or mixed, not {value!r}", vpos)
    if name == "tlp":
        level = tlp.normalise(value)
        if level is None:
            raise _error(f"unknown TLP level {value!r}", vpos)
        value = level
    if name == "type" and not _TYPE.fullmatch(value):
        raise _error(f"type must be a lower-case STIX type, not {value!r}", vpos)
    return Field(name, value, pos, prefix)


def _period(s: str, pos: int) -> tuple[datetime, datetime]:
    """The instants a date covers: its first, and the first after it."""
    m = _DATE.fullmatch(s)
    if m is None:
        raise _error(f"invalid date {s!r}" if s else "missing date", pos)
    y, mo, d, hh, mi, ss, frac = m.groups()
    try:
        if hh is not None:
            ms = int((frac or "0")[:3].ljust(3, "0"))
            lo = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), ms * 1000, UTC)
            return lo, lo + timedelta(milliseconds=1)
        if d is not None:
            lo = datetime(int(y), int(mo), int(d), tzinfo=UTC)
            return lo, lo + timedelta(days=1)
        if mo is not None:
            lo = datetime(int(y), int(mo), 1, tzinfo=UTC)
            return lo, datetime(int(y) + int(mo) // 12, int(mo) % 12 + 1, 1, tzinfo=UTC)
        return datetime(int(y), 1, 1, tzinfo=UTC), datetime(int(y) + 1, 1, 1, tzinfo=UTC)
    except (ValueError, OverflowError):
        raise _error(f"invalid date {s!r}", pos) from None


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date_range(name: str, value: str, pos: int, vpos: int) -> DateRange:
    start: datetime | None
    end: datetime | None
    op = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
    if op:
        lo, hi = _period(value[len(op) :], vpos + len(op))
        start, end = {">=": (lo, None), ">": (hi, None), "<=": (None, hi), "<": (None, lo)}[op]
    elif ".." in value:
        a, _, b = value.partition("..")
        if not a and not b:
            raise _error("date range needs a start or an end", vpos)
        start = _period(a, vpos)[0] if a else None
        end = _period(b, vpos + len(a) + 2)[1] if b else None
        if start is not None and end is not None and start >= end:
            raise _error("date range starts after it ends", vpos)
    else:
        start, end = _period(value, vpos)
    return DateRange(name, _iso(start), _iso(end), pos)


def _join(cls: type[And] | type[Or], parts: list[Expr]) -> Expr:
    flat: list[Expr] = []
    for p in parts:
        flat.extend(p.exprs if isinstance(p, cls) else (p,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokenise(text)
        self.i = 0
        self.depth = 0
        self.end = len(text)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Expr:
        if not self.toks:
            return MatchAll()
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
        return _join(Or, parts)

    def and_(self) -> Expr:
        parts = [self.not_()]
        while (tok := self.peek()) is not None and tok.kind in ("AND", "NOT", "TERM", "("):
            if tok.kind == "AND":
                self.take()
            parts.append(self.not_())
        return _join(And, parts)

    def not_(self) -> Expr:
        negated = False
        while (tok := self.peek()) is not None and tok.kind == "NOT":
            self.take()
            negated = not negated  # NOT NOT a is a: keeps the tree shallow
        expr = self.atom()
        if not negated:
            return expr
        return expr.expr if isinstance(expr, Not) else Not(expr)

    def atom(self) -> Expr:
        tok = self.peek()
        prev = self.toks[self.i - 1] if self.i else None
        if tok is not None and tok.node is not None:
            self.take()
            return tok.node
        if tok is not None and tok.kind == "(":
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _error(f"parentheses nested deeper than {MAX_DEPTH}", tok.pos)
            expr = self.or_()
            close = self.peek()
            if close is None or close.kind != ")":
                raise _error("unclosed '('", tok.pos)
            self.take()
            self.depth -= 1
            return expr
        if prev is not None and prev.kind in ("AND", "OR", "NOT"):
            raise _error(f"nothing after {prev.text!r}", prev.pos)
        if prev is not None and prev.kind == "(":
            if tok is None:
                raise _error("unclosed '('", prev.pos)
            if tok.kind == ")":
                raise _error("empty parentheses", prev.pos)
        if tok is None:
            raise _error("expected a search term", self.end)
        if tok.kind == ")":
            raise _error("unexpected ')'", tok.pos)
        raise _error(f"nothing before {tok.text!r}", tok.pos)


def parse(text: str) -> Expr:
    """Parse a search query; errors name the position (1-based). Empty means everything."""
    if len(text) > MAX_LENGTH:
        raise _error(f"query is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    return _Parser(text).parse()


def words(expr: Expr) -> list[Word | Phrase]:
    """The words and phrases the query looks for (none under a NOT), in query order."""
    if isinstance(expr, Word | Phrase):
        return [expr]
    if isinstance(expr, And | Or):
        return [w for e in expr.exprs for w in words(e)]
    return []
