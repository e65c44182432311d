"""Rule conditions and search queries compiled into nodes, with the search language's
meaning of each field, over one item."""

from __future__ import annotations

from datetime import datetime

from kizashi.model import rules as rm
from kizashi.model import searchquery as sq
from kizashi.text.analyse import fold
from kizashi.text.rulematch.items import Terms
from kizashi.text.rulematch.nodes import (
    AutoNode,
    Check,
    Combine,
    FuzzyNode,
    Negate,
    Node,
    RegexNode,
    Scorer,
    TermNode,
    WatchNode,
)
from kizashi.text.rulematch.terms import term

# -- the query language, over one item -----------------------------------------------------


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def compile_query(expr: sq.Expr) -> Node:
    match expr:
        case sq.MatchAll():
            return Check(lambda _t: True, None, "")
        case sq.Word(text=text):
            return TermNode(term(text))
        case sq.Phrase(text=text):
            return TermNode(term(text, phrase=True))
        case sq.Field():
            return _field(expr)
        case sq.DateRange():
            return _dates(expr)
        case sq.Not(expr=inner):
            return Negate(compile_query(inner))
        case sq.And(exprs=parts):
            return Combine([compile_query(p) for p in parts], every=True)
        case sq.Or(exprs=parts):
            return Combine([compile_query(p) for p in parts], every=False)
    raise TypeError(f"not a query: {expr!r}")  # pragma: no cover


def _field(f: sq.Field) -> Node:
    name, value, prefix = f.name, f.value, f.prefix
    label = f"{name}:{value}{'*' if prefix else ''}"

    def eq(found: str | None, wanted: str) -> bool:
        if found is None:
            return False
        return found.startswith(wanted) if prefix else found == wanted

    if name == "tag":
        return Check(lambda t: any(eq(x, value) for x in t.item.tags), None, label)
    if name == "type":
        return Check(
            lambda t: eq(t.item.type, value),
            None if prefix else frozenset({("type", value)}),
            label,
        )
    if name == "source":
        wanted = fold(value)
        return Check(
            lambda t: eq(fold(t.item.source) if t.item.source else None, wanted),
            None if prefix else frozenset({("source", wanted)}),
            label,
        )
    if name == "lang":
        return Check(lambda t: t.language == value, frozenset({("lang", value)}), label)
    if name == "tlp":
        return Check(lambda t: (t.item.tlp or "none") == value, frozenset({("tlp", value)}), label)
    if name == "id":
        return Check(lambda t: eq(t.item.id, value), None, label)
    # ioc
    from kizashi.model.observables import INDICATOR_KINDS

    kind = value.lower()
    if kind in INDICATOR_KINDS and not prefix:
        return Check(lambda t: kind in t.kinds, frozenset({("kind", kind)}), label)
    values = term(value).iocs or (fold(value),)
    if prefix:
        return Check(
            lambda t: all(any(i.startswith(v) for i in t.iocs) for v in values), None, label
        )
    return Check(lambda t: all(v in t.iocs for v in values), frozenset({("i", values[0])}), label)


def _dates(d: sq.DateRange) -> Node:
    lo, hi = _ts(d.start), _ts(d.end)

    def inside(t: Terms) -> bool:
        when = _ts(getattr(t.item, d.name)) or (
            _ts(t.item.created) if d.name == "published" else None
        )
        if when is None:
            return False
        return (lo is None or when >= lo) and (hi is None or when < hi)

    return Check(inside, None, f"{d.name}")


def compile_condition(
    cond: rm.Cond, rule: str, *, auto: tuple[Scorer, tuple[str, ...]] | None = None
) -> Node:
    match cond:
        case rm.Auto(threshold=threshold):
            scorer, tags = auto or (Scorer(), ())
            return AutoNode(threshold, tags, scorer)
        case rm.Query(expr=expr):
            return compile_query(expr)
        case rm.Words(words=words, all=every):
            return Combine([TermNode(term(w)) for w in words], every=every)
        case rm.Phrase(text=text):
            return TermNode(term(text, phrase=True))
        case rm.Regex(pattern=pattern, ignore_case=ignore_case):
            return RegexNode(pattern, ignore_case, rule)
        case rm.Fuzzy(text=text, threshold=threshold):
            return FuzzyNode(text, threshold)
        case rm.Source(names=names):
            wanted = {fold(n) for n in names}
            return Check(
                lambda t: t.item.source is not None and fold(t.item.source) in wanted,
                frozenset({("source", n) for n in wanted}),
                "source",
            )
        case rm.Language(code=code):
            return Check(lambda t: t.language == code, frozenset({("lang", code)}), f"lang:{code}")
        case rm.Indicator(kinds=kinds):
            return Check(
                lambda t: any(k in t.kinds for k in kinds),
                frozenset({("kind", k) for k in kinds}),
                "indicator:" + ",".join(kinds),
            )
        case rm.Watchlist(values=values, name=name):
            return WatchNode(values, name)
        case rm.All(conds=conds):
            return Combine([compile_condition(c, rule, auto=auto) for c in conds], every=True)
        case rm.AnyOf(conds=conds):
            return Combine([compile_condition(c, rule, auto=auto) for c in conds], every=False)
        case rm.Not(cond=inner):
            return Negate(compile_condition(inner, rule, auto=auto))
    raise TypeError(f"not a condition: {cond!r}")  # pragma: no cover
