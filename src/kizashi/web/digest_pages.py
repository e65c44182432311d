"""Digests in the UI: your scheduled summaries, a form for a new one, the last run of
each, "Run now" and delete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import KizashiError
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page
from kizashi.web.summary_pages import providers

router = APIRouter()


def _page(
    request: Request, actor: PageActor, form: dict[str, str], error: KizashiError | None
) -> Response:
    kz = get_kizashi(request)
    digests = kz.digests.list(actor)
    latest = {d.name: kz.digests.latest(actor, d.name) for d in digests}
    return page(
        request,
        "digests.html",
        actor=actor,
        digests=digests,
        latest=latest,
        form=form,
        summary_providers=providers(kz),
        error=error,
    )


@router.get("/digests")
def digests_page(request: Request, actor: PageActor) -> Response:
    return _page(request, actor, {}, None)


@router.post("/digests")
def create_digest(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    try:
        days = int(f.get("days") or "7")
    except ValueError:
        days = 0  # refused with the reason below
    try:
        get_kizashi(request).digests.create(
            actor,
            f.get("name", ""),
            query=f.get("q", ""),
            days=days,
            every=f.get("every") or "weekly",
            provider=f.get("provider") or "extractive",
            language=f.get("language") or None,
        )
    except KizashiError as exc:
        return _page(request, actor, dict(f), exc)
    return RedirectResponse("/digests", status_code=303)


@router.post("/digests/{name}/run")
def run_digest(request: Request, actor: PageActor, name: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).digests.start(actor, name)
    return RedirectResponse("/digests#" + name, status_code=303)


@router.post("/digests/{name}/delete")
def delete_digest(request: Request, actor: PageActor, name: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).digests.delete(actor, name)
    return RedirectResponse("/digests", status_code=303)
