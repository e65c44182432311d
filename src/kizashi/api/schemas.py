"""Request and response shapes: separate models for what comes in and what goes out."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    loc: str
    msg: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable, e.g. validation_failed, not_found, forbidden.")
    message: str = Field(description="What went wrong, in a sentence.")
    problems: list[Problem] = []


class ErrorOut(BaseModel):
    error: ErrorDetail


class ObjectOut(BaseModel):
    id: str
    type: str
    name: str
    tlp: str | None
    revoked: bool
    deprecated: bool = Field(
        default=False, description="Deprecated by its producer (ATT&CK): kept, not replaced."
    )
    version: int
    created: str | None
    modified: str | None
    updated_at: str
    tags: list[str]
    stix: dict[str, Any] = Field(
        description="The object as STIX 2.1, with tags as labels and TLP as a marking."
    )


class CreatedOut(ObjectOut):
    created_now: bool = Field(description="False when an identical observable existed already.")


class PageOut(BaseModel):
    items: list[ObjectOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


class VersionOut(BaseModel):
    version: int
    action: str = Field(description="What made this version: create, update, revoke, restore.")
    modified: str | None
    changed_by: str | None = Field(description="The user who made it (null: Kizashi itself).")
    changed_at: str
    stix: dict[str, Any]
    current: bool = Field(False, description="True for the version the object is now.")


class TagsIn(BaseModel):
    tags: list[str] = Field(min_length=1)


class TagsOut(BaseModel):
    id: str
    tags: list[str]


class BulkIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=500, description="STIX ids of the objects.")
    add_tags: list[str] = Field(default_factory=list, description="Tags to add to each.")
    remove_tags: list[str] = Field(default_factory=list, description="Tags to take off each.")
    tlp: str | None = Field(
        default=None, description="Mark each: clear, green, amber, amber+strict or red."
    )


class BulkResultOut(BaseModel):
    id: str
    status: str = Field(
        description="changed, unchanged, not_found (missing or not for you) or failed."
    )
    tags: list[str] = Field(description="The object's tags after the change.")
    message: str | None = Field(description="Why it failed, for status failed.")


class BulkOut(BaseModel):
    changed: int
    unchanged: int
    refused: int = Field(description="Objects left as they were: not_found and failed.")
    results: list[BulkResultOut]


class TagIn(BaseModel):
    name: str
    colour: str | None = Field(default=None, description="#rrggbb")
    description: str | None = None


class TagPatch(BaseModel):
    name: str | None = Field(
        default=None, description="Rename; an existing name merges the two tags."
    )
    colour: str | None = None
    description: str | None = None


class TagOut(BaseModel):
    name: str
    namespace: str | None
    colour: str | None
    description: str | None
    count: int


class MergeIn(BaseModel):
    sources: list[str] = Field(min_length=1)
    target: str


class NeighbourTag(BaseModel):
    name: str
    count: int


class RelationshipIn(BaseModel):
    source_ref: str
    relationship_type: str = "related-to"
    target_ref: str
    description: str | None = None
    confidence: int | None = Field(default=None, ge=0, le=100)
    tags: list[str] = []


class Edge(BaseModel):
    id: str
    relationship_type: str
    source_ref: str
    target_ref: str


class NodeOut(BaseModel):
    id: str
    type: str
    name: str
    tlp: str | None
    tags: list[str]


class Referrer(BaseModel):
    id: str
    property: str


class NeighbourhoodOut(BaseModel):
    root: str
    nodes: list[NodeOut]
    edges: list[Edge]
    referrers: list[Referrer]


class GraphNodeOut(NodeOut):
    revoked: bool


class GraphEdgeOut(BaseModel):
    id: str
    source: str
    target: str
    label: str = Field(description="The relationship type, or the referring property")
    kind: str = Field(description="relationship | ref")


class EntityGraphOut(BaseModel):
    root: str
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]
    more: dict[str, int] = Field(
        description="Edges left out beyond the limit: relationship, refers, referred"
    )


class TokenIn(BaseModel):
    name: str = Field(max_length=100)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class NewTokenOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")


class UserIn(BaseModel):
    username: str
    password: str
    role: str = "analyst"


class UserPatch(BaseModel):
    role: str | None = None
    disabled: bool | None = None
    password: str | None = None


class UserOut(BaseModel):
    username: str
    role: str
    disabled: bool
    identity_id: str
    created_at: str


class TaxonomyOut(BaseModel):
    namespace: str
    description: str
    version: int
    exclusive: bool
    enabled: bool
    values: int


class TaxonomyPatch(BaseModel):
    enabled: bool


class LookupIn(BaseModel):
    values: list[str] = Field(
        max_length=100_000, description="Values to look up, defanged or not (up to 100,000)."
    )


class ObjectRefOut(BaseModel):
    id: str
    type: str


class LookupOut(BaseModel):
    query: str = Field(description="The value as asked.")
    value: str = Field(description="The value refanged and normalised, as stored.")
    type: str | None = Field(description="What the value is (ipv4, domain, cve…), if recognised.")
    known: bool
    objects: list[ObjectRefOut]
    reports: int = Field(description="Live reports that mention it.")
    sources: int = Field(description="Distinct sources of those reports.")
    first_seen: str | None
    last_seen: str | None


class ExtractIn(BaseModel):
    text: str = Field(description="Any text; nothing is stored.")
    warninglists: bool = True


class HitOut(BaseModel):
    type: str
    value: str
    start: int = Field(description="Offset of the first character, in characters of the text.")
    end: int
    flags: list[str]


class MentionOut(BaseModel):
    report_id: str
    report_name: str
    type: str
    value: str
    object_id: str | None = None
    occurrences: int
    context: str = Field(description="The sentence the value was found in.")
    context_start: int = Field(description="Where the value starts inside the sentence.")
    context_end: int
    flags: list[str]
    seen_at: str
    source: str


class CoOccurringOut(BaseModel):
    type: str
    value: str
    object_id: str | None
    reports: int


class IndicatorOut(BaseModel):
    reports: int
    sources: int
    first_seen: str | None
    last_seen: str | None
    mentions: list[MentionOut]
    co_occurring: list[CoOccurringOut]
    #: Set when ``co_occurring`` was counted in the newest reports only (this many).
    co_occurring_sample: int | None = None
