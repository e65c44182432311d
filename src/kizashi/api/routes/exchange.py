"""``/api/v1/formats``, ``/api/v1/import`` and ``/api/v1/export``: STIX 2.1 bundles and
every other registered format, in and out."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from kizashi.api.deps import ActorDep, KizashiDep, get_settings
from kizashi.api.schemas import ErrorOut
from kizashi.formats import available
from kizashi.services.exchange import Selection
from kizashi.store.files import private_dir

router = APIRouter(
    tags=["exchange"],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)

#: Bytes read and written at a time while an upload is spooled or an export streamed.
CHUNK = 1024 * 1024


@router.get("/formats")
def formats(actor: ActorDep) -> list[dict[str, Any]]:  # noqa: ARG001 - asked as a user
    """The formats this installation reads and writes (its plugins included)."""
    return [
        {
            "name": f.name,
            "title": f.title,
            "media_type": f.media_type,
            "extension": f.extension,
            "read": f.can_read,
            "write": f.can_write,
        }
        for f in available().values()
    ]


@router.post(
    "/import",
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "The preview, with ?preview=true"}, 413: {"model": ErrorOut}},
)
async def import_(
    request: Request,
    kz: KizashiDep,
    actor: ActorDep,
    format: Annotated[str | None, Query(max_length=32)] = None,
    preview: bool = False,
) -> Response:
    """Import the request body (a STIX 2.1 bundle, or ``format``; recognised from its
    first bytes when not named). With ``preview=true``: what would change (counts per
    outcome and type, each invalid object with why), nothing stored. Otherwise a job,
    at ``/import/jobs/{id}``, whose ``result`` is the same report once ``done``."""
    actor.require_write()
    spool = private_dir(get_settings(request).data_dir / "tmp")
    # Kept past this request: the job reads it, then deletes it.
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, removed by the job
        dir=spool, prefix="import-", suffix=".part", delete=False
    )
    path = Path(handle.name)
    try:
        with handle:
            async for chunk in request.stream():
                await run_in_threadpool(handle.write, chunk)

        def opener() -> IO[bytes]:
            return path.open("rb")

        fmt = await run_in_threadpool(kz.exchange.format_of, opener, format)
        if preview:
            report = await run_in_threadpool(
                kz.exchange.importer.run, actor, fmt, opener, write=False
            )
            path.unlink(missing_ok=True)
            return JSONResponse(report.as_dict(), status_code=status.HTTP_200_OK)
        job = await run_in_threadpool(kz.exchange.start, actor, fmt, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return JSONResponse(
        job.as_dict(),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": f"/api/v1/import/jobs/{job.id}"},
    )


@router.get("/import/jobs/{job_id}")
def import_job(kz: KizashiDep, actor: ActorDep, job_id: int) -> dict[str, Any]:
    """An import's ``status`` (queued, running, done, failed), ``done`` (objects read so
    far) and, once done, its ``result``; for whoever started it and admins."""
    return kz.exchange.job(actor, job_id).as_dict()


@router.get("/export")
def export(
    kz: KizashiDep,
    actor: ActorDep,
    format: Annotated[str, Query(max_length=32)] = "stix",
    q: Annotated[str | None, Query(max_length=4000, description="A search query")] = None,
    tags: Annotated[str | None, Query(max_length=2000, description="A tag filter")] = None,
    id: Annotated[list[str] | None, Query(max_length=200)] = None,
    type: Annotated[list[str] | None, Query(max_length=64)] = None,
    depth: Annotated[int, Query(ge=0, le=5)] = 0,
    revoked: bool = False,
) -> StreamingResponse:
    """A selection (everything the asker may read by default) in ``format``: a STIX 2.1
    bundle unless another is named. ``depth`` adds what the selection refers to and the
    relationships that touch it, that many steps out."""
    selection = Selection(
        query=q,
        tags=tags,
        ids=tuple(id or ()),
        types=tuple(type or ()),
        depth=depth,
        include_revoked=revoked,
    )
    fmt = kz.exchange.writer(format)
    out = tempfile.SpooledTemporaryFile(max_size=8 * CHUNK)  # noqa: SIM115 - closed by chunks()
    try:
        kz.exchange.export(actor, out, selection, format=fmt.name)
    except BaseException:
        out.close()  # a selection refused (an id not found, a bad query): nothing to send
        raise
    out.seek(0)

    def chunks() -> Iterator[bytes]:
        with out:
            while block := out.read(CHUNK):
                yield block

    return StreamingResponse(
        chunks(),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f'attachment; filename="kizashi-export.{fmt.extension}"'},
    )
