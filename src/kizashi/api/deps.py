"""Typed dependencies: the services, and who is asking."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Query, Request

from kizashi.config import Settings
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, unauthenticated
from kizashi.services import Kizashi

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_USER = "user_pk"
SESSION_EPOCH = "epoch"
SESSION_CSRF = "csrf"


def get_kizashi(request: Request) -> Kizashi:
    kz: Kizashi = request.app.state.kizashi
    return kz


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def csrf_token(request: Request) -> str:
    """The session's anti-forgery token, made on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get(SESSION_CSRF)
    if not (isinstance(expected, str) and sent and hmac.compare_digest(expected, sent)):
        raise KizashiError(
            "The form has expired or did not come from this site; reload and try again.", "csrf"
        )


def start_session(request: Request, actor: Actor) -> None:
    """A fresh session for ``actor``: a planted session id is worth nothing."""
    epoch = get_kizashi(request).users.session_epoch(actor)
    request.session.clear()
    request.session[SESSION_USER] = actor.user_pk
    request.session[SESSION_EPOCH] = epoch


def session_actor(request: Request) -> Actor | None:
    """The session's user, or None: not logged in, or the session has been ended
    (a logout or a new password anywhere ends every session of the user)."""
    pk = request.session.get(SESSION_USER)
    epoch = request.session.get(SESSION_EPOCH)
    if not isinstance(pk, int) or not isinstance(epoch, int):
        if pk is not None:
            request.session.clear()
        return None
    actor = get_kizashi(request).users.session_actor(pk, epoch)
    if actor is None:
        request.session.clear()
    return actor


def current_actor(request: Request) -> Actor:
    """A bearer token, or the UI's session cookie (writes then need the CSRF header)."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Send the API token as 'Authorization: Bearer <token>'.")
        return get_kizashi(request).users.authenticate_token(token.strip())
    actor = session_actor(request)
    if actor is None:
        raise unauthenticated()
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get("x-csrf-token"))
    return actor


KizashiDep = Annotated[Kizashi, Depends(get_kizashi)]
#: The zone in which a request's days are read (``published:2026-12-06``, a trend's days).
TimeZone = Annotated[
    str,
    Query(
        max_length=64,
        description="An IANA time zone (Asia/Tokyo): the query's days are its days; UTC if none.",
    ),
]
ActorDep = Annotated[Actor, Depends(current_actor)]
