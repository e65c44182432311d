"""Who is looking at a page; forms check the CSRF token."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from kizashi.api.deps import session_actor
from kizashi.model.actor import Actor


class LoginRequiredError(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def page_actor(request: Request) -> Actor:
    actor = session_actor(request)
    if actor is None:
        target = request.url.path + (("?" + request.url.query) if request.url.query else "")
        raise LoginRequiredError(target)
    return actor


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="")


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (read here, so the handlers can be plain functions)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The posted form's text fields with every value of each (checkboxes of one name)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


PageActor = Annotated[Actor, Depends(page_actor)]
#: Handlers that take the form this way are sync and run in the thread pool: the
#: services' database calls never block the event loop.
FormFields = Annotated[dict[str, str], Depends(form_fields)]
FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]
