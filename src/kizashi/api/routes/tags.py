"""``/api/v1/tags`` and ``/api/v1/taxonomies``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import (
    ErrorOut,
    MergeIn,
    NeighbourTag,
    TagIn,
    TagOut,
    TagPatch,
    TaxonomyOut,
    TaxonomyPatch,
)
from kizashi.services import taxonomies

router = APIRouter(tags=["tags"], responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})


@router.get("/tags", response_model=list[TagOut])
def list_tags(
    kz: KizashiDep,
    actor: ActorDep,
    prefix: str | None = None,
    namespace: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Tags with how many objects carry each, most used first."""
    found = kz.tags.list(actor, prefix=prefix, namespace=namespace, limit=limit)
    return [t.as_dict() for t in found]


@router.get("/tags/suggest", response_model=list[str])
def suggest_tags(
    kz: KizashiDep,
    actor: ActorDep,
    prefix: str = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[str]:
    """Autocomplete: existing tags, then values of enabled taxonomies."""
    return kz.tags.suggest(actor, prefix, limit)


@router.post("/tags", response_model=TagOut, status_code=201)
def create_tag(kz: KizashiDep, actor: ActorDep, body: TagIn) -> dict[str, Any]:
    """Define a tag ahead of use, with colour and description."""
    return kz.tags.create(
        actor, body.name, colour=body.colour, description=body.description
    ).as_dict()


@router.post("/tags/merge", response_model=TagOut)
def merge_tags(kz: KizashiDep, actor: ActorDep, body: MergeIn) -> dict[str, Any]:
    """Fold several tags into one; every tagged object follows."""
    return kz.tags.merge(actor, body.sources, body.target).as_dict()


@router.get("/tags/{name:path}/neighbours", response_model=list[NeighbourTag])
def tag_neighbours(
    kz: KizashiDep, actor: ActorDep, name: str, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[dict[str, Any]]:
    """Tags that occur on the same objects, with counts."""
    return [{"name": n, "count": c} for n, c in kz.tags.neighbours(actor, name, limit)]


@router.get("/tags/{name:path}", response_model=TagOut)
def get_tag(kz: KizashiDep, actor: ActorDep, name: str) -> dict[str, Any]:
    """One tag."""
    return kz.tags.get(actor, name).as_dict()


@router.patch("/tags/{name:path}", response_model=TagOut)
def update_tag(kz: KizashiDep, actor: ActorDep, name: str, body: TagPatch) -> dict[str, Any]:
    """Change colour or description, or rename (into an existing name merges)."""
    return kz.tags.update(
        actor, name, new_name=body.name, colour=body.colour, description=body.description
    ).as_dict()


@router.get("/taxonomies", response_model=list[TaxonomyOut], tags=["taxonomies"])
def list_taxonomies(kz: KizashiDep, _actor: ActorDep) -> list[dict[str, Any]]:
    """Every MISP taxonomy shipped offline, and whether it is enabled here."""
    states = kz.tags.taxonomy_states()
    return [
        {
            "namespace": t.namespace,
            "description": t.description,
            "version": t.version,
            "exclusive": t.exclusive,
            "enabled": states.get(t.namespace, False),
            "values": len(t.tags),
        }
        for t in taxonomies.catalogue().values()
    ]


@router.put("/taxonomies/{namespace}", response_model=TaxonomyOut, tags=["taxonomies"])
def set_taxonomy(
    kz: KizashiDep, actor: ActorDep, namespace: str, body: TaxonomyPatch
) -> dict[str, Any]:
    """Enable or disable a taxonomy (admin)."""
    t = taxonomies.get(kz.tags.set_taxonomy(actor, namespace, body.enabled))
    return {
        "namespace": t.namespace,
        "description": t.description,
        "version": t.version,
        "exclusive": t.exclusive,
        "enabled": body.enabled,
        "values": len(t.tags),
    }
