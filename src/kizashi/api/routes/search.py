"""``/api/v1/search``: full-text and tag search, saved searches, and the index's state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from kizashi.api.deps import ActorDep, KizashiDep, TimeZone
from kizashi.api.schemas import ErrorOut
from kizashi.model import preferences

router = APIRouter(tags=["search"], responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})

QueryParam = Annotated[
    str,
    Query(
        max_length=4000,
        description=(
            'Words, "phrases", AND / OR / NOT, parentheses, and tag: type: source: lang: '
            "tlp: ioc: id: published: created: modified: filters "
            "(published:>=2024-01-01, published:2024-01..2024-06)."
        ),
    ),
]


class SavedIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(max_length=4000)
    sort: str = "relevance"


@router.get("/search")
def search(
    kz: KizashiDep,
    actor: ActorDep,
    q: QueryParam = "",
    sort: Annotated[str, Query(pattern="^(relevance|newest)$")] = "relevance",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    facets: bool = False,
    tz: TimeZone = "UTC",
) -> dict[str, Any]:
    """Ranked results with marked snippets; ``next_cursor`` fetches the next page and
    ``facets=true`` adds counts per type, tag, source, language, TLP and date."""
    result = kz.search.search(
        actor,
        q,
        sort=sort,
        limit=limit,
        cursor=cursor,
        facets=facets,
        zone=preferences.zone(tz),
    )
    return result.as_dict()


@router.get("/search/status")
def status(kz: KizashiDep, actor: ActorDep) -> dict[str, Any]:
    """How many documents the index holds and how far behind the database it is."""
    actor.require_admin()
    return kz.search.status()


@router.post("/search/reindex", status_code=202)
def reindex(kz: KizashiDep, actor: ActorDep) -> dict[str, Any]:
    """Rebuild the index from the database in the background (admin); progress is in
    ``/search/status``. Searches keep answering from the current index meanwhile."""
    started = kz.search.reindex_in_background(actor)
    return {"started": started, **kz.search.status()}


@router.get("/saved-searches")
def saved_list(kz: KizashiDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [s.as_dict() for s in kz.search.saved(actor)]


@router.put("/saved-searches")
def saved_put(kz: KizashiDep, actor: ActorDep, body: SavedIn) -> dict[str, Any]:
    """Save (or replace) a named query; it is checked, so a saved search always runs."""
    return kz.search.save(actor, body.name, body.query, body.sort).as_dict()


@router.get("/saved-searches/{name}")
def saved_run(
    kz: KizashiDep,
    actor: ActorDep,
    name: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    facets: bool = False,
) -> dict[str, Any]:
    """Run a saved search."""
    result = kz.search.run_saved(actor, name, limit=limit, cursor=cursor, facets=facets)
    return result.as_dict()


@router.delete("/saved-searches/{name}", status_code=204)
def saved_delete(kz: KizashiDep, actor: ActorDep, name: str) -> Response:
    kz.search.delete_saved(actor, name)
    return Response(status_code=204)
