"""Importing: the objects a format read, checked one by one and stored as they came.

- **As they came.** An imported object's JSON is kept exactly (custom properties, ``x-``
  objects, extensions, language contents, its labels and markings), so it exports again
  unchanged. Its labels also become tags and its TLP marking the ``tlp`` column, as for
  every object; what an analyst changes later shows in the export.
- **Versions follow ``modified``.** A newer version replaces the stored one (which is kept
  in the history), an equal one changes nothing, an older one never overwrites: importing
  the same bundle twice changes nothing. Objects without versions (observables, marking
  definitions) that differ from the stored one are reported and the stored one is kept.
- **One by one.** An object that fails its checks is reported (its position, id, property
  and why) and skipped; the others are imported. The input is read twice: the first pass
  checks the whole of it (a file that is not JSON or ends early stops there, before
  anything is written) and counts what would change; that is the preview. The second
  writes, a batch per transaction.
- **Like any item.** Imported reports are read for indicators (mentions, observables:
  their own ``object_refs`` are left as the producer wrote them), run through the rules
  and indexed by the same code as a feed's.
- **References** are kept as written, in any order: one to an object that is not stored
  yet resolves when it arrives.
- **Who may change what.** An object stored by someone else that the importer may not
  read is not changed and not described: the report says only that an object with that
  id exists that they may not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy.engine import Connection

from kizashi.formats import Format, FormatError, Limits, Rejected
from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, Text, failure, invalid
from kizashi.model.tags import TagName, parse_tag
from kizashi.services.common import Context
from kizashi.services.exchange.checking import (
    UNVERSIONED,
    UnfitError,
    check,
    modified_of,
    upgraded,
)
from kizashi.services.objects import ObjectService
from kizashi.services.tags import TagService, tag_level
from kizashi.store import objects as repo
from kizashi.store import tags as tag_repo
from kizashi.store.rows import ObjectRow

#: Objects checked against the store and written per transaction.
BATCH = 500
#: Problems listed one by one in a report (the count goes on past it).
MAX_LISTED = 1000
Opener = Callable[[], IO[bytes]]
Progress = Callable[[int], None]
#: Run in a batch's transaction once its objects are stored, before its reports are read
#: for indicators: (conn, actor, new objects, new versions). Set by the application
#: (ATT&CK releases: ``revoked-by`` followed, the names reports are linked by).
AfterWrite = Callable[[Connection, Actor, Sequence[dict[str, Any]], Sequence[dict[str, Any]]], None]

#: What an import does with each object.
OUTCOMES = ("new", "updated", "unchanged", "older", "conflict", "invalid", "refused")


@dataclass
class ItemProblem:
    index: int
    id: str | None
    type: str | None
    where: str
    #: Why, in English (what the API says).
    why: str
    #: The same as a catalogue phrase, for a page to say in its reader's language (None
    #: for a library's own words, such as python-stix2's).
    reason: Text | None = None

    @classmethod
    def of(
        cls, index: int, stix_id: str | None, stix_type: str | None, where: str, why: str | Text
    ) -> ItemProblem:
        return cls(
            index, stix_id, stix_type, where, str(why), why if isinstance(why, Text) else None
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "id": self.id,
            "type": self.type,
            "where": self.where,
            "why": self.why,
        }
        if self.reason is not None:
            out["reason"] = {"template": self.reason.template, "values": dict(self.reason.values)}
        return out


@dataclass
class ImportReport:
    """Counts per outcome and per type, and the problems one by one."""

    format: str
    written: bool
    read: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[ItemProblem] = field(default_factory=list)
    #: STIX 2.0 objects read as 2.1 (see ``checking.upgraded``).
    upgraded: int = 0

    def add(self, outcome: str, stix_type: str | None) -> None:
        self.counts[outcome] += 1
        per = self.by_type.setdefault(stix_type or "?", dict.fromkeys(OUTCOMES, 0))
        per[outcome] += 1

    def problem(self, outcome: str, p: ItemProblem) -> None:
        self.add(outcome, p.type)
        if len(self.problems) < MAX_LISTED:
            self.problems.append(p)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "written": self.written,
            "read": self.read,
            "upgraded_from_2_0": self.upgraded,
            "counts": self.counts,
            "by_type": {
                t: {k: v for k, v in c.items() if v} for t, c in sorted(self.by_type.items())
            },
            "problems": [p.as_dict() for p in self.problems],
            "problems_listed": len(self.problems),
        }


@dataclass
class _Planned:
    """What the write pass does with one batch."""

    new: list[dict[str, Any]] = field(default_factory=list)
    newer: list[tuple[ObjectRow, dict[str, Any]]] = field(default_factory=list)
    #: Unreadable observables of derived marking, to lower to the importer's level.
    lowered: dict[int, str | None] = field(default_factory=dict)


class Importer:
    def __init__(self, ctx: Context, objects: ObjectService, tags: TagService) -> None:
        self.ctx = ctx
        self.objects = objects
        self.tags = tags
        self.after_write: list[AfterWrite] = []

    def run(
        self,
        actor: Actor,
        fmt: Format,
        source: Opener,
        *,
        write: bool = True,
        limits: Limits | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Check every item of ``source`` (opened by calling it; read twice when
        writing), and with ``write`` store what is new or newer. Returns what happened
        (or, without ``write``, what would)."""
        actor.require_write()
        if fmt.read is None:
            raise invalid(
                "The %(format)s format cannot be read.",
                [Problem("format", fmt.name)],
                format=fmt.name,
            )
        limits = limits or Limits()
        preview = self._pass(actor, fmt, source, limits, write=False, progress=None)
        if not write:
            return preview
        return self._pass(actor, fmt, source, limits, write=True, progress=progress)

    def _pass(
        self,
        actor: Actor,
        fmt: Format,
        source: Opener,
        limits: Limits,
        *,
        write: bool,
        progress: Progress | None,
    ) -> ImportReport:
        report = ImportReport(fmt.name, write)
        seen: dict[str, tuple[str | None, bytes]] = {}  # id -> (version, digest) read so far
        planned: set[str] = set()  # new in an earlier batch of this pass
        for batch in _batches(self._items(fmt, source, limits, report, seen), BATCH):
            if write:
                with self.ctx.store.begin() as conn:
                    plan = self._plan(conn, actor, batch, report, planned)
                    self._write(conn, actor, plan)
            else:
                with self.ctx.store.read() as conn:
                    self._plan(conn, actor, batch, report, planned)
            if progress is not None:
                progress(report.read)
        if write:
            with self.ctx.store.begin() as conn:
                counts = ", ".join(f"{k} {v}" for k, v in report.counts.items() if v)
                self.ctx.audit(conn, actor, "import", None, f"{fmt.name}: {counts or 'nothing'}")
        return report

    def _items(
        self,
        fmt: Format,
        source: Opener,
        limits: Limits,
        report: ImportReport,
        seen: dict[str, tuple[str | None, bytes]],
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """The items that pass their own checks, with their positions; the others are
        reported. A later copy of an id in the same input wins when it is newer."""
        assert fmt.read is not None
        with source() as stream:
            try:
                for index, read in enumerate(fmt.read(stream, limits)):
                    report.read += 1
                    if isinstance(read, Rejected):
                        report.problem(
                            "invalid", ItemProblem.of(index, read.id, None, read.where, read.why)
                        )
                        continue
                    if not isinstance(read, dict):
                        why = Text(
                            "the %(format)s reader gave a %(kind)s",
                            {"format": fmt.name, "kind": type(read).__name__},
                        )
                        report.problem("invalid", ItemProblem.of(index, None, None, "", why))
                        continue
                    item, older_spec = upgraded(read)
                    if older_spec:
                        report.upgraded += 1
                    stix_id = item.get("id") if isinstance(item.get("id"), str) else None
                    stix_type = item.get("type") if isinstance(item.get("type"), str) else None
                    try:
                        check(item)
                    except UnfitError as exc:
                        report.problem(
                            "invalid",
                            ItemProblem(index, stix_id, stix_type, exc.where, exc.why, exc.reason),
                        )
                        continue
                    assert stix_id is not None
                    # A digest, not the text: a large input's ids are all held at once.
                    text = hashlib.blake2b(
                        json.dumps(item, sort_keys=True, ensure_ascii=False).encode(),
                        digest_size=16,
                    ).digest()
                    version = modified_of(item)
                    earlier = seen.get(stix_id)
                    if earlier is not None:
                        if earlier[1] == text:
                            report.add("unchanged", stix_type)  # the same object twice
                            continue
                        if version is None or earlier[0] is None or version <= earlier[0]:
                            report.problem(
                                "conflict",
                                ItemProblem.of(index, stix_id, stix_type, "id", _SECOND_COPY),
                            )
                            continue
                    seen[stix_id] = (version, text)
                    yield index, item
            except FormatError as exc:
                raise failure(
                    "The file cannot be imported: %(reason)s Nothing was stored.",
                    "unreadable_input",
                    [Problem("file", exc.message)],
                    reason=exc.message,
                ) from None

    def _plan(
        self,
        conn: Connection,
        actor: Actor,
        batch: Sequence[tuple[int, dict[str, Any]]],
        report: ImportReport,
        planned: set[str],
    ) -> _Planned:
        """What each object of the batch is against the store (counted in ``report``).
        ``planned``: the ids new in earlier batches of a preview (a later, newer copy of
        one is an update, though the preview stored nothing)."""
        plan = _Planned()
        waiting: dict[str, dict[str, Any]] = {}  # new in this batch
        unversioned: list[tuple[int, ObjectRow, dict[str, Any]]] = []
        stored = repo.get_many(conn, [obj["id"] for _, obj in batch])
        for index, obj in batch:
            row = stored.get(obj["id"])
            stix_type = obj["type"]
            if row is None:
                if obj["id"] in planned:
                    # A newer copy of an object new in this input: it replaces the copy
                    # waiting in this batch (or, in a preview, one planned in an earlier).
                    report.add("updated", stix_type)
                    if obj["id"] in waiting:
                        plan.new = [o for o in plan.new if o["id"] != obj["id"]] + [obj]
                        waiting[obj["id"]] = obj
                    continue
                report.add("new", stix_type)
                planned.add(obj["id"])
                waiting[obj["id"]] = obj
                plan.new.append(obj)
                continue
            if not actor.may_read(row.tlp, row.created_by):
                if self._lowers(row, obj):
                    # An observable whose marking only came from reports the importer
                    # may not read, given again: the importer knows the value, so it
                    # falls to their level as when a less restricted report names it,
                    # and to them it is new (that it existed is not theirs to learn).
                    report.add("new", stix_type)
                    plan.lowered[row.pk] = _level(obj)
                    continue
                why = Text("an object with this id exists that you may not change")
                report.problem("refused", ItemProblem.of(index, obj["id"], stix_type, "id", why))
                continue
            current = json.loads(row.data)
            if _same(current, obj, row):
                report.add("unchanged", stix_type)
                continue
            mine, theirs = modified_of(obj), modified_of(current)
            if stix_type in UNVERSIONED:
                unversioned.append((index, row, obj))  # decided once the batch is planned
            elif mine is None or theirs is None:
                report.problem(
                    "conflict", ItemProblem.of(index, obj["id"], stix_type, "", _NO_VERSION)
                )
            elif mine > theirs:
                report.add("updated", stix_type)
                plan.newer.append((row, obj))
            elif mine == theirs:
                why = Text(
                    "stored with the same modified but other content; the stored one is kept"
                )
                report.problem(
                    "conflict", ItemProblem.of(index, obj["id"], stix_type, "modified", why)
                )
            else:
                report.add("older", stix_type)
        _vouch(plan, unversioned, report)
        return plan

    def _lowers(self, row: ObjectRow, obj: dict[str, Any]) -> bool:
        """The import names, at a less restricted level, an observable whose marking is
        derived, with the content stored (its labels and markings aside)."""
        if not row.tlp_derived or not stix_model.is_observable(row.type):
            return False
        if not tlp_model.less_restricted(_level(obj), row.tlp):
            return False
        if self.objects.hooks.linker is None:
            return False
        strip = ("labels", "object_marking_refs")
        stored = {k: v for k, v in json.loads(row.data).items() if k not in strip}
        return stored == {k: v for k, v in obj.items() if k not in strip}

    def _write(self, conn: Connection, actor: Actor, plan: _Planned) -> None:
        hooks = self.objects.hooks
        if plan.lowered and hooks.linker is not None:
            hooks.linker.lower_derived(conn, actor, plan.lowered)
        if not plan.new and not plan.newer:
            return
        items = [(obj, _level(obj)) for obj in plan.new]
        pks = self.objects.creator.insert_in(conn, actor, items, [])
        for obj in plan.new:
            self._label(conn, actor, pks[obj["id"]], obj)
        if hooks.linker is not None and plan.new:
            hooks.linker.upgrade_stubs(conn, actor, plan.new)
        touched = list(pks.values())
        for row, obj in plan.newer:
            level = _level(obj)
            revoked = bool(obj.get("revoked", False))
            self.objects.editor.new_version_in(
                conn, actor, row, obj, "import", level, revoked=revoked
            )
            if level != row.tlp:
                self._relevel(conn, actor, row.pk, level)
            self._label(conn, actor, row.pk, obj, had=row.loose_labels is not None)
            touched.append(row.pk)
        for hook in self.after_write:
            hook(conn, actor, plan.new, [obj for _, obj in plan.newer])
        reports = [(pks[o["id"]], o) for o in plan.new if o["type"] == "report"]
        reports += [(row.pk, o) for row, o in plan.newer if o["type"] == "report"]
        if hooks.linker is not None and reports:
            found = hooks.linker.plan(conn, [o for _, o in reports])
            hooks.linker.store_in(
                conn,
                actor,
                [(pk, o, p) for (pk, o), p in zip(reports, found, strict=True)],
                fresh=False,
            )
        if hooks.tagger is not None and touched:
            hooks.tagger.apply_in(conn, actor, touched)

    def _relevel(self, conn: Connection, actor: Actor, pk: int, level: str | None) -> None:
        """The TLP tag that follows a new version's marking."""
        if level:
            self.tags.attach(conn, actor, [pk], [parse_tag(f"tlp:{level}")])
            return
        held = [r.name for r in tag_repo.object_tag_rows(conn, pk) if r.name.startswith("tlp:")]
        levels = [n for n in held if tlp_model.normalise(n[4:])]
        tag_repo.unlink(conn, pk, list(tag_repo.pks_by_names(conn, levels).values()))

    def _label(
        self, conn: Connection, actor: Actor, pk: int, obj: dict[str, Any], had: bool = False
    ) -> None:
        """The object's labels as tags, those that can be; the others stay labels only,
        and are recorded as such so that an export keeps them (a TLP label is neither:
        the marking stands for it)."""
        labels = obj.get("labels")
        labels = labels if isinstance(labels, list) else []
        names: list[TagName] = []
        loose: list[str] = []
        for label in labels:
            if not isinstance(label, str):
                continue
            try:
                parsed = self.tags.parse(conn, [label])
            except KizashiError:
                loose.append(label)  # not a tag Kizashi can hold: kept as a label
                continue
            names += [t for t in parsed if tag_level(t) is None]
        if names:
            self.tags.attach(conn, actor, [pk], names)
        if loose or had:  # ``had``: the version it replaces listed some
            repo.set_loose_labels(conn, pk, loose)


_NO_VERSION = Text("stored with other content, and it has no version to tell which is newer")
_SECOND_COPY = Text(
    "a second copy of this id in the input, with other content and no later modified;"
    " the first copy is kept"
)


def _vouch(
    plan: _Planned,
    unversioned: list[tuple[int, ObjectRow, dict[str, Any]]],
    report: ImportReport,
) -> None:
    """An observable has no version of its own: a newer observed-data of the batch that
    carries it (misp-stix names one by its attribute's uuid, whatever its value) vouches
    for the content it comes with. Otherwise the stored one is kept."""
    carried = {
        ref
        for _, newer in plan.newer
        if newer["type"] == "observed-data"
        for ref in newer.get("object_refs", [])
        if isinstance(ref, str)
    }
    for index, row, obj in unversioned:
        if obj["id"] in carried:
            report.add("updated", obj["type"])
            plan.newer.append((row, obj))
        else:
            report.problem(
                "conflict", ItemProblem.of(index, obj["id"], obj["type"], "", _NO_VERSION)
            )


def _level(obj: dict[str, Any]) -> str | None:
    refs = obj.get("object_marking_refs")
    return tlp_model.level_of(refs) if isinstance(refs, list) else None


def _same(current: dict[str, Any], obj: dict[str, Any], row: ObjectRow) -> bool:
    """The stored object is this one (what Kizashi derives aside: labels and TLP, which
    it may hold apart from the JSON for objects it did not import)."""
    if current == obj:
        return True
    strip = ("labels", "object_marking_refs")
    a = {k: v for k, v in current.items() if k not in strip}
    b = {k: v for k, v in obj.items() if k not in strip}
    if a != b:
        return False
    refs = [r for r in obj.get("object_marking_refs", []) if r not in tlp_model.LEVEL_BY_ID]
    mine = [r for r in current.get("object_marking_refs", []) if r not in tlp_model.LEVEL_BY_ID]
    return refs == mine and _level(obj) == row.tlp


def _batches(
    it: Iterator[tuple[int, dict[str, Any]]], size: int
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    batch: list[tuple[int, dict[str, Any]]] = []
    for item in it:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
