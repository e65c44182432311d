"""What a statistic counts over: a selection (a query, narrowed to a time window and to
the item types analysts read), read through the search index as the asker may read it."""

from __future__ import annotations

from datetime import UTC, tzinfo

from kizashi.model import searchquery as sq
from kizashi.model.errors import Problem, invalid
from kizashi.services.common import Context
from kizashi.services.search import SearchService

#: What a selection holds unless its query names a type: the texts analysts write and
#: read (articles, notes), not the thousands of ATT&CK objects or identities beside them.
ITEM_TYPES = ("report", "note", "opinion")


def selection(query: str, since: str | None, until: str | None, zone: tzinfo = UTC) -> sq.Expr:
    """The query, narrowed to items published from ``since`` up to ``until`` (dates in
    the query language's forms: ``2024-05``, ``2024-05-01``, full instants; days in
    ``zone``), and to the item types (:data:`ITEM_TYPES`) unless it names a type itself."""
    expr = sq.parse(query or "", zone)
    parts: list[sq.Expr] = [] if isinstance(expr, sq.MatchAll) else [expr]
    if not _names_type(expr):
        parts.append(sq.Or(tuple(sq.Field("type", t, 0) for t in ITEM_TYPES)))
    if since or until:
        parts.append(sq.parse(f"published:{since or ''}..{until or ''}", zone))
    return parts[0] if len(parts) == 1 else sq.And(tuple(parts))


def background(query: str) -> sq.Expr:
    """What a selection's words are compared with: every item (of its types)."""
    expr = sq.parse(query or "")
    if _names_type(expr):
        return sq.MatchAll()
    return selection("", None, None)


def _names_type(expr: sq.Expr) -> bool:
    match expr:
        case sq.Field(name="type"):
            return True
        case sq.And(exprs=parts) | sq.Or(exprs=parts):
            return any(_names_type(p) for p in parts)
        case sq.Not(expr=inner):
            return _names_type(inner)
    return False


def check_limit(name: str, value: int, most: int) -> None:
    if not 1 <= value <= most:
        raise invalid(
            "%(name)s must be between 1 and %(max)s.",
            [Problem(name, str(value))],
            name=name,
            max=most,
        )


class IndexReader:
    """What each part of the analytics reads through: the store and the search index."""

    def __init__(self, ctx: Context, search: SearchService) -> None:
        self.ctx = ctx
        self.search = search
        self.index = search.index

    def ready(self) -> None:
        """Brings the index up to the store first, where searches do (tests, the CLI)."""
        if self.search.sync_on_query:
            self.search.follower.catch_up(wait=2.0)
