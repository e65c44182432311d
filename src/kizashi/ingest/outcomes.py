"""What happened to one feed item: exactly one of these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stored:
    """A new report."""

    object_id: str


@dataclass(frozen=True)
class Updated:
    """The article changed: its report got a new version."""

    object_id: str


@dataclass(frozen=True)
class Duplicate:
    """Seen before (same GUID, canonical URL or content): nothing new was written."""

    object_id: str


@dataclass(frozen=True)
class Rejected:
    """Not stored, and why."""

    reason: str


Outcome = Stored | Updated | Duplicate | Rejected
OUTCOME_NAMES: dict[type, str] = {
    Stored: "stored",
    Updated: "updated",
    Duplicate: "duplicate",
    Rejected: "rejected",
}
