"""Frequent and emerging words of a selection, scored by keyness."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.search import stats
from kizashi.services.analytics.keyness import SIGNIFICANT, language_of, log_likelihood
from kizashi.services.analytics.selection import IndexReader, background, check_limit, selection
from kizashi.services.analytics.views import Driver, Emerging, TermStat, TermStats
from kizashi.services.search import access_for
from kizashi.store import search as repo

TERM_ORDERS = ("score", "count", "docs")
MAX_TERMS = 1000


class Words(IndexReader):
    def terms(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        order: str = "score",
        lang: str | None = None,
    ) -> TermStats:
        """The frequent words of a selection, with counts, documents and keyness."""
        return self.terms_in_orders(
            actor, query, since=since, until=until, limit=limit, orders=(order,), lang=lang
        )[order]

    def terms_in_orders(
        self,
        actor: Actor,
        query: str = "",
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        orders: Sequence[str] = ("score",),
        lang: str | None = None,
    ) -> dict[str, TermStats]:
        """:meth:`terms` in each of ``orders``, from one count of the index: a page that
        falls back from keyness to counts (a selection of nearly everything, where no
        word stands out) reads the index once, not twice (0.2 s a count at 100,000
        items)."""
        for order in orders:
            if order not in TERM_ORDERS:
                raise invalid(
                    "Order must be one of %(choices)s.",
                    [Problem("order", order)],
                    choices=", ".join(TERM_ORDERS),
                )
        check_limit("limit", limit, MAX_TERMS)
        expr = selection(query, since, until)
        self.ready()
        counts = stats.term_counts(
            self.index,
            expr,
            access_for(actor),
            candidates=max(500, limit * 5),
            background=background(query),
        )
        rest = counts.total - counts.selected
        out = []
        for t in counts.terms:
            term_lang = language_of(t.term)
            if lang and term_lang != lang:
                continue
            score = log_likelihood(t.docs, counts.selected, t.background - t.docs, rest)
            out.append(TermStat(t.term, term_lang, t.count, t.docs, score))
        keys: dict[str, Callable[[TermStat], tuple[Any, ...]]] = {
            "score": lambda s: (-s.score, -s.docs, s.term),
            "count": lambda s: (-s.count, -s.docs, s.term),
            "docs": lambda s: (-s.docs, -s.count, s.term),
        }
        return {
            order: TermStats(
                query,
                counts.selected,
                counts.total,
                sorted(out, key=keys[order])[:limit],
                counts.counts_exact,
            )
            for order in orders
        }

    def emerging(
        self,
        actor: Actor,
        query: str = "",
        *,
        days: int = 7,
        baseline_days: int = 28,
        limit: int = 20,
        now: datetime | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[Emerging]:
        """Words significantly more frequent in a period than in the ``baseline_days``
        before it, each with the newest articles that hold it.

        The period is the last ``days`` up to ``until`` (default: now), or from
        ``since`` to ``until`` when ``since`` is given (dates in the query language's
        forms: ``2024-05``, ``2024-05-01``, full instants)."""
        check_limit("days", days, 366)
        check_limit("baseline_days", baseline_days, 3660)
        check_limit("limit", limit, 200)
        start, now = _period(since, until, days, now or datetime.now(UTC))
        base_start = start - timedelta(days=baseline_days)
        # Half-open windows: an item published at ``start`` is in the period only.
        chosen = selection(query, None, None)
        recent_q = sq.And((chosen, _published(start, now)))
        before_q = sq.And((chosen, _published(base_start, start)))
        self.ready()
        access = access_for(actor)
        recent = stats.term_counts(
            self.index, recent_q, access, candidates=max(500, limit * 10), compare=False
        )
        before = stats.value_counts(self.index, before_q, access, "kw", size=stats.MAX_BUCKETS // 2)
        earlier = dict(before.values)
        found: list[Emerging] = []
        for t in recent.terms:
            b = earlier.get(t.term, 0)
            score = log_likelihood(t.docs, recent.selected, b, before.selected)
            if score >= SIGNIFICANT and t.docs >= 2:
                found.append(Emerging(t.term, language_of(t.term), t.docs, b, score))
        found.sort(key=lambda e: (-e.score, e.term))
        found = found[:limit]
        return [
            Emerging(e.term, e.lang, e.docs, e.before, e.score, self._drivers(actor, recent_q, e))
            for e in found
        ]

    def _drivers(self, actor: Actor, expr: sq.Expr, e: Emerging, n: int = 3) -> list[Driver]:
        keyword = sq.Field("keyword", e.term, 0)
        page = self.index.search(sq.And((expr, keyword)), access_for(actor), sort="newest", limit=n)
        with self.ctx.store.read() as conn:
            rows = repo.documents(conn, [h.pk for h in page.hits])
        return [
            Driver(rows[h.pk].id, rows[h.pk].name, rows[h.pk].published)
            for h in page.hits
            if h.pk in rows
        ]


def _period(
    since: str | None, until: str | None, days: int, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) of an emerging-terms period (see :meth:`Words.emerging`). A period
    that ends now ends at the next whole minute: pages asked for within the same minute
    ask the same question, whose answer the index keeps (search.stats.kept)."""
    if not since and not until:
        end = now.replace(second=0, microsecond=0)
        end += timedelta(minutes=1) if end != now else timedelta()
        return end - timedelta(days=days), end
    expr = sq.parse(f"published:{since or ''}..{until or ''}")
    assert isinstance(expr, sq.DateRange)
    end = _parse_instant(expr.end) if expr.end else now
    start = _parse_instant(expr.start) if expr.start else end - timedelta(days=days)
    if start >= end:
        raise invalid(
            "The period is empty: since must come before until.",
            [Problem("since", since or ""), Problem("until", until or "")],
        )
    return start, end


def _published(start: datetime, end: datetime) -> sq.DateRange:
    """Published in [start, end)."""
    return sq.DateRange("published", _instant(start), _instant(end), 0)


def _parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _instant(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
