"""``/api/v1/summaries``: a summary of one article or of a selection, with citations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field, model_validator

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import ErrorOut
from kizashi.services.summaries import SummaryRequest

router = APIRouter(
    prefix="/summaries",
    tags=["summaries"],
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


class SummaryIn(BaseModel):
    """Either ``id`` (one article) or a selection (``query`` and/or dates)."""

    id: Annotated[str | None, Field(max_length=200)] = None
    query: Annotated[str, Field(max_length=4000)] = ""
    since: Annotated[str | None, Field(max_length=40)] = None
    until: Annotated[str | None, Field(max_length=40)] = None
    provider: Annotated[str, Field(max_length=32)] = "extractive"
    budget: Annotated[int, Field(ge=0, le=8000, description="Characters; 0: the default")] = 0
    limit: Annotated[int, Field(ge=1, le=1000, description="Newest items of a selection")] = 1000
    language: Annotated[
        Literal["ja", "en"] | None,
        Field(description="Output language (another than the articles' needs an LLM)"),
    ] = None

    @model_validator(mode="after")
    def one_subject(self) -> SummaryIn:
        if self.id and (self.query or self.since or self.until):
            raise ValueError("give either id or a selection (query, since, until), not both")
        return self


@router.post("")
def summarise(kz: KizashiDep, actor: ActorDep, body: SummaryIn) -> dict[str, Any]:
    """Summarise an article (``id``), or the newest ``limit`` items a search selects
    (``query``, ``since``, ``until``). The answer has ``summary``, its ``statements``
    each citing ``citations`` by number, key ``points``, what the inputs mention
    (indicators, vulnerabilities, ATT&CK ids, actors), and how it was made (``provider``,
    ``model``, ``template_version``, ``inputs``, ``created``; ``cached`` when reused,
    ``fallback`` when the LLM gave no usable answer and ``note`` says why)."""
    return kz.summaries.make(actor, _request(body)).as_dict()


def _request(body: SummaryIn) -> SummaryRequest:
    return SummaryRequest(
        id=body.id,
        query=body.query,
        since=body.since,
        until=body.until,
        provider=body.provider,
        budget=body.budget,
        limit=body.limit,
        language=body.language,
    )


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED)
def start_summary(kz: KizashiDep, actor: ActorDep, body: SummaryIn) -> dict[str, Any]:
    """The same summary made in the background: follow ``/summaries/jobs/{id}`` for its
    ``status`` (queued, running, done, failed), progress (``done`` of ``total`` items)
    and, once done, the ``summary``."""
    return kz.summaries.start(actor, _request(body)).as_dict()


@router.get("/jobs/{job_id}")
def summary_job(kz: KizashiDep, actor: ActorDep, job_id: int) -> dict[str, Any]:
    """A background summary, for whoever asked for it (and admins)."""
    return kz.summaries.job(actor, job_id).as_dict()
