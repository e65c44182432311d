"""The home dashboard: what arrived, what is rising, what is tagged, what is failing.

Each widget is one read: an aggregation over the search index (so counts follow TLP as
searches do: nothing the asker may not read is counted), one query on the objects, or
one on the feeds table. "New" means created (the STIX ``created`` time, which for feed
articles and anything entered is when it was stored), not published; observables have
no ``created`` and are listed by the order they were stored instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.stix import OBSERVABLE_TYPES, format_timestamp
from kizashi.search import stats
from kizashi.search.compile import Access
from kizashi.services.analytics import AnalyticsService, Emerging
from kizashi.services.common import Context
from kizashi.services.objects import ObjectService
from kizashi.services.search import SearchService, access_for
from kizashi.store import feeds as feed_repo
from kizashi.store import users as user_repo

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
#: What "recent indicators" lists: extracted or entered values, CVEs, STIX indicators.
INDICATOR_TYPES = tuple(sorted(OBSERVABLE_TYPES | {"indicator", "vulnerability"}))
#: TLP is on nearly everything and says nothing about what is going on.
HIDDEN_TAG_PREFIX = "tlp:"


@dataclass(frozen=True)
class NewItems:
    day: int
    week: int
    #: The week's items per STIX type, commonest first.
    by_type: list[tuple[str, int]]
    #: Where the two windows start (STIX timestamps, for links to the search).
    day_start: str = ""
    week_start: str = ""


@dataclass(frozen=True)
class FeedProblem:
    id: int
    title: str
    error: str
    failures: int
    last_polled_at: str | None
    #: What kind of failure (kizashi.ingest.feeds.FeedView.last_error_kind), if known.
    kind: str | None = None


@dataclass(frozen=True)
class Feeds:
    count: int
    stored: int
    failing: list[FeedProblem]


@dataclass(frozen=True)
class RecentIndicator:
    id: str
    type: str
    value: str
    seen: str | None


@dataclass(frozen=True)
class Dashboard:
    now: str
    new_items: NewItems
    emerging: list[Emerging]
    #: Tags on the week's new items (TLP left out), commonest first.
    top_tags: list[tuple[str, int]]
    feeds: Feeds
    indicators: list[RecentIndicator] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "new_items": {
                "day": self.new_items.day,
                "week": self.new_items.week,
                "by_type": [{"type": t, "count": n} for t, n in self.new_items.by_type],
                "day_start": self.new_items.day_start,
                "week_start": self.new_items.week_start,
            },
            "emerging": [e.as_dict() for e in self.emerging],
            "top_tags": [{"tag": t, "count": n} for t, n in self.top_tags],
            "feeds": {
                "count": self.feeds.count,
                "stored": self.feeds.stored,
                "failing": [f.__dict__ for f in self.feeds.failing],
            },
            "indicators": [i.__dict__ for i in self.indicators],
        }


def _since(moment: datetime) -> sq.Expr:
    return sq.DateRange("created", format_timestamp(moment), None, 0)


def _nanos(moment: datetime) -> float:
    """An instant as tantivy's range aggregation reads a date field: nanoseconds."""
    return moment.timestamp() * 1e9


class DashboardService:
    def __init__(
        self,
        ctx: Context,
        search: SearchService,
        analytics: AnalyticsService,
        objects: ObjectService,
    ) -> None:
        self.ctx = ctx
        self.search = search
        self.analytics = analytics
        self.objects = objects
        self.index = search.index

    def build(
        self,
        actor: Actor,
        *,
        emerging: int = 8,
        tags: int = 20,
        indicators: int = 10,
    ) -> Dashboard:
        """Every widget of the home page for ``actor``."""
        now = self.ctx.clock()
        if self.search.sync_on_query:
            self.search.follower.catch_up(wait=2.0)
        access = access_for(actor)
        return Dashboard(
            now=format_timestamp(now),
            new_items=self.new_items(access, now),
            emerging=self.analytics.emerging(actor, days=7, limit=emerging, now=now),
            top_tags=self.top_tags(access, now, tags),
            feeds=self.feeds(),
            indicators=self.recent_indicators(actor, indicators),
        )

    def new_items(self, access: Access, now: datetime) -> NewItems:
        """Items created in the last 24 hours and 7 days (one aggregation: the week's
        items, split at 24 hours, and counted per type). Relationships and the identities
        of user accounts are not new intelligence: adding a user is not counted."""
        with self.ctx.store.read() as conn:
            accounts = sorted(user_repo.identity_ids(conn))
        internal: list[sq.Expr] = [sq.Field("type", "relationship", 0)]
        internal += [sq.Field("id", i, 0) for i in accounts]
        window = sq.And((_since(now - WEEK), sq.Not(sq.Or(tuple(internal)))))
        query = self.index.compiler.variant(match_only=True).query(window, access)
        aggs: dict[str, Any] = {
            # Ranges must not overlap: the week is the sum of both.
            "split": {
                "range": {
                    "field": "created",
                    "ranges": [
                        {"to": _nanos(now - DAY)},
                        {"from": _nanos(now - DAY)},
                    ],
                }
            },
            "types": {"terms": {"field": "type", "size": 12}},
        }
        result = self.index.searcher().aggregate(query, aggs)
        buckets = result["split"]["buckets"]
        day = sum(int(b["doc_count"]) for b in buckets if "from" in b)
        week = sum(int(b["doc_count"]) for b in buckets)
        by_type = [(str(b["key"]), int(b["doc_count"])) for b in result["types"]["buckets"]]
        start_day, start_week = format_timestamp(now - DAY), format_timestamp(now - WEEK)
        return NewItems(day, week, by_type, start_day, start_week)

    def top_tags(self, access: Access, now: datetime, limit: int) -> list[tuple[str, int]]:
        """The commonest tags on the week's new items, TLP left out."""
        found = stats.value_counts(self.index, _since(now - WEEK), access, "tag", size=limit + 8)
        return [(t, n) for t, n in found.values if not t.startswith(HIDDEN_TAG_PREFIX)][:limit]

    def feeds(self) -> Feeds:
        """How many feeds, what they stored, and the enabled ones whose last poll failed."""
        with self.ctx.store.read() as conn:
            rows = feed_repo.list_all(conn)
        failing = [
            FeedProblem(
                r.pk,
                r.title,
                r.last_error,
                r.consecutive_failures,
                r.last_polled_at,
                r.last_error_kind,
            )
            for r in rows
            if r.enabled and r.last_error
        ]
        failing.sort(key=lambda f: (-f.failures, f.title))
        return Feeds(len(rows), sum(r.items_stored for r in rows), failing)

    def recent_indicators(self, actor: Actor, limit: int) -> list[RecentIndicator]:
        """The indicators and observables stored last (one query, newest first).

        From the store rather than the index: observables have no ``created`` time to
        sort by. The list holds only what the actor may read.
        """
        page = self.objects.list(actor, types=INDICATOR_TYPES, limit=limit)
        return [RecentIndicator(o.id, o.type, o.name, o.updated_at) for o in page.items]
