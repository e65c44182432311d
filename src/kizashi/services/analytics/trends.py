"""Trends: items per day, week or month, for the selection and for each of its commonest
tags, sources, words or indicator kinds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.search import stats
from kizashi.services.analytics.selection import IndexReader, check_limit, selection
from kizashi.services.analytics.views import Series
from kizashi.services.search import access_for

INTERVALS = ("day", "week", "month")
#: What a trend can follow: the index field counted, and the query field that selects one
#: of its values.
TREND_FIELDS = {
    "tag": ("tag", "tag"),
    "source": ("source", "source"),
    "term": ("kw", "keyword"),
    "ioc_kind": ("ioc_kind", "ioc"),
}


class Trends(IndexReader):
    def trends(
        self,
        actor: Actor,
        *,
        by: str = "tag",
        values: Sequence[str] = (),
        query: str = "",
        since: str | None = None,
        until: str | None = None,
        interval: str = "day",
        top: int = 5,
    ) -> list[Series]:
        """Items per ``interval`` for each value of ``by`` (the ``top`` commonest over
        the selection unless ``values`` names them), and for the selection itself."""
        if by not in TREND_FIELDS:
            raise invalid(f"By must be one of {', '.join(TREND_FIELDS)}.", [Problem("by", by)])
        if interval not in INTERVALS:
            raise invalid(
                f"Interval must be one of {', '.join(INTERVALS)}.",
                [Problem("interval", interval)],
            )
        check_limit("top", top, 50)
        expr = selection(query, since, until)
        self.ready()
        access = access_for(actor)
        field_name, query_field = TREND_FIELDS[by]
        if not values:
            values = [
                v
                for v, _ in stats.value_counts(
                    self.index, expr, access, field_name, size=top
                ).values
            ]
        out = [Series("all", self._series(expr, access, interval))]
        for value in values[:50]:
            one = sq.And((expr, sq.Field(query_field, value, 0)))
            out.append(Series(value, self._series(one, access, interval)))
        return out

    def _series(self, expr: sq.Expr, access: Any, interval: str) -> list[tuple[str, int]]:
        if interval == "month":
            return [
                (f"{key // 12:04d}-{key % 12 + 1:02d}", n)
                for key, n in stats.histogram(self.index, expr, access, interval="month")
            ]
        daily = stats.histogram(self.index, expr, access, interval="day")
        if interval == "day":
            return [(_day(ms).isoformat(), n) for ms, n in daily]
        weeks: dict[str, int] = defaultdict(int)
        for ms, n in daily:
            d = _day(ms)
            monday = d - timedelta(days=d.weekday())
            weeks[monday.isoformat()] += n
        return sorted(weeks.items())


def _day(ms: int) -> Any:
    return datetime.fromtimestamp(ms / 1000, UTC).date()
