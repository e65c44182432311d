"""Summaries in the UI: a panel on tag, feed and search pages starts a summary of what
they show over a period, in the background, and shows its progress, then the summary
with each sentence's sources linked."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from kizashi.api.deps import check_csrf, get_kizashi
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.summaries import SummaryRequest
from kizashi.web.deps import FormFields, PageActor
from kizashi.web.render import page

router = APIRouter()


def providers(kz: Kizashi) -> list[str]:
    """The summary providers this installation has (the panel's choice)."""
    return ["extractive", *(["openai"] if kz.llm is not None else [])]


@router.post("/ui/summaries")
def start(request: Request, actor: PageActor, f: FormFields) -> Response:
    check_csrf(request, f.get("csrf"))
    kz = get_kizashi(request)
    days = int(f.get("days") or "7") if (f.get("days") or "7").isdigit() else 7
    since = None
    if days:
        since = (kz.ctx.clock() - timedelta(days=days)).strftime("%Y-%m-%d")
    stix_id = f.get("id") or None
    wanted = SummaryRequest(
        id=stix_id,
        query="" if stix_id else f.get("q", "")[:4000],
        since=None if stix_id else since,
        provider=f.get("provider") or "extractive",
        language=f.get("language") or None,
    )
    try:
        job = kz.summaries.start(actor, wanted)
    except KizashiError as exc:
        return page(request, "_summary_job.html", actor=actor, job=None, error=exc)
    return page(request, "_summary_job.html", actor=actor, job=job, error=None)


@router.get("/ui/summaries/{job_id}")
def progress(request: Request, actor: PageActor, job_id: int) -> Response:
    job = get_kizashi(request).summaries.job(actor, job_id)
    return page(request, "_summary_job.html", actor=actor, job=job, error=None)
