"""The search page: a query box, ranked results with marked snippets, facets, saved searches."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import KizashiError
from kizashi.web import timefmt
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page
from kizashi.web.summary_pages import providers

router = APIRouter()


def _quote(value: str) -> str:
    return f'"{value}"' if any(c.isspace() or c in '()"' for c in value) else value


@router.get("/search")
def search_page(
    request: Request,
    actor: PageActor,
    q: str = "",
    sort: str = "relevance",
    cursor: str | None = None,
    saved: str | None = None,
) -> Response:
    kz = get_kizashi(request)
    error: KizashiError | None = None
    result = None
    try:
        if saved:
            view = kz.search.get_saved(actor, saved)
            q, sort = view.query, view.sort
        if q.strip() or cursor:
            result = kz.search.search(
                actor,
                q,
                sort=sort,
                limit=20,
                cursor=cursor,
                facets=True,
                zone=timefmt.zone_for(request, actor),
            )
    except KizashiError as exc:
        error = exc
    saved_searches = kz.search.saved(actor)

    def refine(field: str, value: str) -> str:
        """The current query narrowed by one facet value."""
        term = f"{field}:{_quote(value)}"
        return "/search?" + urlencode({"q": f"{q} {term}".strip(), "sort": sort})

    def next_url(cur: str) -> str:
        return "/search?" + urlencode({"q": q, "sort": sort, "cursor": cur})

    return page(
        request,
        "search.html",
        actor=actor,
        q=q,
        sort=sort,
        result=result,
        error=error,
        saved=saved_searches,
        refine=refine,
        next_url=next_url,
        summary_providers=providers(kz),
        status_code=422 if error else 200,
    )


@router.post("/search/saved")
def save_search(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    view = kz.search.save(actor, f.get("name", ""), f.get("q", ""), f.get("sort", "relevance"))
    return RedirectResponse("/search?" + urlencode({"saved": view.name}), status_code=303)


@router.post("/search/saved/delete")
def delete_search(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).search.delete_saved(actor, f.get("name", ""))
    return RedirectResponse("/search", status_code=303)
