"""Log in and out; personal API tokens; the UI's language and time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi, session_actor, start_session
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.model.preferences import COMMON_ZONES, zone_names
from kizashi.web import i18n, timefmt
from kizashi.web.deps import PageActor, safe_next
from kizashi.web.i18n import N_
from kizashi.web.render import page

router = APIRouter()


@router.get("/language/{language}")
def choose_language(request: Request, language: str, next: str = "/") -> Response:
    """Switch the UI's language (remembered for a year in this browser, and kept as the
    user's setting when logged in); back to the page it was switched from. A GET, so that
    it works from every page as a link: what it changes is only how pages read."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
        actor = session_actor(request)
        if actor is not None and actor.preferences.language not in (None, language):
            get_kizashi(request).users.set_preferences(
                actor, language=language, time_zone=actor.preferences.time_zone
            )
    return response


@router.get("/settings")
def preferences_form(request: Request, actor: PageActor) -> Response:
    return _preferences_page(request, actor, done=False, error=None)


@router.post("/settings")
def save_preferences(
    request: Request,
    actor: PageActor,
    language: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        kept = get_kizashi(request).users.set_preferences(
            actor, language=language, time_zone=time_zone
        )
    except KizashiError as exc:
        return _preferences_page(request, actor, done=False, error=exc, status_code=422)
    now = replace(actor, preferences=kept)
    response = _preferences_page(request, now, done=True, error=None)
    if kept.language:  # this browser follows too, also once logged out
        response.set_cookie(
            i18n.COOKIE, kept.language, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
    return response


def _preferences_page(
    request: Request,
    actor: Actor,
    *,
    done: bool,
    error: KizashiError | None,
    status_code: int | None = None,
) -> Response:
    return page(
        request,
        "settings.html",
        status_code=status_code,
        actor=actor,
        done=done,
        error=error,
        zones=zone_names(),
        common_zones=COMMON_ZONES,
        browser_zone=request.cookies.get(timefmt.COOKIE, ""),
        now=datetime.now(UTC),
    )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return page(request, "login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    kz = get_kizashi(request)
    try:
        check_csrf(request, csrf)
        actor = kz.users.authenticate(username, password)
    except KizashiError as exc:
        return page(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            error=exc,
            username=username,
        )
    start_session(request, actor)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    actor = session_actor(request)
    if actor is not None:
        # Every session of the user ends, not only this browser's cookie.
        get_kizashi(request).users.end_sessions(actor)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/settings/tokens")
def tokens(request: Request, actor: PageActor) -> Response:
    kz = get_kizashi(request)
    return page(request, "tokens.html", actor=actor, tokens=kz.users.tokens(actor), new_token=None)


@router.post("/settings/tokens")
def create_token(
    request: Request,
    actor: PageActor,
    name: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    kz = get_kizashi(request)
    token, _ = kz.users.create_token(actor, name)
    return page(request, "tokens.html", actor=actor, tokens=kz.users.tokens(actor), new_token=token)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, actor: PageActor, token_id: int, csrf: Annotated[str, Form()] = ""
) -> Response:
    check_csrf(request, csrf)
    get_kizashi(request).users.revoke_token(actor, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)


@router.get("/settings/password")
def password_form(request: Request, actor: PageActor) -> Response:
    return page(request, "password.html", actor=actor, error=None, done=False)


@router.post("/settings/password")
def change_password(
    request: Request,
    actor: PageActor,
    current: Annotated[str, Form()],
    new: Annotated[str, Form()],
    confirm: Annotated[str, Form()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    kz = get_kizashi(request)
    error: str | KizashiError | None = None
    if new != confirm:
        error = N_("The new password and its confirmation differ.")
    else:
        try:
            kz.users.authenticate(actor.username, current)
            kz.users.update(actor, actor.username, password=new)
        except KizashiError as exc:
            wrong = exc.code == "unauthenticated"
            error = N_("The current password is wrong.") if wrong else exc
    if error:
        return page(request, "password.html", status_code=422, actor=actor, error=error, done=False)
    # The new password ended every session; the one that changed it goes on.
    start_session(request, actor)
    return page(request, "password.html", actor=actor, error=None, done=True)
