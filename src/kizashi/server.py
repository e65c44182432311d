"""The composition root: REST API, web UI and static assets in one ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

import kizashi
from kizashi.api import errors
from kizashi.api.headers import SecurityHeaders
from kizashi.api.limits import BodySizeLimit
from kizashi.api.routes import (
    auth,
    digests,
    exchange,
    feeds,
    indicators,
    meta,
    mispfeed,
    objects,
    relationships,
    rules,
    search,
    stats,
    summaries,
    tags,
)
from kizashi.config import Settings
from kizashi.ingest.feeds import FeedService
from kizashi.jobs.queue import Jobs, make_fetcher
from kizashi.services import Kizashi
from kizashi.web import pages

STATIC = Path(__file__).resolve().parent / "web" / "static"


def create_app(
    settings: Settings | None = None, kz: Kizashi | None = None, jobs: Jobs | None = None
) -> FastAPI:
    """The app; with ``jobs``, "poll now" goes to the queue, else it runs in the request."""
    settings = settings or Settings()
    if kz is None:
        settings.ensure_data_dir()
        kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    fetcher = make_fetcher(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The index follows the database in the background (and before each search).
        kz.search.follower.start()
        yield
        kz.search.follower.stop()
        fetcher.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Kizashi",
        version=kizashi.__version__,
        description="Threat intelligence in Japanese and English: STIX 2.1 objects, tags, links.",
        # Served by api/routes/meta.py, behind the same login as the rest of the API.
        openapi_url=None,
        # The bundled Swagger/ReDoc pages load scripts from a CDN; the spec is enough offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.kizashi = kz
    app.state.feeds = FeedService(kz, fetcher, lease_seconds=settings.poll_lease_seconds)
    app.state.jobs = jobs
    errors.install(app)

    api = APIRouter(prefix="/api/v1")
    modules = (
        objects,
        tags,
        relationships,
        indicators,
        search,
        stats,
        summaries,
        digests,
        exchange,
        mispfeed,
        rules,
        feeds,
        auth,
        meta,
    )
    for module in modules:
        api.include_router(module.router)
    app.include_router(api)

    app.include_router(pages.router)
    pages.install(app)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key,
        session_cookie="kizashi_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(SecurityHeaders)
    # Outermost, so that an oversized body is refused before anything reads it.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={
            "/api/v1/import": settings.import_max_bytes,
            "/import": settings.import_max_bytes,
        },
    )
    return app
