"""Full-text search queries: ``tag:ransomware 攻撃 NOT tag:tlp:red published:>=2024-01``.

A bare word is any run of non-space characters (Japanese needs no spaces); only
whitespace, ``(`` and ``)`` end it, so indicators stay whole (``hxxp://evil[.]com/a``,
``evil(.)com``: a ``(.)`` or ``(dot)`` inside a word belongs to it). ``"a phrase"``
is matched exactly (also ``“…”`` and ``＂…＂``). ``AND``/``&&``, ``OR``/``||`` and
``NOT`` (upper case) or a leading ``-`` combine terms; adjacent terms are joined by
AND; ``NOT`` binds tightest, then ``AND``, then ``OR``; parentheses group (the grammar
is :mod:`kizashi.model.boolean`'s, shared with the tag filter).
``name:value`` filters a field (``tag:tlp:*`` is a prefix, ``tag:"APT 28"`` quoted);
the date fields take ``>=2024-01-01``, ``<2025``, ``2024-01..2024-06`` or ``2024-03``;
``keyword:サプライチェーン攻撃`` is a keyword as term statistics count it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial

from kizashi.model import tlp
from kizashi.model.boolean import OPERATORS, Parser, Token, tokenise
from kizashi.model.errors import KizashiError, Problem, Text, invalid
from kizashi.model.width import fold_width

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

_KEYWORDS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}
_QUOTES = '"“”＂'
_QUOTE = re.compile("[" + _QUOTES + "]")
_FIELD = re.compile(r"([A-Za-z]+):")
_DEFANG = re.compile(r"\((?:\.|dot)\)", re.IGNORECASE)
_TYPE = re.compile(r"[a-z0-9-]+")
_DATE = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z)?)?)?)?"
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


def _error(reason: Text, pos: int) -> KizashiError:
    """The query's error: ``reason`` at a (0-based) position, which the message gives
    1-based and ``extra["position"]`` 0-based (where a page marks it in the box)."""
    exc = invalid(
        "Search query: %(reason)s at position %(position)s.",
        [Problem.of("q", reason)],
        reason=reason,
        position=pos + 1,
    )
    exc.extra["position"] = pos
    return exc


def _close_quote(text: str, i: int) -> int:
    m = _QUOTE.search(text, i + 1)
    if m is None:
        raise _error(Text("unclosed quote"), i)
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


def _read(text: str, i: int, zone: tzinfo = UTC) -> tuple[Token, int]:
    """A phrase, or what :func:`_term` reads."""
    if text[i] in _QUOTES:
        end = _close_quote(text, i)
        if not text[i + 1 : end].strip():
            raise _error(Text("empty phrase"), i)
        return Token("TERM", text[i : end + 1], i, Phrase(text[i + 1 : end], i)), end + 1
    return _term(text, i, zone)


def _term(text: str, i: int, zone: tzinfo) -> tuple[Token, int]:
    """The word, operator or field filter starting at ``i``, and where it ends."""
    m = _FIELD.match(text, i)
    name = m.group(1).lower() if m else ""
    if m and name in FIELDS and m.end() < len(text) and text[m.end()] in _QUOTES:
        end = _close_quote(text, m.end())
        value = text[m.end() + 1 : end]
        star = end + 1 < len(text) and text[end + 1] == "*"
        node = _field(name, value, i, m.end() + 1, star, zone)
        return Token("TERM", text[i : end + 1 + star], i, node), end + 1 + star
    end = _word_end(text, i)
    word = text[i:end]
    if word in _KEYWORDS:
        return Token(_KEYWORDS[word], word, i), end
    if m and name in FIELDS:
        value = word[m.end() - i :]
        star = value.endswith("*")
        node = _field(name, value[:-1] if star else value, i, m.end(), star, zone)
        return Token("TERM", word, i, node), end
    return Token("TERM", word, i, Word(word, i)), end


def _field(name: str, value: str, pos: int, vpos: int, prefix: bool, zone: tzinfo) -> Expr:
    if not value.strip():
        raise _error(Text("empty value for %(field)s:", {"field": name}), vpos)
    if prefix and name not in PREFIX_FIELDS:
        raise _error(Text("%(field)s: does not take a '*' prefix", {"field": name}), vpos)
    if name in DATE_FIELDS:
        return _date_range(name, value, pos, vpos, zone)
    if name == "lang" and value not in LANGS:
        raise _error(Text("lang must be ja, en or mixed, not %(value)r", {"value": value}), vpos)
    if name == "tlp":
        level = tlp.normalise(value)
        if level is None:
            raise _error(Text("unknown TLP level %(value)r", {"value": value}), vpos)
        value = level
    if name == "type" and not _TYPE.fullmatch(value):
        raise _error(
            Text("type must be a lower-case STIX type, not %(value)r", {"value": value}), vpos
        )
    return Field(name, value, pos, prefix)


def _period(s: str, pos: int, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The instants a date covers: its first, and the first after it. A day, month or
    year (or a time without ``Z``) is read in ``zone``, the asker's; ``…Z`` is UTC."""
    m = _DATE.fullmatch(s)
    if m is None:
        raise _error(
            Text("invalid date %(value)r", {"value": s}) if s else Text("missing date"), pos
        )
    y, mo, d, hh, mi, ss, frac, z = m.groups()
    try:
        if hh is not None:
            ms = int((frac or "0")[:3].ljust(3, "0"))
            at = UTC if z else zone
            lo = datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss), ms * 1000, at)
            return _utc(lo), _utc(lo) + timedelta(milliseconds=1)
        if d is not None:
            first = date(int(y), int(mo), int(d))
            after = first + timedelta(days=1)
        elif mo is not None:
            first = date(int(y), int(mo), 1)
            after = date(int(y) + int(mo) // 12, int(mo) % 12 + 1, 1)
        else:
            first, after = date(int(y), 1, 1), date(int(y) + 1, 1, 1)
        return _midnight(first, zone), _midnight(after, zone)
    except (ValueError, OverflowError):
        raise _error(Text("invalid date %(value)r", {"value": s}), pos) from None


def _midnight(day: date, zone: tzinfo) -> datetime:
    return _utc(datetime(day.year, day.month, day.day, tzinfo=zone))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date_range(name: str, value: str, pos: int, vpos: int, zone: tzinfo) -> DateRange:
    start: datetime | None
    end: datetime | None
    op = next((op for op in (">=", "<=", ">", "<") if value.startswith(op)), "")
    if op:
        lo, hi = _period(value[len(op) :], vpos + len(op), zone)
        start, end = {">=": (lo, None), ">": (hi, None), "<=": (None, hi), "<": (None, lo)}[op]
    elif ".." in value:
        a, _, b = value.partition("..")
        if not a and not b:
            raise _error(Text("date range needs a start or an end"), vpos)
        start = _period(a, vpos, zone)[0] if a else None
        end = _period(b, vpos + len(a) + 2, zone)[1] if b else None
        if start is not None and end is not None and start >= end:
            raise _error(Text("date range starts after it ends"), vpos)
    else:
        start, end = _period(value, vpos, zone)
    return DateRange(name, _iso(start), _iso(end), pos)


def _join(cls: type[And] | type[Or], parts: Sequence[Expr]) -> Expr:
    flat: list[Expr] = []
    for p in parts:
        flat.extend(p.exprs if isinstance(p, cls) else (p,))
    return flat[0] if len(flat) == 1 else cls(tuple(flat))


class _Search:
    """The search query's trees (nested ANDs and ORs flattened, NOT NOT dropped) and
    errors (named by the operator or parenthesis they concern)."""

    def all_of(self, parts: Sequence[Expr]) -> Expr:
        return _join(And, parts)

    def any_of(self, parts: Sequence[Expr]) -> Expr:
        return _join(Or, parts)

    def negate(self, expr: Expr) -> Expr:
        return expr.expr if isinstance(expr, Not) else Not(expr)  # keeps the tree shallow

    def empty(self) -> Expr:
        return MatchAll()

    def error(self, reason: Text, pos: int) -> KizashiError:
        return _error(reason, pos)

    def unclosed(self, opened: Token, _found: Token | None, _end: int) -> KizashiError:
        return _error(Text("unclosed '('"), opened.pos)

    def missing(self, found: Token | None, before: Token | None, end: int) -> KizashiError:
        if before is not None and before.kind in OPERATORS:
            return _error(Text("nothing after %(token)r", {"token": before.text}), before.pos)
        if before is not None and before.kind == "(":
            if found is None:
                return _error(Text("unclosed '('"), before.pos)
            if found.kind == ")":
                return _error(Text("empty parentheses"), before.pos)
        if found is None:
            return _error(Text("expected a search term"), end)
        if found.kind == ")":
            return _error(Text("unexpected ')'"), found.pos)
        return _error(Text("nothing before %(token)r", {"token": found.text}), found.pos)


def parse(text: str, zone: tzinfo = UTC) -> Expr:
    """Parse a search query; errors name the position (1-based). Empty means everything.
    Dates are days in ``zone`` (the asker's; the API's default is UTC)."""
    if len(text) > MAX_LENGTH:
        raise _error(Text("query is longer than %(n)s characters", {"n": MAX_LENGTH}), MAX_LENGTH)
    text = fold_width(text)  # ｔａｇ：ＡＰＴ４１ is tag:APT41
    read = partial(_read, zone=zone)
    return Parser(tokenise(text, read, dash_not=True), len(text), _Search()).parse()


def also_tagged(expr: Expr, tags: dict[str, str]) -> Expr:
    """``expr`` where each word (outside a NOT) that ``tags`` maps to a tag name also
    matches the items carrying that tag: ``ランサムウェア`` finds the reports tagged
    ランサムウェア as well as those that say it (the tag part scores nothing, so they rank
    below text matches)."""
    match expr:
        case Word(text=text, pos=pos) if text in tags:
            return Or((expr, Field("tag", tags[text], pos)))
        case And(exprs=parts):
            return And(tuple(also_tagged(p, tags) for p in parts))
        case Or(exprs=parts):
            return _join(Or, [also_tagged(p, tags) for p in parts])
    return expr


def words(expr: Expr) -> list[Word | Phrase]:
    """The words and phrases the query looks for (none under a NOT), in query order."""
    if isinstance(expr, Word | Phrase):
        return [expr]
    if isinstance(expr, And | Or):
        return [w for e in expr.exprs for w in words(e)]
    return []
