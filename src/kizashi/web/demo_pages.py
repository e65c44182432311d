"""The home page's "Load the demo data" button (admins): the same load as ``kizashi demo``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.web.deps import PageActor

router = APIRouter()

#: What the last load did, kept in the session until the home page has said it once.
LOADED = "demo_loaded"


@router.post("/demo")
def load_demo(request: Request, actor: PageActor, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    actor.require_admin()
    loaded = get_kizashi(request).demo.load(actor)
    request.session[LOADED] = {"added": loaded.added, "read": loaded.report.read}
    return RedirectResponse("/", status_code=303)


def take_notice(request: Request) -> dict[str, Any] | None:
    """What the last load did, once (None when nothing was loaded since)."""
    notice = request.session.pop(LOADED, None)
    return notice if isinstance(notice, dict) else None
