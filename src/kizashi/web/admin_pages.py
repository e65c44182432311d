"""Admin pages: users and taxonomies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi, taxonomies
from kizashi.web.deps import PageActor
from kizashi.web.render import page

router = APIRouter(prefix="/admin")


@router.get("/users")
def users(request: Request, actor: PageActor, error: KizashiError | None = None) -> Response:
    return page(
        request,
        "users.html",
        actor=actor,
        users=get_kizashi(request).users.list(actor),
        error=error,
    )


@router.post("/users")
def create_user(
    request: Request,
    actor: PageActor,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[str, Form()] = "analyst",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    return _user_change(request, actor, lambda kz: kz.users.create(actor, username, password, role))


@router.post("/users/{username}")
def update_user(
    request: Request,
    actor: PageActor,
    username: str,
    role: Annotated[str, Form()],
    disabled: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    return _user_change(
        request,
        actor,
        lambda kz: kz.users.update(actor, username, role=role, disabled=disabled == "on"),
    )


def _user_change(request: Request, actor: Actor, change: Callable[[Kizashi], object]) -> Response:
    """Apply a change to the accounts; a refused one shows on the users page."""
    try:
        change(get_kizashi(request))
    except KizashiError as exc:
        if exc.code == "forbidden":
            raise
        return users(request, actor, error=exc)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/taxonomies")
def taxonomy_list(request: Request, actor: PageActor) -> Response:
    states = get_kizashi(request).tags.taxonomy_states()
    rows = sorted(
        taxonomies.catalogue().values(),
        key=lambda t: (not states.get(t.namespace, False), t.namespace),
    )
    return page(request, "taxonomies.html", actor=actor, taxonomies=rows, states=states)


@router.post("/taxonomies/{namespace}")
def set_taxonomy(
    request: Request,
    actor: PageActor,
    namespace: str,
    enabled: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf)
    get_kizashi(request).tags.set_taxonomy(actor, namespace, enabled == "on")
    return RedirectResponse("/admin/taxonomies#" + namespace, status_code=303)
