"""What storing an object calls beyond the store, set by the application: extraction
(which reads a report for indicators and links them) and auto-tagging rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from kizashi.model.actor import Actor


class Linker(Protocol):
    """Extraction seen from here: plans refs for reports, stores what a plan found."""

    def plan(self, conn: Connection, raws: Sequence[Mapping[str, Any]]) -> list[Any]: ...

    def store_in(
        self,
        conn: Connection,
        actor: Actor,
        reports: Sequence[tuple[int, Mapping[str, Any], Any]],
        *,
        fresh: bool = False,
    ) -> None: ...

    def upgrade_stubs(
        self, conn: Connection, actor: Actor, created: Iterable[Mapping[str, Any]]
    ) -> int: ...

    def forget_in(self, conn: Connection, report_pk: int) -> None: ...

    def relink_in(self, conn: Connection, actor: Actor, report_ids: Sequence[str]) -> None: ...

    def lower_derived(
        self, conn: Connection, actor: Actor, wanted: Mapping[int, str | None]
    ) -> None: ...


class Tagger(Protocol):
    """Auto-tagging rules seen from here: run over objects just stored or edited."""

    def apply_in(self, conn: Connection, actor: Actor, object_pks: Sequence[int]) -> int: ...


@dataclass
class Hooks:
    """Set by the application once both services exist (None: nothing runs)."""

    #: Indicator extraction for reports.
    linker: Linker | None = None
    #: Auto-tagging rules.
    tagger: Tagger | None = None


def with_refs(raw: Mapping[str, Any], found: Sequence[str]) -> dict[str, Any]:
    """The report's refs plus the indicators found in it (once each, in order).

    A report with no refs of its own referred to its author to stay valid STIX; once
    something is found, the indicators take that place.
    """
    out = dict(raw)
    if not found:
        return out
    refs = [r for r in (raw.get("object_refs") or []) if isinstance(r, str)]
    author = raw.get("created_by_ref")
    if refs == [author]:
        refs = []
    out["object_refs"] = list(dict.fromkeys([*refs, *found]))
    return out
