"""``/api/v1/misp/feed/…``: the store as a MISP feed that a MISP instance subscribes to
(feed URL ``…/api/v1/misp/feed``, with the header ``Authorization: Bearer <token>``), or
one tag expression's part of it (``…/api/v1/misp/feed/tag/<expression>``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, PlainTextResponse

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import ErrorOut
from kizashi.services.exchange.mispfeed import feed_selection

router = APIRouter(
    prefix="/misp/feed",
    tags=["exchange"],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)

Tags = Annotated[str, Path(max_length=2000, description="A tag expression")]
EventFile = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}\.json$")]


def _manifest(kz: Any, actor: Any, tags: str | None) -> JSONResponse:
    feed = kz.exchange.misp_feeds.feed(actor, feed_selection(tags))
    return JSONResponse(feed.manifest())


def _hashes(kz: Any, actor: Any, tags: str | None) -> PlainTextResponse:
    feed = kz.exchange.misp_feeds.feed(actor, feed_selection(tags))
    return PlainTextResponse(feed.hashes(), media_type="text/csv")


def _event(kz: Any, actor: Any, tags: str | None, name: str) -> JSONResponse:
    feed = kz.exchange.misp_feeds.feed(actor, feed_selection(tags))
    return JSONResponse(feed.event(name.removesuffix(".json")))


@router.get("/manifest.json")
def manifest(kz: KizashiDep, actor: ActorDep) -> JSONResponse:
    """Each event's UUID with its summary (info, date, timestamp, tags, organisation)."""
    return _manifest(kz, actor, None)


@router.get("/hashes.csv", response_class=PlainTextResponse)
def hashes(kz: KizashiDep, actor: ActorDep) -> PlainTextResponse:
    """``md5(value),event uuid`` for every attribute value."""
    return _hashes(kz, actor, None)


@router.get("/{name}")
def event(kz: KizashiDep, actor: ActorDep, name: EventFile) -> JSONResponse:
    """One event (``<uuid>.json``), as ``{"Event": {…}}``."""
    return _event(kz, actor, None, name)


@router.get("/tag/{tags}/manifest.json")
def tag_manifest(kz: KizashiDep, actor: ActorDep, tags: Tags) -> JSONResponse:
    """The manifest of the events the tag expression selects."""
    return _manifest(kz, actor, tags)


@router.get("/tag/{tags}/hashes.csv", response_class=PlainTextResponse)
def tag_hashes(kz: KizashiDep, actor: ActorDep, tags: Tags) -> PlainTextResponse:
    return _hashes(kz, actor, tags)


@router.get("/tag/{tags}/{name}")
def tag_event(kz: KizashiDep, actor: ActorDep, tags: Tags, name: EventFile) -> JSONResponse:
    return _event(kz, actor, tags, name)
