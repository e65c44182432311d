"""How stored objects look to callers (views, pages, versions) and how STIX becomes a row."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, invalid, problem
from kizashi.model.observables import lookup_value
from kizashi.services.tags import canonical as canonical_tag
from kizashi.store.rows import ObjectRow


@dataclass(frozen=True)
class ObjectView:
    id: str
    type: str
    name: str
    tlp: str | None
    revoked: bool
    version: int
    created: str | None
    modified: str | None
    updated_at: str
    stix: dict[str, Any]
    tags: list[str]
    #: When Kizashi first stored it (lists in stored order show it).
    stored_at: str | None = None

    @property
    def deprecated(self) -> bool:
        """Its producer deprecated it (ATT&CK's ``x_mitre_deprecated``): still valid,
        no longer maintained; unlike a revoked object, nothing replaces it."""
        return self.stix.get("x_mitre_deprecated") is True

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "tlp": self.tlp,
            "revoked": self.revoked,
            "deprecated": self.deprecated,
            "version": self.version,
            "created": self.created,
            "modified": self.modified,
            "updated_at": self.updated_at,
            "tags": self.tags,
            "stix": self.stix,
        }


@dataclass(frozen=True)
class Page:
    items: list[ObjectView]
    next_cursor: str | None
    #: The page before this one (None on the first page).
    prev_cursor: str | None = None


@dataclass(frozen=True)
class VersionView:
    version: int
    #: What made this version: create, update, revoke or restore.
    action: str
    modified: str | None
    #: Who made it (a user name; None for Kizashi itself or a user since deleted).
    changed_by: str | None
    changed_at: str
    stix: dict[str, Any]
    #: True for the version that is the object now (the first of a history).
    current: bool = False


@dataclass
class BulkResult:
    created: int = 0
    existing: int = 0
    ids: list[str] = field(default_factory=list)
    #: The new objects' row keys by STIX id (for callers that write beside them).
    pks: dict[str, int] = field(default_factory=dict)


def stix_out(row: ObjectRow, tags: Sequence[str]) -> dict[str, Any]:
    """The object as STIX, with Kizashi's tags as ``labels`` and TLP as a marking.

    An imported object keeps its own labels and markings in its JSON: they come out as
    they went in (in their order and spelling), less a label whose tag an analyst took
    away (a label Kizashi could not hold as a tag, ``row.loose_labels``, stays), plus the
    tags added since; its TLP marking stays where it was unless the level
    changed."""
    data: dict[str, Any] = json.loads(row.data)
    held = [t for t in tags if not t.startswith("tlp:")]
    own = data.get("labels")
    if isinstance(own, list):
        loose = set(json.loads(row.loose_labels)) if row.loose_labels else set()
        kept, covered = [], set()
        for label in own:
            name = _tag_name(label)
            if name is None or name in tags or label in loose:
                kept.append(label)  # a label that is no tag, or whose tag is still held
            if name is not None:
                covered.add(name)
        labels = kept + [t for t in held if t not in covered]
        if labels:
            data["labels"] = labels
        else:
            data.pop("labels")
    elif held and not stix_model.is_observable(row.type):
        data["labels"] = held
    refs = data.get("object_marking_refs")
    refs = list(refs) if isinstance(refs, list) else []
    levels = [r for r in refs if r in tlp_model.LEVEL_BY_ID]
    # A marking of the level already there (TLP 2.0, or 1.0 as older producers write it)
    # stays where it is; another level's is replaced, at the end.
    if not (row.tlp and len(levels) == 1 and tlp_model.LEVEL_BY_ID[levels[0]] == row.tlp):
        refs = [r for r in refs if r not in tlp_model.LEVEL_BY_ID]
        refs += [tlp_model.MARKING_IDS[row.tlp]] if row.tlp else []
    if refs:
        data["object_marking_refs"] = refs
    else:
        data.pop("object_marking_refs", None)
    return data


def _tag_name(label: Any) -> str | None:
    """The tag a label is stored as, if it can be one."""
    if not isinstance(label, str):
        return None
    try:
        return canonical_tag(label)
    except KizashiError:
        return None


def view_of(row: ObjectRow, tags: Sequence[str]) -> ObjectView:
    return ObjectView(
        id=row.id,
        type=row.type,
        name=row.name,
        tlp=row.tlp,
        revoked=row.revoked,
        version=row.version,
        created=row.created,
        modified=row.modified,
        updated_at=row.updated_at,
        stored_at=row.stored_at or row.updated_at,
        stix=stix_out(row, tags),
        tags=list(tags),
    )


def refs_of(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``*_ref``/``*_refs`` an object points along, except authorship and markings."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        if key in ("created_by_ref", "object_marking_refs"):
            continue
        if key.endswith("_ref") and isinstance(value, str):
            out.append((key, value))
        elif key.endswith("_refs") and isinstance(value, list):
            out.extend((key, v) for v in value if isinstance(v, str))
    return out


def split_tlp(data: dict[str, Any], explicit: str | None) -> str | None:
    """Take TLP markings out of the stored JSON: the ``tlp`` column is their home."""
    refs = data.get("object_marking_refs")
    level = None
    if isinstance(refs, list):
        level = tlp_model.level_of(refs)
        rest = [r for r in refs if r not in tlp_model.LEVEL_BY_ID]
        if rest:
            data["object_marking_refs"] = rest
        else:
            data.pop("object_marking_refs", None)
    return checked_level(explicit) if explicit else level


def checked_level(text: str) -> str:
    """A TLP level as Kizashi spells it, or "invalid" saying which levels there are."""
    level = tlp_model.normalise(text)
    if level is None:
        raise invalid(
            "%(level)r is not a TLP level.",
            [problem("tlp", "one of %(choices)s", choices=", ".join(tlp_model.LEVELS))],
            level=text,
        )
    return level


def row_values(data: dict[str, Any], tlp: str | None, actor: Actor, stamp: str) -> dict[str, Any]:
    return {
        "id": data["id"],
        "type": data["type"],
        "name": stix_model.display_name(data),
        "value": lookup_value(data),
        "created": data.get("created"),
        "modified": data.get("modified"),
        "published": data.get("published"),
        "tlp": tlp,
        "revoked": bool(data.get("revoked", False)),
        "version": 1,
        "data": stix_model.compact_json(data),
        "created_by": actor.user_pk,
        "action": "create",
        "updated_by": actor.user_pk,
        "updated_at": stamp,
    }
