"""Feeds in the UI: the list with each feed's state, a feed's page, add, edit, OPML."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.api.routes.feeds import get_feeds, poll_now, queue_poll
from kizashi.ingest.opml import parse_opml
from kizashi.model.errors import KizashiError, invalid
from kizashi.web import forms
from kizashi.web.analytics_pages import quoted
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page
from kizashi.web.summary_pages import providers

router = APIRouter()


def _settings_from(f: dict[str, str]) -> dict[str, Any]:
    try:
        interval = int(f.get("interval_minutes") or "30") * 60
    except ValueError as exc:
        raise KizashiError(
            "The interval is a whole number of minutes.", "validation_failed"
        ) from exc
    headers = {}
    for line in (f.get("headers") or "").splitlines():
        if line.strip():
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    out: dict[str, Any] = {
        "interval_seconds": interval,
        "full_text": f.get("full_text") == "on",
        "tags": forms.split_list(f.get("tags")),
        "tlp": f.get("tlp") or None,
        "language": f.get("language") or None,
    }
    if headers or f.get("clear_headers") == "on":
        out["headers"] = headers
    return out


@router.get("/feeds")
def feed_list(
    request: Request,
    actor: PageActor,
    error: KizashiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return page(
        request,
        "feeds.html",
        actor=actor,
        feeds=get_feeds(request).list(actor),
        error=error,
        values=values or {},
    )


@router.post("/feeds")
def add_feed(request: Request, actor: PageActor, f: FormFields) -> Response:
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    try:
        view = get_feeds(request).add(
            actor,
            f.get("url", ""),
            title=f.get("title") or None,
            kind=f.get("kind") or "rss",
            **_settings_from(f),
        )
    except KizashiError as exc:
        return feed_list(request, actor, error=exc, values=f)
    queue_poll(request, view.id)
    return RedirectResponse(f"/feeds/{view.id}", status_code=303)


@router.post("/feeds/opml")
def import_opml(
    request: Request,
    actor: PageActor,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, File()] = "",
) -> Response:
    actor.require_write()
    check_csrf(request, csrf)
    try:
        # The request size limit bounds the upload.
        report = get_feeds(request).subscribe_all(actor, parse_opml(file.file.read()))
    except KizashiError as exc:
        return feed_list(request, actor, error=exc)
    return page(
        request,
        "feeds.html",
        actor=actor,
        feeds=get_feeds(request).list(actor),
        error=None,
        values={},
        imported=report,
    )


@router.get("/feeds/{feed_id}")
def feed_page(
    request: Request, actor: PageActor, feed_id: int, error: KizashiError | None = None
) -> Response:
    feeds = get_feeds(request)
    view = feeds.get(actor, feed_id)
    items = feeds.items(actor, feed_id, 30)
    kz = get_kizashi(request)
    reports = kz.objects.get_many(actor, [*(i["report_id"] for i in items), view.identity_id])
    source = reports.pop(view.identity_id, None)  # the feed's identity, by its name
    return page(
        request,
        "feed.html",
        actor=actor,
        feed=view,
        items=items,
        reports=reports,
        source=source,
        summary_query="source:" + quoted(view.title),
        summary_providers=providers(kz),
        error=error,
    )


@router.post("/feeds/{feed_id}")
def update_feed(request: Request, actor: PageActor, feed_id: int, f: FormFields) -> Response:
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    try:
        get_feeds(request).update(actor, feed_id, title=f.get("title"), **_settings_from(f))
    except KizashiError as exc:
        if exc.code in ("forbidden", "not_found"):
            raise
        return feed_page(request, actor, feed_id, error=exc)
    return RedirectResponse(f"/feeds/{feed_id}", status_code=303)


@router.post("/feeds/{feed_id}/action")
def feed_action(request: Request, actor: PageActor, feed_id: int, f: FormFields) -> Response:
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    feeds = get_feeds(request)
    action = f.get("action")
    if action in ("pause", "resume"):
        feeds.update(actor, feed_id, enabled=action == "resume")
    elif action == "poll":
        poll_now(request, feed_id)
    elif action == "remove":
        feeds.remove(actor, feed_id)
        return RedirectResponse("/feeds", status_code=303)
    else:
        raise invalid("Unknown action %(action)r.", action=action)
    return RedirectResponse(f"/feeds/{feed_id}", status_code=303)
