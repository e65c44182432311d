"""Log in and out; personal API tokens; the UI's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi, session_actor, start_session
from kizashi.model.errors import KizashiError
from kizashi.web import i18n
from kizashi.web.deps import PageActor, safe_next
from kizashi.web.render import page

router = APIRouter()


@router.get("/language/{language}")
def choose_language(language: str, next: str = "/") -> Response:
    """Switch the UI's language (remembered for a year in this browser); back to the page
    it was switched from."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 24 * 3600, httponly=True, samesite="lax"
        )
    return response


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
            error=exc.message,
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
    error = None
    if new != confirm:
        error = "The new password and its confirmation differ."
    else:
        try:
            kz.users.authenticate(actor.username, current)
            kz.users.update(actor, actor.username, password=new)
        except KizashiError as exc:
            error = (
                "The current password is wrong." if exc.code == "unauthenticated" else exc.message
            )
    if error:
        return page(request, "password.html", status_code=422, actor=actor, error=error, done=False)
    # The new password ended every session; the one that changed it goes on.
    start_session(request, actor)
    return page(request, "password.html", actor=actor, error=None, done=True)
