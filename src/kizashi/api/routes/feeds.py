"""``/api/v1/feeds``: subscriptions, their state, poll now, OPML."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import BaseModel, Field

from kizashi.api.deps import ActorDep
from kizashi.api.schemas import ErrorOut
from kizashi.ingest.feeds import FeedService
from kizashi.ingest.opml import Subscription, parse_opml, to_opml
from kizashi.ingest.poller import PollResult

router = APIRouter(
    prefix="/feeds", tags=["feeds"], responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}}
)


def get_feeds(request: Request) -> FeedService:
    feeds: FeedService = request.app.state.feeds
    return feeds


FeedsDep = Annotated[FeedService, Depends(get_feeds)]


def queue_poll(request: Request, feed_id: int) -> bool:
    """Put a poll on the job queue when this app has one; say whether it did."""
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None:
        return False
    jobs.enqueue_poll(feed_id)
    return True


def poll_now(request: Request, feed_id: int) -> PollResult | None:
    """Poll a feed now: queued for the workers (None), or, with no queue, in this request."""
    if queue_poll(request, feed_id):
        return None
    return get_feeds(request).poll(feed_id)


class FeedIn(BaseModel):
    url: str
    title: str | None = None
    enabled: bool = True
    interval_seconds: int = Field(default=1800, ge=60, le=604800)
    full_text: bool = False
    tags: list[str] = []
    tlp: str | None = None
    language: str | None = None
    headers: dict[str, str] = Field(
        default={}, description="Sent with every request; never shown again."
    )
    kind: Literal["rss", "misp"] = Field(
        default="rss",
        description="rss: RSS, Atom, RDF or JSON Feed; misp: a MISP feed's directory "
        "(manifest.json and one file per event).",
    )


class FeedPatch(BaseModel):
    title: str | None = None
    enabled: bool | None = None
    interval_seconds: int | None = Field(default=None, ge=60, le=604800)
    full_text: bool | None = None
    tags: list[str] | None = None
    tlp: str | None = None
    language: str | None = None
    headers: dict[str, str] | None = None


class FeedOut(BaseModel):
    id: int
    kind: str
    url: str
    title: str
    site_url: str | None
    enabled: bool
    interval_seconds: int
    full_text: bool
    tags: list[str]
    tlp: str | None
    language: str | None
    header_names: list[str] = Field(
        description="Names of the extra request headers (values are secret)."
    )
    identity_id: str
    created_at: str
    last_polled_at: str | None
    last_success_at: str | None
    last_status: int | None
    last_error: str | None
    last_error_kind: str | None = Field(
        None,
        description="What kind of failure: refused, timeout, too_large, redirects, throttled,"
        " http, network, bad_url, not_feed, not_misp_feed or internal.",
    )
    consecutive_failures: int
    next_poll_at: str | None
    polling: bool
    items_seen: int
    items_stored: int


class PollOut(BaseModel):
    feed_id: int
    title: str
    stored: int
    updated: int
    duplicate: int
    rejected: int
    not_modified: bool
    error: str | None
    rejections: list[str]


class ItemOut(BaseModel):
    guid: str
    url: str | None
    report_id: str
    first_seen: str
    last_seen: str


class ImportOut(BaseModel):
    added: list[int]
    skipped: list[str]
    problems: list[str]


@router.get("", response_model=list[FeedOut])
def list_feeds(feeds: FeedsDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every feed with its poll state."""
    return [v.as_dict() for v in feeds.list(actor)]


@router.post("", response_model=FeedOut, status_code=201)
def add_feed(feeds: FeedsDep, actor: ActorDep, body: FeedIn) -> dict[str, Any]:
    """Subscribe to a feed; it is polled at once and then every interval."""
    return feeds.add(actor, **body.model_dump()).as_dict()


@router.get("/opml", response_class=Response, responses={200: {"content": {"text/x-opml": {}}}})
def export_opml(feeds: FeedsDep, actor: ActorDep) -> Response:
    """Every subscription as OPML 2.0."""
    data = to_opml([Subscription(v.url, v.title) for v in feeds.list(actor)])
    return Response(
        data,
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kizashi-feeds.opml"'},
    )


@router.post("/opml", response_model=ImportOut)
def import_opml(
    feeds: FeedsDep,
    actor: ActorDep,
    document: Annotated[bytes, Body(media_type="text/x-opml", description="An OPML file.")],
) -> dict[str, Any]:
    """Subscribe to every feed an OPML file lists; ones already here are skipped."""
    return feeds.subscribe_all(actor, parse_opml(document)).as_dict()


@router.get("/{feed_id}", response_model=FeedOut)
def get_feed(feeds: FeedsDep, actor: ActorDep, feed_id: int) -> dict[str, Any]:
    """One feed."""
    return feeds.get(actor, feed_id).as_dict()


@router.patch("/{feed_id}", response_model=FeedOut)
def update_feed(feeds: FeedsDep, actor: ActorDep, feed_id: int, body: FeedPatch) -> dict[str, Any]:
    """Change settings; ``enabled: false`` pauses, ``true`` resumes (due at once)."""
    changes = body.model_dump(exclude_unset=True)
    return feeds.update(actor, feed_id, **changes).as_dict()


@router.delete("/{feed_id}", status_code=204)
def remove_feed(feeds: FeedsDep, actor: ActorDep, feed_id: int) -> None:
    """Unsubscribe; the reports the feed brought stay."""
    feeds.remove(actor, feed_id)


@router.post("/{feed_id}/poll", response_model=PollOut, responses={202: {"description": "Queued."}})
def poll_feed(
    request: Request, feeds: FeedsDep, actor: ActorDep, feed_id: int, response: Response
) -> Any:
    """Poll now: queued for a worker (202), or done in this request when no queue runs (200)."""
    actor.require_write()
    view = feeds.get(actor, feed_id)
    result = poll_now(request, view.id)
    if result is None:
        response.status_code = 202
        return PollResult(view.id, view.title).as_dict()
    return result.as_dict()


@router.get("/{feed_id}/items", response_model=list[ItemOut])
def feed_items(
    feeds: FeedsDep, actor: ActorDep, feed_id: int, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest items the feed has shown and the report each became."""
    return feeds.items(actor, feed_id, min(max(limit, 1), 500))
