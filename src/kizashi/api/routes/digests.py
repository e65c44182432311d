"""``/api/v1/digests``: selections summarised every day or week, and their last run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import ErrorOut

router = APIRouter(
    prefix="/digests",
    tags=["summaries"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)


class DigestIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    query: Annotated[str, Field(max_length=4000)] = ""
    days: Annotated[int, Field(ge=1, le=90, description="The days before each run")] = 7
    every: Literal["daily", "weekly"] = "weekly"
    provider: Annotated[str, Field(max_length=32)] = "extractive"
    language: Literal["ja", "en"] | None = None


@router.get("")
def list_digests(kz: KizashiDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Your digests (an admin's: everyone's)."""
    return [d.as_dict() for d in kz.digests.list(actor)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_digest(kz: KizashiDep, actor: ActorDep, body: DigestIn) -> dict[str, Any]:
    """A digest, first made at the scheduler's next round, then every day or week."""
    made = kz.digests.create(
        actor,
        body.name,
        query=body.query,
        days=body.days,
        every=body.every,
        provider=body.provider,
        language=body.language,
    )
    return made.as_dict()


@router.get("/{name}")
def get_digest(kz: KizashiDep, actor: ActorDep, name: str) -> dict[str, Any]:
    """The digest and its last run (``latest``: status, progress, summary)."""
    latest = kz.digests.latest(actor, name)
    return kz.digests.get(actor, name).as_dict() | {"latest": latest.as_dict() if latest else None}


@router.post("/{name}/run")
def run_digest(kz: KizashiDep, actor: ActorDep, name: str) -> dict[str, Any]:
    """Run it now, whatever its schedule (the answer is the finished job)."""
    return kz.digests.run(actor, name).as_dict()


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_digest(kz: KizashiDep, actor: ActorDep, name: str) -> Response:
    kz.digests.delete(actor, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
