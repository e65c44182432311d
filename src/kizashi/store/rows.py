"""Row types the repositories return: plain data, no database handles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectRow:
    pk: int
    id: str
    type: str
    name: str
    value: str | None
    created: str | None
    modified: str | None
    published: str | None
    tlp: str | None
    revoked: bool
    version: int
    data: str
    action: str
    updated_by: int | None
    updated_at: str
    created_by: int | None = None  # the user who stored it (TLP:RED: its reader)
    tlp_derived: bool = False  # the marking came from the reports that mention it
    loose_labels: str | None = None  # JSON: imported labels that are not held as tags
    stored_at: str | None = None  # when Kizashi first stored it (the pk's order)


@dataclass(frozen=True)
class TagRow:
    pk: int
    name: str
    namespace: str | None
    predicate: str | None
    value: str | None
    colour: str | None
    description: str | None
    #: Made on purpose (the tags page, the API), not only by tagging: see schema.tags.
    defined: bool = False
    count: int = 0


@dataclass(frozen=True)
class VersionRow:
    version: int
    action: str
    modified: str | None
    data: str
    changed_by: str | None
    changed_at: str


#: How many of a tag's newest objects a page's related tags count (see :meth:`TagService.related`).
RELATED_SAMPLE = 1000


@dataclass(frozen=True)
class RelatedTags:
    """Tags that occur with some tags, counted on ``counted`` objects; ``sampled`` when
    those were a tag's newest objects and not all of them."""

    tags: list[tuple[str, int]]
    counted: int
    sampled: bool
    sample: int
