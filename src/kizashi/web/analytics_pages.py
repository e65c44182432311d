"""Analytics in the UI: the word cloud, trends and emerging terms of a selection, and the
relation map (tags or words that occur together).

The pages render the selection form and the numbers the server already has; the word
cloud, the chart and the map are drawn by separate bundles (``charts.js``, ``graph.js``)
that only these pages load. The map fetches its graph and a node's items from the JSON
API (``/api/v1/stats/graph/…``, ``/api/v1/search``) with the browser's session.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kizashi.api.deps import get_kizashi
from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.analytics import INTERVALS, Emerging, Series, TermStats
from kizashi.web import timefmt
from kizashi.web.deps import PageActor
from kizashi.web.render import page

router = APIRouter()

CLOUD_TERMS = 120
TREND_TOP = 5
EMERGING_DAYS = (7, 14, 30)
#: Map kinds: tags on the same item, words in the same article, reports that share
#: indicators.
GRAPH_KINDS = ("tags", "words", "indicators")
GRAPH_SIZES = (50, 100, 200, 500, 1000, 2000)
#: Past this many days (weeks, months) the chart keeps only the periods with items.
MAX_PERIODS = 3660
Text = Annotated[str, Query(max_length=4000)]
Date = Annotated[str, Query(max_length=40)]


def selection_query(q: str, since: str = "", until: str = "") -> str:
    """The selection as one search query, ready for a term to be added with a space: a
    top-level OR is parenthesised (AND binds tighter), the dates become ``published:``."""
    q = q.strip()
    try:
        top_or = isinstance(sq.parse(q), sq.Or)
    except KizashiError:
        top_or = False  # shown as an error by the page; left as typed
    parts = [f"({q})" if top_or else q] if q else []
    if since or until:
        parts.append(f"published:{since}..{until}")
    return " ".join(parts)


def _number(text: str, default: int) -> int:
    """A number from a form field; what is not one (or empty) is the default."""
    try:
        return int(text)
    except ValueError:
        return default


def quoted(value: str) -> str:
    """A value for ``tag:``/``keyword:``: the query language has no escape for quotes."""
    return '"' + value.replace('"', "") + '"'


def narrowed(selection: str, field: str, value: str) -> str:
    return f"{selection} {field}:{quoted(value)}".strip()


def search_url(query: str) -> str:
    return "/search?" + urlencode({"q": query})


def _cloud(stats: TermStats, by: str, selection: str) -> list[dict[str, Any]]:
    """The words the cloud draws: weight by count or by (positive) keyness."""
    words = []
    for t in stats.terms:
        weight = float(t.count) if by == "count" else t.score
        if weight <= 0:
            continue
        words.append(
            {
                "term": t.term,
                "lang": t.lang,
                "count": t.count,
                "docs": t.docs,
                "score": round(t.score, 3),
                "weight": round(weight, 3),
                "href": search_url(narrowed(selection, "keyword", t.term)),
            }
        )
    return words


def _periods(seen: set[str], interval: str) -> list[str]:
    """Every period from the first seen to the last: a quiet day is a zero on the chart,
    not a day left out of its axis."""
    periods = sorted(seen)
    if len(periods) < 2:
        return periods
    out: list[str] = []
    if interval == "month":
        y, m = (int(part) for part in periods[0].split("-"))
        end = tuple(int(part) for part in periods[-1].split("-"))
        while (y, m) <= end and len(out) <= MAX_PERIODS:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    else:
        step = timedelta(days=7 if interval == "week" else 1)
        day, last = date.fromisoformat(periods[0]), date.fromisoformat(periods[-1])
        while day <= last and len(out) <= MAX_PERIODS:
            out.append(day.isoformat())
            day += step
    return out if len(out) <= MAX_PERIODS else periods


def _described(chart: dict[str, Any]) -> dict[str, Any] | None:
    """What a screen reader is told of the trend chart (its aria-label): the periods it
    covers, how many lines, and the selection's peak; ECharts' own description read every
    point's index and value (hundreds of characters)."""
    periods, series = chart["periods"], chart["series"]
    if not periods or not series:
        return None
    counts = series[0]["counts"]
    peak = max(range(len(counts)), key=lambda i: (counts[i], -i))
    return {
        "first": periods[0],
        "last": periods[-1],
        "lines": len(series),
        "peak": counts[peak],
        "when": periods[peak],
    }


def _chart(series: list[Series], interval: str) -> dict[str, Any]:
    periods = _periods({t for s in series for t, _ in s.points}, interval)
    out = []
    for s in series:
        counts = dict(s.points)
        out.append({"name": s.name, "counts": [counts.get(p, 0) for p in periods]})
    return {"periods": periods, "series": out}


def _words(
    kz: Kizashi, actor: Actor, q: str, since: str, until: str, by: str, selection: str
) -> tuple[TermStats, str, list[dict[str, Any]]]:
    """The selection's words and how the cloud sizes them. Unless the user chose, by
    keyness; but keyness compares the selection with every item, so where the selection
    is (nearly) everything no word stands out and the cloud falls back to counts."""
    chosen = by if by in ("count", "score") else ""
    orders = (chosen,) if chosen else ("score", "count")
    found = kz.analytics.terms_in_orders(
        actor, q, since=since or None, until=until or None, limit=CLOUD_TERMS, orders=orders
    )
    order, cloud = orders[0], _cloud(found[orders[0]], orders[0], selection)
    if not cloud and len(orders) > 1:
        order = orders[1]
        cloud = _cloud(found[order], order, selection)
    return found[order], order, cloud


@router.get("/analytics")
def analytics_page(
    request: Request,
    actor: PageActor,
    q: Text = "",
    since: Date = "",
    until: Date = "",
    by: str = "",
    interval: str = "",
    days: str = "7",
) -> Response:
    """Word cloud, trends and emerging terms of a selection."""
    kz = get_kizashi(request)
    asked = interval if interval in INTERVALS else ""
    interval = asked or "day"
    period = _number(days, EMERGING_DAYS[0])
    period = period if period in EMERGING_DAYS else EMERGING_DAYS[0]
    selection = selection_query(q, since, until)
    error: KizashiError | None = None
    terms: TermStats | None = None
    series: list[Series] = []
    emerging: list[Emerging] = []
    cloud: list[dict[str, Any]] = []
    try:
        terms, by, cloud = _words(kz, actor, q, since, until, by, selection)
        # Unless the user chose, the interval fits the days the selection spans.
        interval, series = kz.analytics.fitted_trends(
            actor,
            query=q,
            since=since or None,
            until=until or None,
            interval=asked or None,
            top=TREND_TOP,
            zone=timefmt.zone_for(request, actor),
        )
        emerging = kz.analytics.emerging(
            actor,
            q,
            days=period,
            limit=20,
            now=kz.ctx.clock(),
            since=since or None,
            until=until or None,
        )
    except KizashiError as exc:
        error = exc
    chart = _chart(series, interval)
    return page(
        request,
        "analytics.html",
        actor=actor,
        q=q,
        since=since,
        until=until,
        by=by,
        interval=interval,
        asked_interval=asked,
        days=period,
        days_choices=EMERGING_DAYS,
        intervals=INTERVALS,
        selection=selection,
        terms=terms,
        cloud=cloud,
        chart=chart,
        chart_described=_described(chart),
        emerging=emerging,
        # The search of an emerging term covers the period the term was found in.
        emerging_url=lambda term: search_url(
            narrowed(selection_query(q, since, until), "keyword", term)
            if since
            else narrowed(selection_query(q), "keyword", term)
        ),
        graph_url=lambda kind: (
            "/graph?" + urlencode({"kind": kind, "q": q, "since": since, "until": until})
        ),
        error=error,
    )


@router.get("/graph")
def graph_page(
    request: Request,
    actor: PageActor,
    kind: str = "tags",
    q: Text = "",
    since: Date = "",
    until: Date = "",
    size: str = "100",
    min_count: str = "",
    namespace: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The relation map: tags (or words) as nodes, joined when they occur together; or
    reports as nodes, joined when they share indicators."""
    kind = kind if kind in GRAPH_KINDS else "tags"
    nodes = min(max(_number(size, 100), 1), GRAPH_SIZES[-1])
    least = max(_number(min_count, 0), 0)
    params: list[tuple[str, str]] = [("q", q), ("size", str(nodes))]
    if since:
        params.append(("since", since))
    if until:
        params.append(("until", until))
    if least:
        params.append(("min_shared" if kind == "indicators" else "min_count", str(least)))
    namespaces = [n.strip() for n in namespace.split(",") if n.strip()] if kind == "tags" else []
    params.extend(("namespace", n) for n in namespaces)
    return page(
        request,
        "graph.html",
        actor=actor,
        kind=kind,
        q=q,
        since=since,
        until=until,
        size=nodes,
        sizes=GRAPH_SIZES if nodes in GRAPH_SIZES else sorted({*GRAPH_SIZES, nodes}),
        min_count=least,
        namespace=", ".join(namespaces),
        api_url=f"/api/v1/stats/graph/{kind}?" + urlencode(params),
        base_query=selection_query(q),
        selection=selection_query(q, since, until),
        analytics_url="/analytics?" + urlencode({"q": q, "since": since, "until": until}),
    )
