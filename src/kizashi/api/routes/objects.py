"""``/api/v1/objects``: STIX objects, their tags, history and neighbours."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response

from kizashi.api.deps import ActorDep, KizashiDep
from kizashi.api.schemas import (
    BulkIn,
    BulkOut,
    CreatedOut,
    EntityGraphOut,
    ErrorOut,
    NeighbourhoodOut,
    ObjectOut,
    PageOut,
    TagsIn,
    TagsOut,
    VersionOut,
)

router = APIRouter(
    prefix="/objects",
    tags=["objects"],
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("", status_code=201, response_model=CreatedOut)
def create_object(
    kz: KizashiDep,
    actor: ActorDep,
    response: Response,
    body: Annotated[dict[str, Any], Body(description="A STIX 2.1 object; labels become tags.")],
    tag: Annotated[list[str], Query(description="Tags to add (repeatable).")] = [],  # noqa: B006
    tlp: Annotated[
        str | None, Query(description="clear, green, amber, amber+strict or red")
    ] = None,
) -> dict[str, Any]:
    """Create an object. An observable that exists already is returned with 200."""
    view, created = kz.objects.create(actor, body, tags=tag, tlp=tlp)
    if not created:
        response.status_code = 200
    return view.as_dict() | {"created_now": created}


@router.get("", response_model=PageOut)
def list_objects(
    kz: KizashiDep,
    actor: ActorDep,
    type: Annotated[list[str], Query(description="STIX types (repeatable).")] = [],  # noqa: B006
    tags: Annotated[
        str | None, Query(description='Tag filter: a AND (b OR c) NOT d; "quoted names".')
    ] = None,
    tag: Annotated[
        list[str], Query(description="Tags that must all be present (repeatable).")
    ] = [],  # noqa: B006
    q: Annotated[str | None, Query(description="Text in the name or value.")] = None,
    tlp: Annotated[list[str], Query()] = [],  # noqa: B006
    created_from: Annotated[
        str | None, Query(description="ISO date or timestamp, inclusive.")
    ] = None,
    created_to: Annotated[
        str | None, Query(description="ISO date or timestamp, inclusive.")
    ] = None,
    include_revoked: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
    sort: Annotated[
        Literal["stored", "modified", "oldest", "created", "name"],
        Query(
            description="stored (newest stored first), modified (newest modified first), "
            "oldest (oldest modified first), created (newest created first), name (A to Z)."
        ),
    ] = "stored",
) -> dict[str, Any]:
    """List objects (newest stored first unless ``sort`` says otherwise), with cursor
    pagination; a cursor is good for the sort it was made in."""
    page = kz.objects.list(
        actor,
        types=type,
        tags=tags,
        all_tags=tag,
        text=q,
        tlp=tlp,
        created_from=created_from,
        created_to=created_to,
        include_revoked=include_revoked,
        limit=limit,
        cursor=cursor,
        sort=sort,
    )
    return {"items": [v.as_dict() for v in page.items], "next_cursor": page.next_cursor}


@router.post("/bulk", response_model=BulkOut, responses={403: {"model": ErrorOut}})
def bulk_change(kz: KizashiDep, actor: ActorDep, body: BulkIn) -> dict[str, Any]:
    """Add tags, remove tags and set the TLP of many objects, each as its own change: an
    object you may not read is ``not_found`` and left alone, the others still change."""
    report = kz.objects.retag(
        actor, body.ids, add=body.add_tags, remove=body.remove_tags, tlp=body.tlp
    )
    return report.as_dict()


@router.get("/{stix_id}", response_model=ObjectOut, responses={404: {"model": ErrorOut}})
def get_object(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """One object by its STIX id."""
    return kz.objects.get(actor, stix_id).as_dict()


@router.patch("/{stix_id}", response_model=ObjectOut, responses={404: {"model": ErrorOut}})
def update_object(
    kz: KizashiDep,
    actor: ActorDep,
    stix_id: str,
    changes: Annotated[dict[str, Any], Body(description="Properties to set; null removes one.")],
) -> dict[str, Any]:
    """Edit an object: a new version with a later `modified`; the old one is kept."""
    return kz.objects.update(actor, stix_id, changes).as_dict()


@router.delete("/{stix_id}", response_model=ObjectOut, responses={404: {"model": ErrorOut}})
def revoke_object(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """Revoke (STIX's delete): hidden from lists, kept, recoverable by an admin."""
    return kz.objects.revoke(actor, stix_id).as_dict()


@router.post("/{stix_id}/restore", response_model=ObjectOut)
def restore_object(kz: KizashiDep, actor: ActorDep, stix_id: str) -> dict[str, Any]:
    """Undo a revoke (admin)."""
    return kz.objects.restore(actor, stix_id).as_dict()


@router.get("/{stix_id}/history", response_model=list[VersionOut])
def object_history(kz: KizashiDep, actor: ActorDep, stix_id: str) -> list[dict[str, Any]]:
    """Every version, newest first."""
    return [v.__dict__ for v in kz.objects.history(actor, stix_id)]


@router.get("/{stix_id}/neighbours", response_model=NeighbourhoodOut)
def object_neighbours(
    kz: KizashiDep, actor: ActorDep, stix_id: str, depth: Annotated[int, Query(ge=1, le=2)] = 1
) -> dict[str, Any]:
    """Objects one or two relationship hops away, and objects that refer to this one."""
    return kz.relationships.neighbours(actor, stix_id, depth).as_dict()


@router.get("/{stix_id}/graph", response_model=EntityGraphOut)
def object_graph(
    kz: KizashiDep,
    actor: ActorDep,
    stix_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 40,
) -> dict[str, Any]:
    """The object and everything one hop away: relationships, its own refs, and the
    objects that refer to it (``limit`` of each, newest first; ``more`` counts the rest).
    Expand a node by asking for its graph."""
    return kz.entity_graph.graph(actor, stix_id, limit=limit).as_dict()


@router.post("/{stix_id}/tags", response_model=TagsOut)
def add_tags(kz: KizashiDep, actor: ActorDep, stix_id: str, body: TagsIn) -> dict[str, Any]:
    """Add tags (created on first use; taxonomy tags must be valid values)."""
    return {"id": stix_id, "tags": kz.tags.tag(actor, stix_id, body.tags)}


@router.delete("/{stix_id}/tags", response_model=TagsOut)
def remove_tags(
    kz: KizashiDep, actor: ActorDep, stix_id: str, tag: Annotated[list[str], Query(min_length=1)]
) -> dict[str, Any]:
    """Remove tags given as ?tag=…&tag=…."""
    return {"id": stix_id, "tags": kz.tags.untag(actor, stix_id, tag)}
