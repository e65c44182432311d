"""Auto-tagging rules: stored, tested, run on every incoming item and over stored ones.

- **Incoming** (feeds, the API, the UI, the CLI, imports): :meth:`RuleService.apply_in`
  runs inside the transaction that stores or edits the item, after extraction, so an item
  is never visible without the tags its rules give it. The rules are compiled once and
  kept until one changes (:mod:`kizashi.text.rulematch`).
- **Stored** ("apply to existing", "test"): the search index finds the matches
  (:mod:`kizashi.search.rules`, same meaning); regular expressions and fuzzy matches are
  then checked on the candidates' text.
- **Provenance**: every tag a rule adds records the rule and its version; deleting a rule
  can take its tags away; a tag an analyst removed is never put back by a rule.
- **TLP**: a rule may raise an item's marking, never lower it.
- **Acting** on matches (tags, TLP, collections, relationships, events, suggestions) is
  :mod:`kizashi.services.rule_actions`, shared by both paths.
"""

from __future__ import annotations

import builtins
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy.engine import Connection

from kizashi.model import rules as rm
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError, Problem, conflict, invalid, not_found
from kizashi.model.tags import parse_tag
from kizashi.search.compile import Access, Occur
from kizashi.search.documents import body_text, source_of
from kizashi.search.rules import RuleCompiler, needs_text
from kizashi.services.common import Context, actors_by_pk, readable_row, reader_of
from kizashi.services.rule_actions import Compiled, RuleActions
from kizashi.store import objects as object_repo
from kizashi.store import rules as repo
from kizashi.store import search as docs_repo
from kizashi.store.search import DocRow
from kizashi.text import rulematch
from kizashi.text.highlight import highlight

if TYPE_CHECKING:
    from kizashi.services.objects import ObjectService
    from kizashi.services.search import SearchService
    from kizashi.services.tags import TagService

log = logging.getLogger(__name__)

#: Objects rules never look at: plumbing, and collections (which rules fill).
NOT_ITEMS = frozenset(
    {"marking-definition", "extension-definition", "relationship", "grouping", "identity"}
)
APPLY_BATCH = 500
#: Matches written per transaction by a run (over as many rules as it takes).
ACT_BATCH = 20_000
#: How often a run writes its progress (seconds).
RUN_REPORT_SECONDS = 0.5
MODEL = "tags"
TRAIN_LIMIT = 20_000
SAMPLE = 10
Progress = Callable[[int, int], None]
#: Whom a search for a rule's matches reads as: an item is a match only if every one of
#: them may read it (the rule's owner, and who runs or tests it).
Readers = Sequence[Actor]


@dataclass(frozen=True)
class RuleView:
    name: str
    order: int
    enabled: bool
    version: int
    definition: dict[str, Any]
    created_at: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "order": self.order,
            "enabled": self.enabled,
            "version": self.version,
            "when": self.definition.get("when"),
            "then": self.definition.get("then"),
            "description": self.definition.get("description", ""),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class Sample:
    id: str
    title: str
    why: list[str]
    snippet_html: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "why": self.why, "snippet": self.snippet_html}


@dataclass(frozen=True)
class TestResult:
    matched: int
    sample: list[Sample]

    def as_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "sample": [s.as_dict() for s in self.sample]}


@dataclass(frozen=True)
class RunView:
    id: int
    rule: str | None
    status: str
    total: int
    done: int
    matched: int
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "matched": self.matched,
            "error": self.error,
        }


def _view(r: repo.RuleRow) -> RuleView:
    return RuleView(
        r.name, r.position, r.enabled, r.version, r.definition, r.created_at, r.updated_at
    )


def item_of(row: DocRow) -> rulematch.Item:
    ext_lang = None
    for ext in (row.data.get("extensions") or {}).values():
        if isinstance(ext, dict) and ext.get("detected_language"):
            ext_lang = ext["detected_language"]
    return rulematch.Item(
        title=row.name or "",
        text=body_text(row),
        type=row.type,
        id=row.id,
        source=source_of(row),
        language=ext_lang,
        tags=set(row.tags),
        tlp=row.tlp,
        published=row.published,
        created=row.created,
        modified=row.modified,
    )


class RuleService:
    def __init__(
        self,
        ctx: Context,
        tags: TagService,
        objects: ObjectService,
        search: Callable[[], SearchService],
    ) -> None:
        self.ctx = ctx
        self.tags = tags
        self.objects = objects
        self._search = search
        self.actions = RuleActions(ctx, tags, objects)
        self._scorer = rulematch.Scorer()
        self._compiled: Compiled | None = None
        self._lock = threading.Lock()
        self._runs: dict[int, threading.Thread] = {}

    # -- storing rules ------------------------------------------------------------------

    def list(self) -> list[RuleView]:
        with self.ctx.store.read() as conn:
            return [_view(r) for r in repo.all_rules(conn)]

    def get(self, name: str) -> RuleView:
        with self.ctx.store.read() as conn:
            row = repo.get(conn, name)
        if row is None:
            raise not_found(f"No rule named {name!r}.")
        return _view(row)

    def save(self, actor: Actor, raw: Mapping[str, Any], *, name: str | None = None) -> RuleView:
        """Create a rule, or (with ``name``) replace that rule's definition: version + 1."""
        actor.require_write()
        spec = rm.parse_rule(dict(raw))
        rulematch.compile_condition(spec.when, spec.name)  # compiles, or says why not
        now = self.ctx.stamp()
        with self.ctx.store.begin() as conn:
            values = {
                "name": spec.name,
                "position": spec.order,
                "enabled": spec.enabled,
                "definition": json.dumps(spec.raw, ensure_ascii=False),
                "updated_at": now,
                "updated_by": actor.user_pk,
            }
            if name is None:
                if repo.get(conn, spec.name) is not None:
                    raise conflict(f"A rule named {spec.name!r} exists; edit it instead.")
                repo.insert(conn, {**values, "created_at": now, "version": 1})
            else:
                row = repo.get(conn, name)
                if row is None:
                    raise not_found(f"No rule named {name!r}.")
                if spec.name != name and repo.get(conn, spec.name) is not None:
                    raise conflict(f"A rule named {spec.name!r} exists.")
                repo.update(conn, row.pk, {**values, "version": row.version + 1})
            self.ctx.audit(conn, actor, "rule.save", spec.name)
            saved = repo.get(conn, spec.name)
        assert saved is not None
        return _view(saved)

    def delete(self, actor: Actor, name: str, *, remove_tags: bool = False) -> int:
        """Delete a rule; with ``remove_tags``, also the tags it added. Returns how many
        objects lost a tag."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = repo.get(conn, name)
            if row is None:
                raise not_found(f"No rule named {name!r}.")
            touched, lost_tlp = repo.remove_tags_added_by(conn, row.pk) if remove_tags else ([], [])
            self.tags.refresh_tlp(conn, lost_tlp)
            repo.delete(conn, row.pk)
            self.ctx.audit(
                conn, actor, "rule.delete", name, "tags removed" if remove_tags else None
            )
            # Counted over what the asker may read: a count is an answer too.
            shown = object_repo.get_many_by_pk(conn, sorted(set(touched)))
            return sum(1 for r in shown if actor.may_read(r.tlp, r.created_by))

    def export_yaml(self) -> str:
        rules = [r.definition | {"order": r.order, "enabled": r.enabled} for r in self.list()]
        ordered = [
            {k: r[k] for k in ("name", "description", "order", "enabled", "when", "then") if k in r}
            for r in rules
        ]
        return str(yaml.safe_dump({"rules": ordered}, allow_unicode=True, sort_keys=False))

    def import_yaml(self, actor: Actor, text: str, *, replace: bool = False) -> dict[str, int]:
        """Rules from YAML (``rules:`` list, or a bare list). Every rule is checked before
        any is stored; existing names are skipped, or replaced with ``replace``."""
        actor.require_write()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise invalid(f"Not readable YAML: {exc}", [Problem("yaml", "syntax")]) from exc
        items = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise invalid("Expected a list of rules (or a mapping with 'rules:').")
        specs = []
        for i, raw in enumerate(items):
            try:
                specs.append((raw, rm.parse_rule(raw)))
            except KizashiError as exc:
                raise invalid(f"Rule {i + 1}: {exc.message}", exc.problems) from exc
        counts = {"created": 0, "replaced": 0, "skipped": 0}
        for raw, spec in specs:
            try:
                self.get(spec.name)
                exists = True
            except KizashiError:
                exists = False
            if exists and not replace:
                counts["skipped"] += 1
            elif exists:
                self.save(actor, raw, name=spec.name)
                counts["replaced"] += 1
            else:
                self.save(actor, raw)
                counts["created"] += 1
        return counts

    # -- the compiled set -----------------------------------------------------------------

    def ruleset(self, conn: Connection) -> Compiled:
        """Enabled rules, compiled; recompiled only when a rule (or the learned model)
        changed, which one indexed query per batch tells."""
        stamp = repo.stamp(conn, MODEL)
        with self._lock:
            if self._compiled is None or self._compiled.stamp != stamp:
                self._load_model(conn)
                specs: dict[int, rm.RuleSpec] = {}
                compiled = []
                rows = repo.all_rules(conn, enabled_only=True)
                for r in rows:
                    spec = rm.parse_rule(r.definition | {"order": r.position, "enabled": r.enabled})
                    specs[r.pk] = spec
                    compiled.append(rulematch.Compiled((r.pk, r.version), r.name, self._node(spec)))
                versions = {r.pk: r.version for r in rows}
                owners = {r.pk: r.updated_by for r in rows}
                self._compiled = Compiled(
                    stamp, rulematch.RuleSet(compiled), specs, versions, owners
                )
            return self._compiled

    def _node(self, spec: rm.RuleSpec) -> rulematch.Node:
        return rulematch.compile_condition(
            spec.when, spec.name, auto=(self._scorer, spec.then.add_tags)
        )

    def _load_model(self, conn: Connection) -> None:
        from kizashi.text.classify import TagModel

        found = repo.model(conn, MODEL)
        self._scorer.model = TagModel.loads(found[0]) if found else None

    # -- learned suggestions ----------------------------------------------------------------

    def train(self, actor: Actor, *, limit: int = TRAIN_LIMIT) -> dict[str, Any]:
        """Learn tag suggestions from the tags analysts gave (not rules, not TLP), on the
        newest ``limit`` tagged items. Rules with an ``auto`` condition then use it."""
        from kizashi.text.analyse import analyse
        from kizashi.text.classify import TagModel, tokens

        actor.require_write()
        with self.ctx.store.read() as conn:
            by_item: dict[int, set[str]] = {}
            for pk, tag in repo.training_rows(conn):
                by_item.setdefault(pk, set()).add(tag)
            pks = sorted(by_item, reverse=True)[:limit]
            rows = docs_repo.documents(conn, pks)
        docs = []
        for pk in pks:
            row = rows.get(pk)
            if row is None or row.revoked or row.type in NOT_ITEMS:
                continue
            docs.append((tokens(analyse(f"{row.name}\n\n{body_text(row)}")), by_item[pk]))
        model = TagModel.train(docs)
        if model is None:
            raise invalid(
                "Too few tagged items to learn from: a tag needs at least 5 items with it "
                "and 5 without it."
            )
        with self.ctx.store.begin() as conn:
            repo.save_model(
                conn,
                MODEL,
                model.dumps(),
                examples=model.examples,
                labels=len(model.tags),
                at=self.ctx.stamp(),
            )
            self.ctx.audit(conn, actor, "rule.train", MODEL, f"{model.examples} items")
        return {"examples": model.examples, "tags": model.tags}

    def suggestions(self, actor: Actor, stix_id: str) -> builtins.list[dict[str, Any]]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            names = {r.pk: r.name for r in repo.all_rules(conn)}
            return [
                {"tag": tag, "score": round(score, 3), "rule": names.get(rpk) if rpk else None}
                for tag, score, rpk in repo.suggestions(conn, row.pk)
            ]

    def decide(self, actor: Actor, stix_id: str, tag: str, *, accept: bool) -> None:
        """Accept (the tag is added, as the analyst's own) or dismiss (never proposed again)."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            row = readable_row(conn, actor, stix_id)
            parsed = parse_tag(tag)
            tag_pk = self.tags.ensure(conn, [parsed])[parsed.name]
            if not repo.decide(
                conn,
                row.pk,
                tag_pk,
                "accepted" if accept else "dismissed",
                actor.user_pk,
                self.ctx.stamp(),
            ):
                raise not_found(f"No pending suggestion {tag!r} for {stix_id}.")
            if accept:
                self.tags.attach(conn, actor, [row.pk], [parsed])
            self.ctx.audit(
                conn, actor, "suggestion.accept" if accept else "suggestion.dismiss", stix_id, tag
            )

    # -- incoming items -------------------------------------------------------------------

    def apply_in(self, conn: Connection, actor: Actor, object_pks: Sequence[int]) -> int:
        """Run the enabled rules over these just-stored objects, in this transaction.
        Returns how many (rule, item) matches acted."""
        compiled = self.ruleset(conn)
        ruleset, actions = compiled.ruleset, compiled.actions
        if not ruleset.rules or not object_pks:
            return 0
        rows = docs_repo.documents(conn, object_pks)
        # A rule reads and acts as its owner: it never sees, tags or raises an event for
        # an item its owner may not read (TLP:RED of others, for a non-admin's rule).
        owners = actors_by_pk(conn, set(compiled.owners.values()))
        owner_of = {rpk: owners[upk] for rpk, upk in compiled.owners.items()}
        acted: list[tuple[int, rulematch.Hit]] = []
        for pk in object_pks:
            row = rows.get(pk)
            if row is None or row.revoked or row.type in NOT_ITEMS:
                continue
            item = item_of(row)
            terms = rulematch.Terms.of(item)
            marking = [row.tlp]  # as earlier rules of this item leave it

            def allow(
                hit: rulematch.Hit, row: DocRow = row, marking: list[str | None] = marking
            ) -> bool:
                return owner_of[hit.key[0]].may_read(marking[0], row.created_by)

            def seen(
                hit: rulematch.Hit, item: rulematch.Item = item, marking: list[str | None] = marking
            ) -> None:
                action = actions[hit.key[0]]
                item.tags.update(action.names)  # later rules see them
                if action.tlp and (
                    marking[0] is None or tlp_model.rank(action.tlp) > tlp_model.rank(marking[0])
                ):
                    marking[0] = action.tlp

            for hit in ruleset.evaluate(terms, on_hit=seen, allow=allow):
                acted.append((pk, hit))
        self.actions.act(conn, actor, acted, compiled, rows)
        return len(acted)

    # -- stored items -----------------------------------------------------------------------

    def _candidates(self, spec: rm.RuleSpec, readers: Readers) -> builtins.list[int]:
        """Stored items the index finds for a rule: exactly its matches when the index can
        decide the rule alone, else a superset that the text test narrows."""
        rc = RuleCompiler(self._search().index.compiler)
        base = rc.candidates(spec.when) if needs_text(spec.when) else rc.exact(spec.when)
        return self._pks(base, readers)

    def _pks(self, base: Any, readers: Readers) -> builtins.list[int]:
        """The stored items (not plumbing) ``base`` matches that every one of ``readers``
        may read (a rule's owner, and who runs or tests it)."""
        import tantivy

        index = self._search().index
        denied = [
            q for who in readers for q in index.compiler.denied(Access(who.tlp_levels, who.user_pk))
        ]
        not_items = tantivy.Query.term_set_query(index.schema, "type", sorted(NOT_ITEMS))
        query = tantivy.Query.boolean_query(
            [(Occur.Must, base), (Occur.MustNot, not_items)] + [(Occur.MustNot, q) for q in denied]
        )
        return index.all_pks(query)

    def _matches(
        self, spec: rm.RuleSpec, readers: Readers, *, catch_up: bool = True
    ) -> builtins.list[tuple[int, builtins.list[str]]]:
        """(pk, why) of the stored items a rule matches, through the search index.

        ``catch_up`` first brings the index up to the database. A run over many rules does
        it once, before the first: tags that earlier rules of the same run add are then not
        seen by later rules' ``tag:`` conditions (the ingest path sees them), and the index
        is not rebuilt for every rule's tags in between."""
        if catch_up:
            self._search().follower.catch_up()
        if not needs_text(spec.when):
            return [(pk, []) for pk in self._candidates(spec, readers)]
        return self._text_matches([(0, spec, readers)])[0]

    def _text_matches(
        self, rules: Sequence[tuple[int, rm.RuleSpec, Readers]]
    ) -> dict[int, builtins.list[tuple[int, builtins.list[str]]]]:
        """(pk, why) of the stored items each of these rules matches, for rules that need
        the text (regular expressions, fuzzy matches): one pass over the items any of them
        may match, each item loaded and read once for all of them (a rule's index
        candidates first narrow which items it is tested on)."""
        if not rules:
            return {}
        index = self._search().index
        rc = RuleCompiler(index.compiler)
        # None: the index cannot narrow the rule (a lone regex): every item is a candidate,
        # and no set of every pk is built for it.
        wanted = [
            (
                key,
                self._node(spec),
                None if (q := rc.narrowing(spec.when)) is None else set(self._pks(q, readers)),
                readers,
            )
            for key, spec, readers in rules
        ]
        if any(c is None for _, _, c, _ in wanted):
            import tantivy

            every = sorted(self._pks(tantivy.Query.all_query(), []))
        else:
            every = sorted(set().union(*(c for _, _, c, _ in wanted if c is not None)))
        out: dict[int, builtins.list[tuple[int, builtins.list[str]]]] = {k: [] for k, _, _ in rules}
        gate = rulematch.LiteralGate([node for _, node, _, _ in wanted])
        for i in range(0, len(every), APPLY_BATCH):
            batch = every[i : i + APPLY_BATCH]
            with self.ctx.store.read() as conn:
                rows = docs_repo.documents(conn, batch)
            for pk in batch:
                row = rows.get(pk)
                if row is None or row.revoked or row.type in NOT_ITEMS:
                    continue
                terms = rulematch.Terms.of(item_of(row))
                for j in gate.open(terms):
                    key, node, candidates, readers = wanted[j]
                    if candidates is not None and pk not in candidates:
                        continue
                    if candidates is None and not all(
                        who.may_read(row.tlp, row.created_by) for who in readers
                    ):
                        continue
                    why: builtins.list[str] = []
                    if node.test(terms, why):
                        out[key].append((pk, why))
        return out

    def test(self, actor: Actor, raw: Mapping[str, Any], *, sample: int = SAMPLE) -> TestResult:
        """How many stored items a rule (saved or not) would match, and a sample of them
        with why each matched, the matched words marked: of the items ``actor`` may read
        (a rule they save reads as they do)."""
        actor.require_write()
        spec = rm.parse_rule(dict(raw))
        found = self._matches(spec, [actor])
        node = self._node(spec)
        # By id: neither the index's order nor the store's, which objects one may not
        # read move (an observable first stored from a TLP:RED report sits earlier).
        with self.ctx.store.read() as conn:
            ids = object_repo.ids_of(conn, [pk for pk, _ in found])
            picked = sorted(found, key=lambda m: ids.get(m[0], ""))[:sample]
            rows = docs_repo.documents(conn, [pk for pk, _ in picked])
        out = []
        for pk, _ in picked:
            row = rows.get(pk)
            if row is None:
                continue
            why: list[str] = []
            node.test(rulematch.Terms.of(item_of(row)), why)
            snip = highlight(body_text(row) or row.name, [w for w in why if w and ":" not in w])
            out.append(Sample(row.id, row.name, why, snip.html()))
        return TestResult(len(found), out)

    def _new_run(self, actor: Actor, name: str | None) -> tuple[int, int | None]:
        """A queued run for one rule (by name) or every enabled rule (None)."""
        actor.require_write()
        with self.ctx.store.begin() as conn:
            rule_pk = None
            if name is not None:
                row = repo.get(conn, name)
                if row is None:
                    raise not_found(f"No rule named {name!r}.")
                rule_pk = row.pk
            return repo.create_run(conn, rule_pk, actor.user_pk, self.ctx.stamp()), rule_pk

    def apply(
        self, actor: Actor, name: str | None = None, progress: Progress | None = None
    ) -> RunView:
        """Apply one rule (or every enabled rule) to stored items; returns the finished run."""
        run_pk, rule_pk = self._new_run(actor, name)
        self._run(actor, run_pk, rule_pk, progress)
        return self.run_view(run_pk, actor)

    def apply_in_background(self, actor: Actor, name: str | None = None) -> RunView:
        """The same in a thread; follow it with :meth:`run_view` (or :meth:`wait`)."""
        run_pk, rule_pk = self._new_run(actor, name)
        thread = threading.Thread(
            target=self._run,
            args=(actor, run_pk, rule_pk, None),
            name=f"kizashi-rules-{run_pk}",
            daemon=True,
        )
        self._runs[run_pk] = thread
        thread.start()
        return self.run_view(run_pk, actor)

    def wait(self, run_id: int, timeout: float | None = None) -> RunView:
        thread = self._runs.get(run_id)
        if thread is not None:
            thread.join(timeout)
        return self.run_view(run_id, SYSTEM)

    def run_view(self, run_id: int, actor: Actor) -> RunView:
        """A run's progress, for the one who started it and admins (its counts are of
        what its starter may read)."""
        with self.ctx.store.read() as conn:
            run = repo.get_run(conn, run_id)
            if run is None or not (actor.is_admin or run.requested_by == actor.user_pk):
                raise not_found(f"No rule run {run_id}.")
            rule = repo.get_pk(conn, run.rule_pk) if run.rule_pk else None
        return RunView(
            run.pk,
            rule.name if rule else None,
            run.status,
            run.total,
            run.done,
            run.matched,
            run.error,
        )

    def _run(
        self, actor: Actor, run_pk: int, rule_pk: int | None, progress: Progress | None
    ) -> None:
        try:
            with self.ctx.store.read() as conn:
                compiled = self.ruleset(conn)
                if rule_pk is not None:
                    row = repo.get_pk(conn, rule_pk)
                    assert row is not None
                    compiled = Compiled.one(
                        row.pk, row.version, rm.parse_rule(row.definition), row.updated_by
                    )
                owners = actors_by_pk(conn, set(compiled.owners.values()))
            specs, versions = compiled.specs, compiled.versions
            # A run sees what both the rule's owner and the one who started it may read:
            # its counts are shown to the latter, its changes are made as the former.
            readers = {pk: [actor, owners[compiled.owners[pk]]] for pk in specs}
            total = len(specs)
            with self.ctx.store.begin() as conn:
                repo.update_run(conn, run_pk, status="running", total=total)
            matched = 0
            reported = time.monotonic()
            self._search().follower.catch_up()
            ordered = sorted(specs.items(), key=lambda kv: (kv[1].order, kv[1].name))
            # Rules that read the text share one pass over the items (see _text_matches).
            read = self._text_matches(
                [(pk, sp, readers[pk]) for pk, sp in ordered if needs_text(sp.when)]
            )
            pending: list[tuple[int, rulematch.Hit]] = []
            for done, (pk, spec) in enumerate(ordered, 1):
                found = read[pk] if pk in read else self._matches(spec, readers[pk], catch_up=False)
                pending += [
                    (opk, rulematch.Hit((pk, versions[pk]), spec.name, why)) for opk, why in found
                ]
                matched += len(found)
                # Many rules' matches written together: a transaction, a tag lookup and
                # a look for existing links per batch, not per rule.
                if len(pending) >= ACT_BATCH or done == total:
                    for i in range(0, len(pending), ACT_BATCH):
                        with self.ctx.store.begin() as conn:
                            self.actions.act(conn, actor, pending[i : i + ACT_BATCH], compiled)
                    pending = []
                if done == total or time.monotonic() - reported >= RUN_REPORT_SECONDS:
                    # The run's row, which a progress bar polls: a write per rule would
                    # cost a transaction each, so at most a few a second.
                    with self.ctx.store.begin() as conn:
                        repo.update_run(conn, run_pk, done=done, matched=matched)
                    reported = time.monotonic()
                if progress:
                    progress(done, total)
            with self.ctx.store.begin() as conn:
                repo.update_run(conn, run_pk, status="done", finished_at=self.ctx.stamp())
        except Exception as exc:
            log.exception("rule run %s failed", run_pk)
            with self.ctx.store.begin() as conn:
                repo.update_run(
                    conn,
                    run_pk,
                    status="failed",
                    error=str(exc)[:500],
                    finished_at=self.ctx.stamp(),
                )
            if progress is not None:
                raise

    def events(self, actor: Actor, *, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The newest rule events about items ``actor`` may read."""
        with self.ctx.store.read() as conn:
            found = repo.list_events(
                conn, kind="rule.matched", limit=limit, reader=reader_of(actor)
            )
        # Store keys are not for callers: an object's pk counts the objects stored before
        # it, those one may not read too. The event's own pk stays, as a cursor.
        return [{k: v for k, v in e.items() if k not in ("object_pk", "rule_pk")} for e in found]

    def provenance(self, actor: Actor, stix_id: str) -> dict[str, dict[str, Any]]:
        with self.ctx.store.read() as conn:
            row = readable_row(conn, actor, stix_id)
            names = {r.pk: r.name for r in repo.all_rules(conn)}
            return {
                tag: {"rule": names.get(rpk) if rpk else None, "rule_version": ver}
                for tag, (rpk, ver) in repo.provenance(conn, row.pk).items()
            }
