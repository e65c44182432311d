"""``/api/v1/lookup``, ``/api/v1/extract`` and an object's indicator view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import (
    ErrorOut,
    ExtractIn,
    HitOut,
    IndicatorOut,
    LookupIn,
    LookupOut,
    MentionOut,
)
from kizashi.services.indicators import Overview
from kizashi.store.mentions import MentionRow
from kizashi.text.extract import extract

router = APIRouter(
    tags=["indicators"], responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}}
)
#: Values one GET may carry; longer lists go in a POST body.
GET_LIMIT = 1000


@router.get("/lookup", response_model=list[LookupOut])
def lookup(
    kz: KizashiDep,
    actor: ActorDep,
    value: Annotated[list[str], Query(max_length=GET_LIMIT, description="Repeat for several.")],
) -> JSONResponse:
    """Known or not, and where: reports, sources, first and last seen, for each value."""
    return JSONResponse([r.as_dict() for r in kz.indicators.lookup(actor, value)])


@router.post("/lookup", response_model=list[LookupOut])
def lookup_many(kz: KizashiDep, actor: ActorDep, body: LookupIn) -> JSONResponse:
    """The same for up to 100,000 values in one call, answered in the order asked."""
    return JSONResponse([r.as_dict() for r in kz.indicators.lookup(actor, body.values)])


@router.post("/extract", response_model=list[HitOut])
def extract_text(_actor: ActorDep, body: ExtractIn) -> JSONResponse:
    """Every indicator in a text with its offsets and flags; nothing is stored."""
    hits = extract(body.text, warninglists=body.warninglists)
    return JSONResponse([h.as_dict() for h in hits])


@router.get("/objects/{stix_id}/indicator", response_model=IndicatorOut)
def indicator(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """Where an indicator was seen: totals, reports with the sentence, co-occurring values."""
    return overview_dict(kz.indicators.overview(actor, stix_id))


@router.get("/objects/{stix_id}/mentions", response_model=list[MentionOut])
def mentions(kz: KizashiDep, actor: ActorDep, stix_id: str) -> list[dict[str, Any]]:
    """The indicators a report mentions, each with the sentence it was found in."""
    return [mention_dict(m) for m in kz.indicators.in_report(actor, stix_id)]


def overview_dict(o: Overview) -> dict[str, Any]:
    return {
        "reports": o.reports,
        "sources": o.sources,
        "first_seen": o.first_seen,
        "last_seen": o.last_seen,
        "mentions": [mention_dict(m) for m in o.mentions],
        "co_occurring": [
            {"type": k, "value": v, "object_id": i, "reports": n} for k, v, i, n in o.co_occurring
        ],
        "co_occurring_sample": o.co_occurring_sample,
    }


def mention_dict(m: MentionRow) -> dict[str, Any]:
    return {
        "report_id": m.report_id,
        "report_name": m.report_name,
        "type": m.kind,
        "value": m.value,
        "object_id": m.object_id,
        "occurrences": m.occurrences,
        "context": m.context,
        "context_start": m.context_start,
        "context_end": m.context_end,
        "flags": m.flags.split(",") if m.flags else [],
        "seen_at": m.seen_at,
        "source": m.source,
    }
