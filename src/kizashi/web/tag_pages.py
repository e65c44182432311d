"""Tag list, tag page (objects, neighbours, edit, rename/merge) and autocomplete."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import KizashiError
from kizashi.web.analytics_pages import quoted
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page, tag_url
from kizashi.web.summary_pages import providers

router = APIRouter()


@router.get("/tags")
def tags(request: Request, actor: PageActor, prefix: str = "") -> Response:
    kz = get_kizashi(request)
    return page(
        request,
        "tags.html",
        actor=actor,
        tags=kz.tags.list(actor, prefix=prefix or None, limit=500),
        prefix=prefix,
    )


@router.get("/tags/{name:path}")
def tag(
    request: Request, actor: PageActor, name: str, error: KizashiError | None = None
) -> Response:
    kz = get_kizashi(request)
    view = kz.tags.get(actor, name)
    term = '"' + view.name.replace('"', "") + '"' if " " in view.name else view.name
    objects = kz.objects.list(actor, tags=term, limit=50).items
    return page(
        request,
        "tag.html",
        actor=actor,
        tag=view,
        objects=objects,
        related=kz.tags.related(actor, [view.name], 20),
        summary_query="tag:" + quoted(view.name),
        summary_providers=providers(kz),
        error=error,
    )


@router.post("/tags/{name:path}")
def update_tag(request: Request, actor: PageActor, name: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    try:
        new_name = f.get("name", "").strip() or None
        view = kz.tags.update(
            actor, name, new_name=new_name, colour=f.get("colour"), description=f.get("description")
        )
    except KizashiError as exc:
        return tag(request, actor, name, error=exc)
    return RedirectResponse(tag_url(view.name), status_code=303)


@router.get("/ui/tag-options")
def tag_options(request: Request, actor: PageActor, field: str = "tags") -> Response:
    """``<option>``s for tag inputs (htmx sends the input as ``field``); the last part is typed."""
    prefix = request.query_params.get(field, "")
    cut = prefix.replace("、", ",").rfind(",") + 1
    typed = prefix[cut:]
    # What was typed before the last part stays as it is, spacing included.
    done = prefix[:cut] + typed[: len(typed) - len(typed.lstrip())]
    part = typed.strip()
    names = get_kizashi(request).tags.suggest(actor, part, 15) if part else []
    return page(request, "_tag_options.html", actor=actor, names=names, done=done)
