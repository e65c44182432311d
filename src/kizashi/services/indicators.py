"""Indicators pulled out of reports, linked as STIX objects, looked up and correlated.

A report's text is read by :func:`kizashi.text.extract.extract`; each value becomes its
STIX object (:func:`kizashi.model.observables.stix_for`), the report refers to it
(``object_refs``), and a ``mentions`` row keeps the sentence it was found in. Lookups and
indicator pages read ``mentions``: which reports, which sources, first and last seen.
The names and aliases of stored groups, software and techniques link the same way
(:mod:`kizashi.services.names`), and a revoked ATT&CK object's id leads to its replacement.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from kizashi.model import stix as stix_model
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.observables import (
    ATTACK_TYPES,
    STUB_PROPERTY,
    lookup_value,
    named_object,
    stix_for,
)
from kizashi.model.tags import parse_tag
from kizashi.services.common import Context, readable_row, reader_of
from kizashi.services.tags import tag_level
from kizashi.store import mentions as repo
from kizashi.store import objects as object_repo
from kizashi.store import tags as tag_repo
from kizashi.text.extract import Hit, extract
from kizashi.text.extract.context import sentence_around
from kizashi.text.extract.validate import domain as domain_name
from kizashi.text.extract.validate import looks_like_file

if TYPE_CHECKING:
    from kizashi.services.names import NameLinker
    from kizashi.services.objects import ObjectService

#: Longest text read per report (the description is capped at 200,000 characters).
MAX_TEXT = 400_000
#: Kinds whose objects :func:`named_object` builds directly (vulnerabilities, stubs).
_BUILT_KINDS = frozenset(
    {"cve", "jvn", "attack-technique", "attack-group", "attack-software", "attack-tactic"}
)
#: Extracted kinds whose objects may already exist under another id (loaded ATT&CK).
_NAMED_KINDS = {"attack-technique", "attack-group", "attack-software", "attack-tactic"}


@dataclass
class Mention:
    kind: str
    value: str
    object_id: str | None
    occurrences: int
    context: str
    context_start: int
    context_end: int
    flags: tuple[str, ...]


@dataclass
class Plan:
    """What one report's text yields: objects to create, refs, mentions."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


@dataclass(slots=True)
class LookupResult:
    query: str
    value: str
    kind: str | None
    known: bool
    objects: list[tuple[str, str]]
    reports: int
    sources: int
    first_seen: str | None
    last_seen: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "value": self.value,
            "type": self.kind,
            "known": self.known,
            "objects": [{"id": i, "type": t} for i, t in self.objects],
            "reports": self.reports,
            "sources": self.sources,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass
class Overview:
    """An indicator page: totals, the reports with their sentence, what co-occurs."""

    reports: int = 0
    sources: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    mentions: list[repo.MentionRow] = field(default_factory=list)
    co_occurring: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    #: The newest reports ``co_occurring`` was counted in, when older ones were left out.
    co_occurring_sample: int | None = None


class IndicatorService:
    def __init__(
        self,
        ctx: Context,
        objects: ObjectService,
        *,
        keep_flagged: bool = True,
        warninglists: bool = True,
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.keep_flagged = keep_flagged
        self.warninglists = warninglists
        #: Names and aliases of stored objects, linked as ids are (set by the application).
        self.names: NameLinker | None = None

    # -- extraction ---------------------------------------------------------------
    def hits(self, text: str) -> list[Hit]:
        hits = extract(text[:MAX_TEXT], warninglists=self.warninglists)
        return hits if self.keep_flagged else [h for h in hits if not h.flags]

    def plan(self, conn: Connection, raws: Sequence[Mapping[str, Any]]) -> list[Plan]:
        """One plan per report, ATT&CK ids resolved to loaded objects where there are
        (a revoked one's to its replacement), and the objects the text names."""
        texts = [report_text(raw) for raw in raws]
        found = [self.hits(text) for text in texts]
        named = sorted({h.value for hits in found for h in hits if h.type in _NAMED_KINDS})
        loaded = repo.live_ids_by_value(conn, named, sorted(ATTACK_TYPES)) if named else {}
        if self.names is not None and named:
            loaded = self.names.with_retired(conn, named, loaded)
        objects: dict[tuple[str, str], list[dict[str, Any]]] = {}  # one validation per value
        plans = [
            self._plan(text, hits, loaded, objects) for text, hits in zip(texts, found, strict=True)
        ]
        if self.names is not None:
            self.names.link(conn, texts, found, plans)
        return plans

    def _objects(self, kind: str, value: str) -> list[dict[str, Any]]:
        """The validated STIX objects for a value; plain observables take the fast path."""
        out = []
        for raw in stix_for(kind, value):
            fast = stix_model.simple_observable(raw) or stix_model.simple_file(raw)
            if fast is None and kind in _BUILT_KINDS:
                fast = named_object(raw, self.ctx.stamp())
            out.append(fast if fast is not None else stix_model.validate(raw, now=self.ctx.clock()))
        return out

    def _plan(
        self,
        text: str,
        hits: list[Hit],
        loaded: Mapping[str, tuple[str, bool]],
        objects: dict[tuple[str, str], list[dict[str, Any]]],
    ) -> Plan:
        plan = Plan()
        by_value: dict[tuple[str, str], Mention] = {}
        validated: dict[str, str] = {}
        for hit in hits:
            key = (hit.type, hit.value)
            mention = by_value.get(key)
            if mention is not None:
                mention.occurrences += 1
                continue
            object_id = None
            if hit.type in _NAMED_KINDS and hit.value in loaded:
                object_id = loaded[hit.value][0]
            else:
                if key not in objects:
                    objects[key] = self._objects(hit.type, hit.value)
                for i, data in enumerate(objects[key]):
                    if data["id"] not in validated:
                        validated[data["id"]] = data["type"]
                        plan.objects.append(data)
                    if i == 0:
                        object_id = data["id"]
            context, c_start, c_end = sentence_around(text, hit.start, hit.end)
            mention = Mention(hit.type, hit.value, object_id, 1, context, c_start, c_end, hit.flags)
            by_value[key] = mention
            plan.mentions.append(mention)
            if object_id is not None and object_id not in plan.refs:
                plan.refs.append(object_id)
        return plan

    def store_in(
        self,
        conn: Connection,
        actor: Actor,
        reports: Sequence[tuple[int, Mapping[str, Any], Plan]],
        *,
        fresh: bool = False,
    ) -> None:
        """Create the plans' objects that do not exist and record the mentions
        (``fresh``: the reports are new, so there are no earlier mentions to replace)."""
        wanted: dict[str, dict[str, Any]] = {}
        for _, _, plan in reports:
            for data in plan.objects:
                wanted.setdefault(data["id"], data)
        # Each object's marking as the reports found it: the least restricted of theirs.
        report_pks = [pk for pk, _, _ in reports]
        marking = {pk: m[0] for pk, m in object_repo.markings(conn, report_pks).items()}
        least: dict[str, str | None] = {}
        for report_pk, _, plan in reports:
            level = marking.get(report_pk)
            for i in {*(d["id"] for d in plan.objects), *(m.object_id for m in plan.mentions)}:
                if i is not None and (i not in least or tlp_model.less_restricted(level, least[i])):
                    least[i] = level
        have = object_repo.existing_ids(conn, list(wanted))
        new_objects = [d for i, d in wanted.items() if i not in have]
        if new_objects:
            derived = {d["id"]: lv for d in new_objects if (lv := least.get(d["id"]))}
            self.objects.store_validated_in(conn, actor, new_objects, derived)
        ids = sorted({m.object_id for _, _, p in reports for m in p.mentions if m.object_id})
        pks = repo.pks_by_ids(conn, ids)
        self.lower_derived(conn, actor, {pks[i]: least.get(i) for i in ids if i in pks})
        rows = []
        for report_pk, report, plan in reports:
            seen_at = str(report.get("published") or report.get("created") or self.ctx.stamp())
            source = report_source(report)
            for m in plan.mentions:
                rows.append(
                    {
                        "report_pk": report_pk,
                        "object_pk": pks.get(m.object_id) if m.object_id else None,
                        "kind": m.kind,
                        "value": m.value,
                        "occurrences": m.occurrences,
                        "context": m.context,
                        "context_start": m.context_start,
                        "context_end": m.context_end,
                        "flags": ",".join(m.flags) or None,
                        "seen_at": seen_at,
                        "source": source,
                    }
                )
        repo.replace_for(conn, [] if fresh else [pk for pk, _, _ in reports], rows)

    def lower_derived(
        self, conn: Connection, actor: Actor, wanted: Mapping[int, str | None]
    ) -> None:
        """Objects whose marking came from the reports that mention them fall to the
        least restricted of those: a value a less restricted report also names is known
        to its readers. A marking someone set is never lowered, nor one raised here."""
        by_level: dict[str | None, list[int]] = {}
        for pk, (tlp, derived) in object_repo.markings(conn, list(wanted)).items():
            level = wanted[pk]
            if derived and tlp is not None and tlp_model.less_restricted(level, tlp):
                by_level.setdefault(level, []).append(pk)
        for level, pks in by_level.items():
            if level is None:
                # The level tags only: ``tlp:ex:chr`` and the like are someone's own.
                levels = [t.pk for t in tag_repo.in_namespace(conn, "tlp") if tag_level(t)]
                tag_repo.unlink_many(conn, pks, levels)
                object_repo.set_tlp(conn, pks, None)
            else:
                self.objects.tags.attach(conn, actor, pks, [parse_tag(f"tlp:{level}")])
                object_repo.mark_tlp_derived(conn, pks)
            # New to those who may read it now: as far as they can tell it was stored now
            # (when a TLP:RED report named it first is not theirs to learn).
            object_repo.touch(conn, pks, self.ctx.stamp())

    # -- ATT&CK stubs ---------------------------------------------------------------
    def upgrade_stubs(
        self, conn: Connection, actor: Actor, created: Iterable[Mapping[str, Any]]
    ) -> int:
        """Real ATT&CK objects take the place of the stubs named by the same id."""
        created = list(created)
        if self.names is not None:
            self.names.touched(created)  # new names, for the reports that follow
        real = {
            v: d
            for d in created
            if d.get("type") in ATTACK_TYPES and not d.get(STUB_PROPERTY) and (v := lookup_value(d))
        }
        if not real:
            return 0
        stubs = repo.live_ids_by_value(conn, sorted(real), sorted(ATTACK_TYPES))
        upgraded = 0
        for value, data in real.items():
            # live_ids_by_value prefers the real object: a stub remains only where the
            # real one is not stored yet, so look the stub up by its deterministic id.
            for stub_id in _stub_ids(value):
                stub = object_repo.get(conn, stub_id)
                if stub is None or stub.revoked:
                    continue
                # Not the stub itself: it is the live one when the real one came revoked.
                found = stubs.get(value)
                new = found[0] if found is not None and not found[1] else data["id"]
                self._replace(conn, actor, stub.pk, stub_id, new)
                upgraded += 1
        return upgraded

    def _replace(
        self, conn: Connection, actor: Actor, stub_pk: int, stub_id: str, new_id: str
    ) -> None:
        new_pk = repo.pks_by_ids(conn, [new_id]).get(new_id)
        if new_pk is None:
            return
        repo.repoint(conn, stub_pk, new_pk)
        for report_id, _prop in object_repo.referrers(conn, stub_id, limit=100_000):
            row = object_repo.get(conn, report_id)
            if row is None or row.type != "report":
                continue
            refs = json.loads(row.data).get("object_refs") or []
            swapped = list(dict.fromkeys(new_id if r == stub_id else r for r in refs))
            # A report the actor may not read (another's TLP:RED) is pointed at the real
            # object by Kizashi itself: the actor neither changes nor learns of it.
            by = actor if actor.may_read(row.tlp, row.created_by) else SYSTEM
            self.objects.update_in(conn, by, report_id, {"object_refs": swapped})
        stub = object_repo.get(conn, stub_id)
        by = actor if stub is not None and actor.may_read(stub.tlp, stub.created_by) else SYSTEM
        self.objects.revoke_in(conn, by, stub_id)

    # -- reading ----------------------------------------------------------------------
    def lookup(self, actor: Actor, queries: Sequence[str]) -> builtins.list[LookupResult]:
        """Known or not, and where, for each value (refanged and normalised first).

        Every signed-in role may look up; what a value's counts and objects cover is
        what the asker may read (a TLP:RED report counts for admins and its author).
        """
        reader = reader_of(actor)
        normal = [normalise_query(q) for q in queries]
        values = sorted({v for v, _ in normal})
        with self.ctx.store.read() as conn:
            seen = repo.seen(conn, values, reader)
            objs = repo.objects_by_value(conn, values, reader)
            if self.names is not None:  # a revoked ATT&CK id: its replacement
                objs = self.names.with_replacements(conn, actor, values, objs)
        out = []
        for query, (value, kind) in zip(queries, normal, strict=True):
            s = seen.get(value)
            o = objs.get(value, [])
            out.append(
                LookupResult(
                    query=query,
                    value=value,
                    kind=kind,
                    known=bool(s or o),
                    objects=o,
                    reports=s.reports if s else 0,
                    sources=s.sources if s else 0,
                    first_seen=s.first_seen if s else None,
                    last_seen=s.last_seen if s else None,
                )
            )
        return out

    def overview(self, actor: Actor, stix_id: str) -> Overview:
        """An indicator's page: only the reports ``actor`` may read count, and only
        their sentences and neighbouring values are shown."""
        reader = reader_of(actor)
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            totals, rows = repo.for_object(conn, row.pk, reader=reader)
            if totals is None:
                return Overview()
            co, cut = repo.co_occurring(conn, row.pk, reader=reader)
            co_ids = object_repo.ids_of(conn, [pk for _, _, pk, _ in co if pk is not None])
        return Overview(
            reports=totals.reports,
            sources=totals.sources,
            first_seen=totals.first_seen,
            last_seen=totals.last_seen,
            mentions=[r for r in rows if not r.report_revoked],
            co_occurring=[(k, v, co_ids.get(pk) if pk else None, n) for k, v, pk, n in co],
            co_occurring_sample=repo.CO_OCCURRING_SAMPLE if cut else None,
        )

    def in_report(self, actor: Actor, stix_id: str) -> builtins.list[repo.MentionRow]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            return repo.in_report(conn, row.pk)

    # -- re-extraction ----------------------------------------------------------------
    def reextract(
        self, actor: Actor, progress: Callable[[int, int], None] | None = None, *, batch: int = 100
    ) -> int:
        """Run the extractor again over every live report; returns how many were read."""
        actor.require_write()
        with self.ctx.store.read() as conn:
            total = repo.count_reports(conn)
        done = 0
        after = 0
        while True:
            with self.ctx.store.begin() as conn:
                pks = repo.report_pks(conn, after=after, limit=batch)
                if not pks:
                    break
                after = pks[-1]
                rows = object_repo.ids_of(conn, pks)
                self.relink_in(conn, actor, [rows[pk] for pk in pks])
            done += len(pks)
            if progress is not None:
                progress(done, total)
        return done

    def forget_in(self, conn: Connection, report_pk: int) -> None:
        """A revoked report's mentions go; restoring it reads its text again."""
        repo.replace_for(conn, [report_pk], [])

    def relink_in(self, conn: Connection, actor: Actor, report_ids: Sequence[str]) -> None:
        """Extract again from stored reports; new refs are added to a new version."""
        rows = object_repo.get_many(conn, report_ids)
        reports = [(r.pk, json.loads(r.data)) for r in rows.values() if not r.revoked]
        plans = self.plan(conn, [d for _, d in reports])
        self.store_in(conn, actor, [(pk, d, p) for (pk, d), p in zip(reports, plans, strict=True)])
        for (_, data), plan in zip(reports, plans, strict=True):
            refs = list(data.get("object_refs") or [])
            missing = [r for r in plan.refs if r not in refs]
            if missing:
                merged = [r for r in refs if r != data.get("created_by_ref")] + missing
                self.objects.update_in(
                    conn, actor, data["id"], {"object_refs": merged}, relink=False
                )


def _stub_ids(value: str) -> list[str]:
    from kizashi.model.observables import deterministic_id

    kinds = ("attack-pattern", "intrusion-set", "malware", "x-mitre-tactic")
    return [deterministic_id(t, value) for t in kinds]


def report_text(report: Mapping[str, Any]) -> str:
    """What extraction reads of a report: its name, then its description."""
    name = report.get("name") or ""
    description = report.get("description") or ""
    return f"{name}\n{description}" if description else str(name)


def report_source(report: Mapping[str, Any]) -> str:
    """Who a report came from: its first external reference's source, else its author."""
    for ref in report.get("external_references") or ():
        if isinstance(ref, Mapping) and ref.get("source_name"):
            return str(ref["source_name"])[:255]
    return str(report.get("created_by_ref") or "unknown")[:255]


_PLAIN_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_PLAIN_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[0-9a-fA-F]{128}")
_PLAIN_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.\-]{0,251}[a-z0-9])?")
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


def normalise_query(query: str) -> tuple[str, str | None]:
    """A looked-up value as stored: refanged, normalised, with its type when recognised."""
    text = query.strip()
    # Bulk lists are mostly plain addresses and hashes: those need no extractor run.
    if _PLAIN_IPV4.fullmatch(text) and max(map(int, text.split("."))) < 256:
        return text, "ipv4"
    if _PLAIN_HASH.fullmatch(text):
        return text.lower(), _HASH_KINDS[len(text)]
    if "." in text and _PLAIN_DOMAIN.fullmatch(text) and not text[0].isdigit():
        checked = domain_name(text)
        if checked is not None and not looks_like_file(text):
            return checked, "domain"
    hits = extract(text, flag=False)
    whole = [h for h in hits if h.start == 0 and h.end >= len(text.rstrip(".,;"))]
    if whole:
        best = max(whole, key=lambda h: h.end - h.start)
        return best.value, best.type
    return text, None
