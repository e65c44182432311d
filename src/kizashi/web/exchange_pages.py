"""Import and export in the UI: upload a file, see what it would change, then import it;
follow the import's job; export a selection in any format that writes.

The preview and the import read the same spooled file: the preview names it by a random
token bound to the user who uploaded it, so only they can go on with it, and it is
removed once imported, abandoned for a day, or replaced by their next upload.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from kizashi.api.deps import check_csrf, get_kizashi, get_settings
from kizashi.formats import Format, available
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, invalid, not_found
from kizashi.services.exchange import OUTCOMES
from kizashi.store.files import private_dir
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page

router = APIRouter()

#: How long an uploaded file waits for its import after the preview.
PREVIEW_TTL_SECONDS = 24 * 3600


def _readers() -> list[Format]:
    return [f for f in available().values() if f.can_read]


def _writers() -> list[Format]:
    return [f for f in available().values() if f.can_write]


def _spool(request: Request) -> Path:
    return private_dir(get_settings(request).data_dir / "tmp")


def _pending(request: Request, actor: Actor, token: str) -> Path:
    """The file the preview ``token`` names, for the user who uploaded it only."""
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        raise not_found("This upload was not found.")
    path = _spool(request) / f"preview-{actor.user_pk}-{token}.part"
    if not path.is_file():
        raise not_found("This upload was not found: it was imported, replaced or has expired.")
    return path


def _sweep(spool: Path, user_pk: int | None) -> None:
    """Remove expired previews, and the user's own earlier ones."""
    now = time.time()
    for old in spool.glob("preview-*.part"):
        mine = old.name.startswith(f"preview-{user_pk}-")
        try:
            if mine or now - old.stat().st_mtime > PREVIEW_TTL_SECONDS:
                old.unlink(missing_ok=True)
        except OSError:
            continue


def _import_page(
    request: Request,
    actor: Actor,
    *,
    error: KizashiError | None = None,
    status_code: int | None = None,
    **context: object,
) -> Response:
    return page(
        request,
        "import.html",
        status_code=status_code,
        actor=actor,
        readers=_readers(),
        writers=_writers(),
        outcomes=OUTCOMES,
        error=error,
        **context,
    )


@router.get("/import")
def import_form(request: Request, actor: PageActor) -> Response:
    return _import_page(request, actor)


@router.post("/import")
async def preview_upload(
    request: Request,
    actor: PageActor,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, File()] = "",
    format: Annotated[str, File()] = "",
) -> Response:
    """Spool the upload and show what importing it would change; nothing is stored."""
    actor.require_write()
    check_csrf(request, csrf)
    kz = get_kizashi(request)
    spool = _spool(request)
    await run_in_threadpool(_sweep, spool, actor.user_pk)
    token = secrets.token_urlsafe(18)
    path = spool / f"preview-{actor.user_pk}-{token}.part"

    def save() -> None:
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1024 * 1024)
        if path.stat().st_size == 0:
            raise invalid("The file is empty.", [Problem("file", "empty")])

    def opener() -> IO[bytes]:
        return path.open("rb")

    try:
        await run_in_threadpool(save)
        fmt = await run_in_threadpool(kz.exchange.format_of, opener, format or None)
        report = await run_in_threadpool(kz.exchange.importer.run, actor, fmt, opener, write=False)
    except KizashiError as exc:
        path.unlink(missing_ok=True)
        return _import_page(request, actor, error=exc, status_code=422)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return _import_page(
        request,
        actor,
        report=report,
        token=token,
        chosen=fmt,
        filename=file.filename or "",
        size=path.stat().st_size,
    )


@router.post("/import/confirm")
def confirm_import(request: Request, actor: PageActor, f: FormFields) -> Response:
    """Import the previewed file, as a job; its page follows it."""
    actor.require_write()
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    path = _pending(request, actor, f.get("token", ""))
    fmt = kz.exchange.format_of(lambda: path.open("rb"), f.get("format") or None)
    job = kz.exchange.start(actor, fmt, path)
    return RedirectResponse(f"/import/jobs/{job.id}", status_code=303)


@router.get("/import/jobs/{job_id}")
def import_job_page(request: Request, actor: PageActor, job_id: int) -> Response:
    job = get_kizashi(request).exchange.job(actor, job_id)
    return page(request, "import_job.html", actor=actor, job=job, outcomes=OUTCOMES)
