"""The objects list (filters, sort, keyset pages; htmx swaps its region) and its bulk form.

The list's address holds everything that makes the page: the filters, the sort and the
cursor, so a reload or a shared link shows the same page. An htmx request (the filter
form, the sort, the page links) gets the list's region only; its history restore, and
everyone without scripts, the whole page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import KizashiError, Problem
from kizashi.model.stix import ENTITY_TYPES, OBSERVABLE_VALUE_PROPERTY
from kizashi.services.objects.cursors import is_cursor_error
from kizashi.web import forms
from kizashi.web.deps import FormLists, PageActor
from kizashi.web.i18n import N_
from kizashi.web.render import page

router = APIRouter()

LIST_TYPES = (
    "report",
    "indicator",
    "note",
    *ENTITY_TYPES,
    *OBSERVABLE_VALUE_PROPERTY,
    "relationship",
)
#: The orders the page offers, the first the default. Newest stored first is the
#: primary key's order: the dates' orders sort every row they filter (no index serves
#: ``coalesce(modified, updated_at)``: 7 s at 258,000 objects), so they are chosen.
SORTS = (
    ("stored", N_("Newest stored first")),
    ("modified", N_("Newest modified first")),
    ("oldest", N_("Oldest modified first")),
    ("created", N_("Newest created first")),
    ("name", N_("Name or value, A to Z")),
)
#: The query parameters that make a list page (what the bulk form goes back to).
PARAMS = ("type", "tags", "q", "created_from", "created_to", "sort", "cursor")
#: What the last bulk change did, kept in the session until the list has said it once.
NOTICE = "objects_bulk"


@router.get("/objects")
def list_objects(
    request: Request,
    actor: PageActor,
    type: str = "",
    tags: str = "",
    q: str = "",
    created_from: str = "",
    created_to: str = "",
    sort: str = SORTS[0][0],
    cursor: str | None = None,
) -> Response:
    """A page of objects, newest stored first unless told otherwise."""
    kz = get_kizashi(request)
    error: KizashiError | None = None
    items: list[Any] = []
    next_cursor = prev_cursor = None
    try:
        result = kz.objects.list(
            actor,
            types=[type] if type else [],
            tags=tags or None,
            text=q or None,
            created_from=created_from or None,
            created_to=created_to or None,
            limit=50,
            cursor=cursor or None,
            sort=sort,
            # Relationships and accounts are listed when their type is asked for.
            hide_internal=not type,
        )
        items, next_cursor, prev_cursor = result.items, result.next_cursor, result.prev_cursor
    except KizashiError as exc:
        error = exc
    params = {
        "type": type,
        "tags": tags,
        "q": q,
        "created_from": created_from,
        "created_to": created_to,
        "sort": sort,
    }
    fragment = bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )
    status = 400 if error is not None and is_cursor_error(error) else None
    notice = None if fragment else _take_notice(request)
    if notice is not None and "error" in notice and error is None:
        error, notice, status = notice["error"], None, 200  # the bulk form's, shown once
    response = page(
        request,
        "_object_list.html" if fragment else "objects.html",
        status_code=status,
        actor=actor,
        items=items,
        next_cursor=next_cursor,
        prev_cursor=prev_cursor,
        params=params,
        list_url=lambda c: list_url(params | {"cursor": c}),
        back=urlencode(_kept(params | {"cursor": cursor or ""})),
        dated={"created": "created", "stored": "stored"}.get(sort, "modified"),
        types=LIST_TYPES,
        sorts=SORTS,  # their labels are translated by the template (say)
        notice=notice,
        error=error,
    )
    response.headers["Vary"] = "HX-Request"
    return response


@router.post("/objects/bulk")
def bulk_change(request: Request, actor: PageActor, f: FormLists) -> Response:
    """Add tags, remove tags or set the TLP of the ticked objects; back to the same list."""
    actor.require_write()
    check_csrf(request, _one(f, "csrf"))
    ids = f.get("page_ids", []) if _one(f, "all") else f.get("ids", [])
    try:
        report = get_kizashi(request).objects.retag(
            actor,
            ids,
            add=forms.split_list(_one(f, "add_tags")),
            remove=forms.split_list(_one(f, "remove_tags")),
            tlp=_one(f, "tlp") or None,
        )
        notice: dict[str, Any] = {
            "changed": report.changed,
            "unchanged": report.count("unchanged"),
            "refused": report.refused,
        }
    except KizashiError as exc:
        if exc.code in ("forbidden", "csrf"):
            raise
        notice = {
            "error": {
                "message": exc.message,
                "template": exc.template,
                "values": {k: str(v) for k, v in exc.values.items()},
                "problems": [[p.loc, p.msg] for p in exc.problems],
            }
        }
    request.session[NOTICE] = notice
    back = dict(parse_qsl(_one(f, "back")))
    return RedirectResponse(list_url(back), status_code=303)


def list_url(params: dict[str, str]) -> str:
    """The list's address for these parameters (the empty ones left out)."""
    kept = _kept(params)
    return "/objects?" + urlencode(kept) if kept else "/objects"


def _kept(params: dict[str, str]) -> dict[str, str]:
    return {k: params[k] for k in PARAMS if params.get(k)}


def _one(f: dict[str, list[str]], name: str) -> str:
    values = f.get(name) or [""]
    return values[-1]


def _take_notice(request: Request) -> dict[str, Any] | None:
    """What the last bulk change did, once; an error comes back as one to show."""
    notice = request.session.pop(NOTICE, None)
    if not isinstance(notice, dict):
        return None
    failed = notice.get("error")
    if isinstance(failed, dict):
        return {
            "error": KizashiError(
                str(failed.get("message", "")),
                "validation_failed",
                [Problem(str(loc), str(msg)) for loc, msg in failed.get("problems", [])],
                template=str(failed.get("template", "")),
                values=dict(failed.get("values", {})),
            )
        }
    return notice
