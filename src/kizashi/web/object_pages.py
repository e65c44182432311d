"""Home, object pages, and the create, edit, tag and relate forms (lists: list_pages)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.ingest.fulltext import sanitize
from kizashi.model.actor import Actor
from kizashi.model.article import ARTICLE_EXTENSION
from kizashi.model.errors import KizashiError, invalid
from kizashi.model.stix import ENTITY_TYPES, HASH_ALGORITHMS, OBSERVABLE_VALUE_PROPERTY
from kizashi.services import Kizashi
from kizashi.services.analytics import ITEM_TYPES
from kizashi.services.dashboard import DashboardService
from kizashi.services.objects.views import ObjectView
from kizashi.services.relationships import VOCABULARY
from kizashi.services.summaries import ARTICLE_BUDGET, Summary
from kizashi.web import demo_pages, forms, timefmt
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import object_url, page
from kizashi.web.summary_pages import providers

log = logging.getLogger(__name__)
router = APIRouter()
#: Objects that refer to this one, listed on its page at most (the newest first).
REFERRERS_SHOWN = 50

KINDS = ("report", "observable", "entity", "note")
OBSERVABLE_CHOICES = (*OBSERVABLE_VALUE_PROPERTY, "indicator")


@router.get("/")
def home(request: Request, actor: PageActor) -> Response:
    kz = get_kizashi(request)
    shown = ["report", "note", "indicator", *(t for t in ENTITY_TYPES if t != "identity")]
    recent = kz.objects.list(actor, types=shown, limit=15).items
    dashboard = DashboardService(kz.ctx, kz.search, kz.analytics, kz.objects).build(actor)
    # No item yet (of those the actor may read): the page says where to start.
    empty = not kz.objects.list(actor, types=ITEM_TYPES, limit=1).items
    return page(
        request,
        "home.html",
        actor=actor,
        recent=recent,
        d=dashboard,
        empty=empty,
        demo_loaded=demo_pages.take_notice(request),
    )


@router.get("/objects/new/{kind}")
def new_form(request: Request, actor: PageActor, kind: str, ref: str = "") -> Response:
    if kind not in KINDS:
        raise invalid("There is no form for %(kind)r.", kind=kind)
    actor.require_write()
    return _render_new(request, actor, kind, {"object_refs": ref}, None)


def _render_new(
    request: Request,
    actor: Actor,
    kind: str,
    values: dict[str, str],
    error: KizashiError | None,
) -> Response:
    chosen: list[Any] = []
    if kind == "note" and values.get("object_refs"):
        # The note's subjects, by name (the object page's "add a note" names one).
        refs = forms.split_list(values.get("object_refs"))
        found = get_kizashi(request).objects.get_many(actor, refs)
        chosen = [found[r] for r in refs if r in found]
    return page(
        request,
        f"new_{kind}.html",
        values=values,
        chosen=chosen,
        error=error,
        entity_types=ENTITY_TYPES,
        observable_types=OBSERVABLE_CHOICES,
        hash_algorithms=HASH_ALGORITHMS,
    )


@router.post("/objects/new/{kind}")
def create(request: Request, actor: PageActor, kind: str, f: FormFields) -> Response:
    if kind not in KINDS:
        raise invalid("There is no form for %(kind)r.", kind=kind)
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    build = {
        "report": forms.report_from_form,
        "observable": forms.observable_from_form,
        "entity": forms.entity_from_form,
        "note": forms.note_from_form,
    }[kind]
    try:
        if kind == "report":
            obj = forms.report_from_form(f, timefmt.zone_for(request, actor))
        else:
            obj = build(f)
        view, _ = kz.objects.create(
            actor, obj, tags=forms.split_list(f.get("tags")), tlp=f.get("tlp") or None
        )
    except KizashiError as exc:
        return _render_new(request, actor, kind, f, exc)
    return RedirectResponse(object_url(view.id), status_code=303)


@router.get("/objects/{stix_id}")
def show(request: Request, actor: PageActor, stix_id: str) -> Response:
    kz = get_kizashi(request)
    view = kz.objects.get(actor, stix_id)
    hood = kz.relationships.neighbours(actor, stix_id, 1)
    outgoing = [e for e in hood.edges if e.source_ref == stix_id]
    incoming = [e for e in hood.edges if e.target_ref == stix_id]
    # The newest referrers are listed (a group is named in thousands of reports; the
    # graph below expands to more), named from the views the neighbourhood read.
    shown = [(i, p) for i, p in hood.referrers if p not in {"source_ref", "target_ref"}]
    more_referrers = len(shown) > REFERRERS_SHOWN
    shown = shown[:REFERRERS_SHOWN]
    referrer_views = hood.referrer_views
    # TLP tags are on most objects and mark them, saying nothing of what they are about.
    related = kz.tags.related(
        actor, [t for t in view.tags if not t.startswith("tlp:")], 15, besides=view.tags
    )
    article = request.app.state.feeds.article(actor, stix_id) if view.type == "report" else None
    extension = view.stix.get("extensions", {}).get(ARTICLE_EXTENSION)
    is_report = view.type == "report"
    return page(
        request,
        "object.html",
        actor=actor,
        obj=view,
        summary=_summary(kz, actor, view),
        summary_providers=providers(kz),
        summarisable=view.type in ITEM_TYPES,
        article=article,
        article_html=sanitize(article["html"]) if article and article.get("html") else None,
        extension=extension,
        nodes=hood.nodes,
        outgoing=outgoing,
        incoming=incoming,
        referrers=[(referrer_views[i], p) for i, p in shown if i in referrer_views],
        more_referrers=more_referrers,
        history=kz.objects.history(actor, stix_id),
        related=related,
        vocabulary=VOCABULARY,
        properties=_properties(view.stix),
        ref_views=kz.objects.get_many(actor, _refs_in(view.stix)),
        mentions=kz.indicators.in_report(actor, stix_id) if is_report else [],
        seen=None if is_report else kz.indicators.overview(actor, stix_id),
        suggestions=kz.rules.suggestions(actor, stix_id),
        tag_sources=kz.rules.provenance(actor, stix_id),
        error=None,
    )


def _summary(kz: Kizashi, actor: Actor, view: ObjectView) -> Summary | None:
    """An item's extractive summary, where its text is longer than the summary would be
    (made on the first view, then kept until the item changes). A page never fails
    for want of one."""
    text = " ".join(str(view.stix.get(k) or "") for k in ("description", "content"))
    if view.type not in ITEM_TYPES or len(text) <= ARTICLE_BUDGET:
        return None
    try:
        return kz.summaries.article(actor, view.id)
    except KizashiError:
        log.warning("no summary for %s", view.id, exc_info=True)
        return None


@router.post("/objects/{stix_id}/suggestions")
def decide_suggestion(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    accept = f.get("decision") == "accept"
    get_kizashi(request).rules.decide(actor, stix_id, f.get("tag", ""), accept=accept)
    return RedirectResponse(object_url(stix_id) + "#tags", status_code=303)


_SHOWN_ELSEWHERE = {
    "extensions",
    "type",
    "spec_version",
    "id",
    "labels",
    "object_marking_refs",
    "description",
    "content",
    "name",
}


def _properties(stix: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in stix.items() if k not in _SHOWN_ELSEWHERE]


def _refs_in(stix: dict[str, Any]) -> list[str]:
    """The ids the object's own ``*_ref`` and ``*_refs`` properties name, for the page to
    name and link them (those the reader may not read stay ids)."""
    out: list[str] = []
    for key, value in stix.items():
        if key.endswith("_ref") and isinstance(value, str):
            out.append(value)
        elif key.endswith("_refs") and isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return list(dict.fromkeys(out))


@router.get("/objects/{stix_id}/edit")
def edit_form(request: Request, actor: PageActor, stix_id: str) -> Response:
    actor.require_write()
    view = get_kizashi(request).objects.get(actor, stix_id)
    values = forms.edit_fields(view.stix, timefmt.zone_for(request, actor))
    return page(request, "edit.html", actor=actor, obj=view, values=values, error=None)


@router.post("/objects/{stix_id}/edit")
def edit(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    view = kz.objects.get(actor, stix_id)
    try:
        changes = forms.changes_from_edit(view.stix, f, timefmt.zone_for(request, actor))
        if changes:
            kz.objects.update(actor, stix_id, changes)
    except KizashiError as exc:
        return page(
            request, "edit.html", status_code=422, actor=actor, obj=view, values=f, error=exc
        )
    return RedirectResponse(object_url(stix_id), status_code=303)


@router.post("/objects/{stix_id}/tags")
def add_tags(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).tags.tag(actor, stix_id, forms.split_list(f.get("tags")))
    return RedirectResponse(object_url(stix_id) + "#tags", status_code=303)


@router.post("/objects/{stix_id}/untag")
def remove_tag(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).tags.untag(actor, stix_id, [f.get("tag", "")])
    return RedirectResponse(object_url(stix_id) + "#tags", status_code=303)


@router.post("/objects/{stix_id}/relate")
def relate(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    source, target = stix_id, f.get("target_ref", "").strip()
    if f.get("direction") == "in":
        source, target = target, source
    kz.relationships.create(
        actor,
        source,
        f.get("relationship_type", "related-to").strip() or "related-to",
        target,
        description=f.get("description") or None,
    )
    return RedirectResponse(object_url(stix_id) + "#relationships", status_code=303)


@router.post("/objects/{stix_id}/revoke")
def revoke(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).objects.revoke(actor, stix_id)
    return RedirectResponse(object_url(stix_id) if actor.is_admin else "/objects", status_code=303)


@router.post("/objects/{stix_id}/restore")
def restore(request: Request, actor: PageActor, stix_id: str, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    get_kizashi(request).objects.restore(actor, stix_id)
    return RedirectResponse(object_url(stix_id), status_code=303)


@router.get("/ui/object-options")
def object_options(request: Request, actor: PageActor, field: str = "q") -> Response:
    """``<option>``s for the relationship target picker (htmx sends the input as ``field``)."""
    q = request.query_params.get(field, "").strip()
    items = get_kizashi(request).objects.list(actor, text=q or None, limit=20).items if q else []
    return page(
        request,
        "_object_options.html",
        actor=actor,
        items=[i for i in items if i.type != "relationship"],
    )
