"""``/api/v1/relationships``: typed links between objects."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import Edge, ErrorOut, ObjectOut, RelationshipIn
from kizashi.services.relationships import VOCABULARY

router = APIRouter(
    prefix="/relationships",
    tags=["relationships"],
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("", response_model=ObjectOut, status_code=201)
def create_relationship(kz: KizashiDep, actor: ActorDep, body: RelationshipIn) -> dict[str, Any]:
    """Relate two stored objects (STIX relationship vocabulary, or your own type)."""
    view = kz.relationships.create(
        actor,
        body.source_ref,
        body.relationship_type,
        body.target_ref,
        description=body.description,
        confidence=body.confidence,
        tags=body.tags,
    )
    return view.as_dict()


@router.get("", response_model=list[Edge])
def list_relationships(
    kz: KizashiDep, actor: ActorDep, ref: Annotated[str, Query(description="An object's STIX id.")]
) -> list[dict[str, Any]]:
    """The relationships that have ``ref`` at either end."""
    return [e.as_dict() for e in kz.relationships.neighbours(actor, ref, 1).edges]


@router.get("/vocabulary", response_model=list[str])
def vocabulary(_actor: ActorDep) -> list[str]:
    """Relationship types STIX 2.1 names."""
    return list(VOCABULARY)


@router.get("/{stix_id}", response_model=ObjectOut)
def get_relationship(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """One relationship."""
    return kz.relationships.get_edge(actor, stix_id).as_dict()
