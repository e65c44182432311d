"""``/api/v1/stats``: frequent and emerging words, co-occurrence graphs, trends (JSON).

Every statistic takes a selection: ``q`` in the search language, and ``since`` /
``until`` publication dates; it counts only what the caller may read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kizashi.api.deps import ActorDep, KizashiDep, TimeZone
from kizashi.api.schemas import ErrorOut
from kizashi.model import preferences

router = APIRouter(
    prefix="/stats",
    tags=["stats"],
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

Q = Annotated[str, Query(max_length=4000, description="The selection, in the search language.")]
Date = Annotated[
    str | None,
    Query(
        max_length=40, description="A publication date: 2024, 2024-05, 2024-05-01, or an instant."
    ),
]


@router.get("/terms")
def terms(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    order: Annotated[str, Query(pattern="^(score|count|docs)$")] = "score",
    lang: Annotated[str | None, Query(pattern="^(ja|en)$")] = None,
) -> dict[str, Any]:
    """Frequent words with ``count`` (occurrences), ``docs`` (items holding them) and
    ``score`` (signed log-likelihood keyness against every item the caller may read)."""
    result = kz.analytics.terms(
        actor, q, since=since, until=until, limit=limit, order=order, lang=lang
    )
    return result.as_dict()


@router.get("/cloud.png", response_class=Response)
def cloud_png(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    by: Annotated[str, Query(pattern="^(count|score)$")] = "count",
    limit: Annotated[int, Query(ge=1, le=500)] = 150,
    width: Annotated[int, Query(ge=100, le=4000)] = 1200,
    height: Annotated[int, Query(ge=100, le=4000)] = 800,
) -> Response:
    """The selection's frequent words as a PNG word cloud (for reports), sized by
    ``count`` or keyness ``score``, Japanese drawn with a font shipped in the package."""
    from kizashi.services.cloud import render_png

    order = "count" if by == "count" else "score"
    result = kz.analytics.terms(actor, q, since=since, until=until, limit=limit, order=order)
    png = render_png(result.terms, by=by, width=width, height=height)
    return Response(png, media_type="image/png")


@router.get("/emerging")
def emerging(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    baseline_days: Annotated[int, Query(ge=1, le=3660)] = 28,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    since: Date = None,
    until: Date = None,
) -> list[dict[str, Any]]:
    """Words significantly more frequent in a period than in the ``baseline_days``
    before it, each with the newest articles that hold it. The period is the last
    ``days`` up to ``until`` (default now), or ``since`` to ``until``."""
    found = kz.analytics.emerging(
        actor,
        q,
        days=days,
        baseline_days=baseline_days,
        limit=limit,
        since=since,
        until=until,
    )
    return [e.as_dict() for e in found]


@router.get("/graph/tags")
def tag_graph(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    namespace: Annotated[list[str] | None, Query(max_length=50)] = None,
    min_count: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> dict[str, Any]:
    """Tags as nodes, joined when they occur on the same item; each edge carries its
    count, positive PMI and Jaccard index."""
    graph = kz.analytics.tag_graph(
        actor,
        q,
        since=since,
        until=until,
        namespaces=namespace or (),
        min_count=min_count,
        size=size,
    )
    return graph.as_dict()


@router.get("/graph/words")
def word_graph(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    min_count: Annotated[int, Query(ge=1)] = 2,
    size: Annotated[int, Query(ge=1, le=2000)] = 100,
) -> dict[str, Any]:
    """Words as nodes, joined when they occur in the same article."""
    graph = kz.analytics.word_graph(
        actor, q, since=since, until=until, min_count=min_count, size=size
    )
    return graph.as_dict()


@router.get("/graph/indicators")
def indicator_graph(
    kz: KizashiDep,
    actor: ActorDep,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    min_shared: Annotated[int, Query(ge=1, le=1000)] = 1,
    size: Annotated[int, Query(ge=1, le=2000)] = 300,
    around: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Reports (the newest ``size`` of the selection) joined by the indicators they
    share; ``hubs`` lists values too common to join anything. ``around`` (a report's
    id) keeps that report and those sharing an indicator with it."""
    graph = kz.analytics.indicator_graph(
        actor, q, since=since, until=until, size=size, min_shared=min_shared, around=around
    )
    return graph.as_dict()


@router.get("/trends")
def trends(
    kz: KizashiDep,
    actor: ActorDep,
    by: Annotated[str, Query(pattern="^(tag|source|term|ioc_kind)$")] = "tag",
    value: Annotated[list[str] | None, Query(max_length=50)] = None,
    q: Q = "",
    since: Date = None,
    until: Date = None,
    interval: Annotated[str, Query(pattern="^(day|week|month)$")] = "day",
    top: Annotated[int, Query(ge=1, le=50)] = 5,
    tz: TimeZone = "UTC",
) -> list[dict[str, Any]]:
    """Items per day, week (from Monday) or month: one series for the selection
    (``all``) and one per value of ``by`` (the ``top`` commonest unless named). Days are
    those of ``tz`` (an IANA zone; UTC unless named), as are the query's dates."""
    series = kz.analytics.trends(
        actor,
        by=by,
        values=value or (),
        query=q,
        since=since,
        until=until,
        interval=interval,
        top=top,
        zone=preferences.zone(tz),
    )
    return [s.as_dict() for s in series]
