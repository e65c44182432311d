"""Trends: items per day, week or month, for the selection and for each of its commonest
tags, sources, words or indicator kinds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model import tlp as tlp_model
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


#: Days a selection spans beyond which a fitted trend is drawn per week, then per month
#: (UX finding 14: five weeks per day zig-zag between 0 and 1).
WEEKLY_AFTER_DAYS = 31
MONTHLY_AFTER_DAYS = 730


def fitted_interval(days: Sequence[date]) -> str:
    """The interval that suits the days a trend spans."""
    if len(days) < 2:
        return "day"
    span = (max(days) - min(days)).days
    return "month" if span > MONTHLY_AFTER_DAYS else "week" if span > WEEKLY_AFTER_DAYS else "day"


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
        zone: tzinfo = UTC,
    ) -> list[Series]:
        """Items per ``interval`` for each value of ``by`` (the ``top`` commonest over
        the selection unless ``values`` names them), and for the selection itself. Days,
        weeks and months are those of ``zone`` (the asker's; UTC by default), so an item
        published at 23:30 in Tokyo counts on its Tokyo day."""
        return self.fitted_trends(
            actor,
            by=by,
            values=values,
            query=query,
            since=since,
            until=until,
            interval=interval,
            top=top,
            zone=zone,
        )[1]

    def fitted_trends(
        self,
        actor: Actor,
        *,
        by: str = "tag",
        values: Sequence[str] = (),
        query: str = "",
        since: str | None = None,
        until: str | None = None,
        interval: str | None = None,
        top: int = 5,
        zone: tzinfo = UTC,
    ) -> tuple[str, list[Series]]:
        """:meth:`trends`, and the interval they are counted in: ``interval``, or where
        it is None the one that suits the days the selection spans
        (:func:`fitted_interval`), chosen from the selection's own counts per day,
        which the series are then grouped from (one count, not two)."""
        if by not in TREND_FIELDS:
            raise invalid(
                "By must be one of %(choices)s.",
                [Problem("by", by)],
                choices=", ".join(TREND_FIELDS),
            )
        if interval is not None and interval not in INTERVALS:
            raise invalid(
                "Interval must be one of %(choices)s.",
                [Problem("interval", interval)],
                choices=", ".join(INTERVALS),
            )
        check_limit("top", top, 50)
        expr = selection(query, since, until, zone)
        self.ready()
        access = access_for(actor)
        field_name, query_field = TREND_FIELDS[by]
        if not values:
            # TLP tags mark nearly everything and say nothing of what it is about: not
            # a trend of their own unless asked for by name (UX finding 13).
            marking = by == "tag"
            extra = len(tlp_model.LEVELS) + 1 if marking else 0
            found = stats.value_counts(self.index, expr, access, field_name, size=top + extra)
            values = [v for v, _ in found.values if not (marking and v.startswith("tlp:"))][:top]
        everything = self._days(expr, access, zone)
        chosen = interval or fitted_interval(list(everything))
        out = [Series("all", _grouped(everything, chosen))]
        for value in values[:50]:
            one = sq.And((expr, sq.Field(query_field, value, 0)))
            out.append(Series(value, _grouped(self._days(one, access, zone), chosen)))
        return chosen, out

    def _days(self, expr: sq.Expr, access: Any, zone: tzinfo) -> dict[date, int]:
        """Items per day of ``zone`` (kept with the index's state, as the counts are)."""
        return stats.kept(
            self.index,
            ("trend_days", expr, access, zone),
            lambda: self._count_days(expr, access, zone),
        )

    def _count_days(self, expr: sq.Expr, access: Any, zone: tzinfo) -> dict[date, int]:
        offsets = _offsets(zone)
        if len(offsets) == 1:  # no summer time: a day is 24 hours from local midnight
            (offset,) = offsets
            buckets = stats.histogram(self.index, expr, access, interval="day", offset=-offset)
        else:  # hours, each put on its local day (a day of 23 or 25 hours stays whole)
            minutes = timedelta(minutes=int(next(iter(offsets)).total_seconds() // 60) % 60)
            buckets = stats.histogram(self.index, expr, access, interval="hour", offset=-minutes)
        days: dict[date, int] = defaultdict(int)
        for ms, n in buckets:
            days[datetime.fromtimestamp(ms / 1000, zone).date()] += n
        return dict(days)


def _grouped(days: dict[date, int], interval: str) -> list[tuple[str, int]]:
    """Per-day counts as (period, count): the day, the Monday of its week, or its month."""
    grouped: dict[str, int] = defaultdict(int)
    for d, n in days.items():
        if interval == "day":
            key = d.isoformat()
        elif interval == "week":
            key = (d - timedelta(days=d.weekday())).isoformat()
        else:
            key = f"{d.year:04d}-{d.month:02d}"
        grouped[key] += n
    return sorted(grouped.items())


def _offsets(zone: tzinfo) -> set[timedelta]:
    """The UTC offsets ``zone`` has had this year (one where there is no summer time)."""
    year = datetime.now(UTC).year
    return {
        datetime(year, month, 1, 12, tzinfo=UTC).astimezone(zone).utcoffset() or timedelta()
        for month in (1, 4, 7, 10)
    }
