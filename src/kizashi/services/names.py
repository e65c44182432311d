"""Linking by name: a report that names a stored group, piece of software, campaign,
technique or mitigation (its name or an alias, in English or Japanese) refers to it and
records the mention, as an ATT&CK id does (:mod:`kizashi.services.indicators`).

The names are those of the stored intrusion-set, threat-actor, malware, tool, campaign,
attack-pattern and course-of-action objects (``name``, ``aliases``, ``x_mitre_aliases``
and any other ``*_aliases``), whoever sent them: an ATT&CK release, a MISP galaxy, an
analyst. One :class:`kizashi.text.names.Gazetteer` holds them all; which names match, and
how, is its rule. A name inside an extracted indicator (``stuxnet.example``) is none.

- **Retired objects.** A deprecated object (``x_mitre_deprecated``) is not linked by name,
  nor a revoked one: a revoked object's names, and its ATT&CK id, lead to the object its
  ``revoked-by`` relationship names (followed to the end of a chain) when there is one.
- **Built when names change, not per report.** On first use; again once objects with
  names are written in this process (:meth:`NameLinker.touched`, from creating and
  importing); when objects of those types are added or edited anywhere else (an edit
  in the UI or the API, another process: the highest pk and latest ``updated_at`` of
  the named types, looked at every ``CHECK_SECONDS`` at most); and at least every
  ``MAX_AGE`` seconds.
- **The store decides.** What the gazetteer finds is checked in the caller's transaction
  before it is linked: an object revoked (or a build's transaction undone) since is not.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from kizashi.model.actor import Actor
from kizashi.model.observables import ATTACK_TYPES, STUB_PROPERTY, lookup_value
from kizashi.services.common import Context
from kizashi.store import objects as object_repo
from kizashi.text.extract.context import sentence_around
from kizashi.text.names import Found, Gazetteer, Name

if TYPE_CHECKING:
    from kizashi.services.indicators import Plan
    from kizashi.text.extract import Hit

#: The types whose names and aliases link.
NAMED_TYPES = (
    "attack-pattern",
    "campaign",
    "course-of-action",
    "intrusion-set",
    "malware",
    "threat-actor",
    "tool",
)
#: Those whose names describe rather than name (see ``Name.proper``).
DESCRIPTIVE = frozenset({"attack-pattern", "course-of-action"})
#: The relationship that names a revoked object's replacement (ATT&CK's, OpenCTI's).
REVOKED_BY = "revoked-by"
#: ``mentions.kind`` of a name found in a report.
KIND = "name"
CHECK_SECONDS = 10.0
MAX_AGE = 600.0
#: Steps along a chain of ``revoked-by`` (A by B, B by C …) before giving up.
DEPTH = 8
#: Longest text read per report (as extraction: ``indicators.MAX_TEXT``).
MAX_TEXT = 400_000
_PAGE = 1000


def deprecated(obj: Mapping[str, Any]) -> bool:
    """Whether the producer has deprecated the object (ATT&CK's ``x_mitre_deprecated``)."""
    return obj.get("x_mitre_deprecated") is True


def names_of(obj: Mapping[str, Any]) -> list[str]:
    """An object's name, then its aliases (``aliases``, ``x_mitre_aliases`` …), once each."""
    found = [obj.get("name")]
    for key, value in obj.items():
        if (key == "aliases" or key.endswith("_aliases")) and isinstance(value, list):
            found += value
    return list(dict.fromkeys(n.strip() for n in found if isinstance(n, str) and n.strip()))


def successors(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """For each id, the live object its ``revoked-by`` relationships lead to (through
    replacements that were revoked in turn); ids without one are left out."""
    out: dict[str, str] = {}
    at = {i: i for i in ids}  # start → where the chain has reached
    for _ in range(DEPTH):
        if not at:
            break
        ends = set(at.values())
        nexts: dict[str, str] = {}
        for _rel, rtype, source, target in object_repo.relationship_edges(conn, sorted(ends)):
            if rtype == REVOKED_BY and source in ends and target != source:
                nexts[source] = min(target, nexts.get(source, target))
        rows = object_repo.get_many(conn, nexts.values())
        further: dict[str, str] = {}
        for start, end in at.items():
            row = rows.get(nexts.get(end, ""))
            if row is None or row.id == start:
                continue
            if row.revoked:
                further[start] = row.id
            else:
                out[start] = row.id
        at = further
    return out


@dataclass(frozen=True)
class Snapshot:
    """The gazetteer as built, with the ATT&CK ids of revoked objects and their
    replacements (``T0999`` → the id of the object that replaced it)."""

    gazetteer: Gazetteer
    retired: dict[str, str]
    newest: tuple[Any, ...]
    built_at: float
    #: How long the build took (``kizashi attack load`` says).
    seconds: float


class NameLinker:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._snapshot: Snapshot | None = None
        self._stale = True
        self._checked = 0.0
        self._lock = threading.Lock()

    def touched(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Objects were written: the next use rebuilds if any has names (or says what
        replaces a revoked one)."""
        for o in objects:
            t = o.get("type")
            if (t in NAMED_TYPES and not o.get(STUB_PROPERTY)) or (
                t == "relationship" and o.get("relationship_type") == REVOKED_BY
            ):
                self._stale = True
                return

    def snapshot(self, conn: Connection) -> Snapshot:
        """The current gazetteer, built again first when names changed."""
        with self._lock:
            now = time.monotonic()
            snap = self._snapshot
            fresh = snap is not None and not self._stale and now - snap.built_at < MAX_AGE
            if snap is not None and fresh and now - self._checked >= CHECK_SECONDS:
                self._checked = now
                fresh = _newest(conn) == snap.newest
            if snap is None or not fresh:
                self._stale = False  # a write during the build marks it stale again
                try:
                    snap = self._snapshot = _build(conn)
                except BaseException:
                    self._stale = True
                    raise
                self._checked = snap.built_at
            return snap

    def find(self, conn: Connection, text: str) -> list[Found]:
        """The names in ``text`` that name live objects (those only)."""
        found = self.snapshot(conn).gazetteer.find(text[:MAX_TEXT])
        live = _live(conn, {t for f in found for t in f.targets})
        out = []
        for f in found:
            targets = tuple(t for t in f.targets if t in live)
            if targets:
                out.append(Found(f.start, f.end, f.name, targets))
        return out

    def with_retired(
        self, conn: Connection, values: Sequence[str], loaded: Mapping[str, tuple[str, bool]]
    ) -> dict[str, tuple[str, bool]]:
        """``loaded`` (ATT&CK id → (live id, is a stub)) with the ids of revoked objects
        answered by their replacements (rather than by a stub)."""
        out = dict(loaded)
        retired = self.snapshot(conn).retired
        for value in values:
            if value in retired and (value not in out or out[value][1]):
                out[value] = (retired[value], False)
        return out

    def with_replacements(
        self,
        conn: Connection,
        actor: Actor,
        values: Sequence[str],
        found: Mapping[str, list[tuple[str, str]]],
    ) -> dict[str, list[tuple[str, str]]]:
        """Lookups (value → [(id, type)]) where a value is a revoked object's ATT&CK id
        and nothing else: answered by its replacement, if ``actor`` may read it."""
        retired = self.snapshot(conn).retired
        wanted = {v: retired[v] for v in values if v in retired and not found.get(v)}
        out = dict(found)
        rows = object_repo.get_many(conn, wanted.values()) if wanted else {}
        for value, stix_id in wanted.items():
            row = rows.get(stix_id)
            if row is not None and not row.revoked and actor.may_read(row.tlp, row.created_by):
                out[value] = [(row.id, row.type)]
        return out

    def link(
        self,
        conn: Connection,
        texts: Sequence[str],
        hits: Sequence[Sequence[Hit]],
        plans: Sequence[Plan],
    ) -> None:
        """Add to each report's plan the objects its text names, and their mentions."""
        from kizashi.services.indicators import Mention  # here: it imports this module

        gazetteer = self.snapshot(conn).gazetteer
        if not len(gazetteer):
            return
        found = []
        for text, taken in zip(texts, hits, strict=True):
            spans = sorted((h.start, h.end) for h in taken)
            found.append([f for f in gazetteer.find(text[:MAX_TEXT]) if not _inside(f, spans)])
        live = _live(conn, {t for fs in found for f in fs for t in f.targets})
        for text, names, plan in zip(texts, found, plans, strict=True):
            by_name: dict[str, Mention] = {}
            for f in names:
                targets = [t for t in f.targets if t in live]
                if not targets:
                    continue
                mention = by_name.get(f.name)
                if mention is not None:
                    mention.occurrences += 1
                    continue
                context, start, end = sentence_around(text, f.start, f.end)
                mention = Mention(KIND, f.name, targets[0], 1, context, start, end, ())
                by_name[f.name] = mention
                plan.mentions.append(mention)
                plan.refs += [t for t in targets if t not in plan.refs]


def _inside(f: Found, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether a name overlaps an extracted indicator (a domain, a URL, a path)."""
    return any(s < f.end and f.start < e for s, e in spans)


def _live(conn: Connection, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return {i for i, row in object_repo.get_many(conn, ids).items() if not row.revoked}


def _rows(conn: Connection, types: Sequence[str]) -> Iterable[Any]:
    """Every object of ``types``, revoked ones too, newest first, a page at a time."""
    flt = object_repo.ObjectFilter(types=types, include_revoked=True)
    before: int | None = None
    while True:
        page = object_repo.list_rows(conn, flt, tag_pks={}, limit=_PAGE, before_pk=before)
        yield from page
        if len(page) < _PAGE:
            return
        before = page[-1].pk


def _newest(conn: Connection) -> tuple[Any, ...]:
    """The newest pk and change of the named types: they move when one is added,
    renamed, given aliases or revoked anywhere (the UI, the API, another process)."""
    return object_repo.latest_change(conn, NAMED_TYPES)


def _build(conn: Connection) -> Snapshot:
    started = time.perf_counter()
    newest = _newest(conn)
    primary: list[Name] = []
    aliases: list[Name] = []
    revoked: list[tuple[str, dict[str, Any]]] = []
    for row in _rows(conn, sorted(set(NAMED_TYPES) | ATTACK_TYPES)):
        data = json.loads(row.data)
        if data.get(STUB_PROPERTY):
            continue
        if row.revoked:
            revoked.append((row.id, data))
        elif row.type in NAMED_TYPES and not deprecated(data):
            proper = row.type not in DESCRIPTIVE
            first, *rest = names_of(data) or [""]
            primary.append(Name(first, row.id, proper))
            aliases += [Name(n, row.id, proper) for n in rest]
    replaced = successors(conn, [i for i, _ in revoked]) if revoked else {}
    retired: dict[str, str] = {}
    for stix_id, data in revoked:
        new = replaced.get(stix_id)
        if new is None:
            continue
        if data.get("type") in NAMED_TYPES:
            proper = data["type"] not in DESCRIPTIVE
            aliases += [Name(n, new, proper) for n in names_of(data)]
        value = lookup_value(data)
        if value:
            retired[value] = new
    # Primary names first: where a name is one object's and another's alias, the first
    # target (the one its mention records) is the object so named.
    gazetteer = Gazetteer([*primary, *aliases])
    now = time.monotonic()
    return Snapshot(gazetteer, retired, newest, now, time.perf_counter() - started)
