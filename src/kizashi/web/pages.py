"""All UI routes, gathered; HTML error pages for everything outside ``/api``."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.model.errors import KizashiError
from kizashi.web import (
    admin_pages,
    analytics_pages,
    auth_pages,
    demo_pages,
    digest_pages,
    exchange_pages,
    feed_pages,
    indicator_pages,
    list_pages,
    object_pages,
    rule_pages,
    search_pages,
    summary_pages,
    tag_pages,
)
from kizashi.web.deps import LoginRequiredError, login_url
from kizashi.web.render import page

router = APIRouter(include_in_schema=False)
for module in (
    auth_pages,
    list_pages,
    object_pages,
    tag_pages,
    feed_pages,
    indicator_pages,
    search_pages,
    analytics_pages,
    rule_pages,
    summary_pages,
    digest_pages,
    exchange_pages,
    admin_pages,
    demo_pages,
):
    router.include_router(module.router)

STATUS = {
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "csrf": 403,
    "unauthenticated": 401,
    "method_not_allowed": 405,
}


def render_error(request: Request, exc: KizashiError) -> Response:
    status = STATUS.get(exc.code, 422)
    return page(request, "error.html", status_code=status, error=exc)


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequiredError)
    return RedirectResponse(login_url(exc.next_url), status_code=303)


def install(app: FastAPI) -> None:
    app.state.render_error = render_error
    app.add_exception_handler(LoginRequiredError, _login_required)
