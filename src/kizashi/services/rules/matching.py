"""Which items a rule matches: incoming ones in their storing transaction, stored ones
through the search index (regular expressions and fuzzy matches then checked on the
candidates' text), and a rule's test over what its author may read."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from kizashi.model import rules as rm
from kizashi.model import tlp as tlp_model
from kizashi.model.actor import Actor
from kizashi.search.compile import Access, Occur
from kizashi.search.documents import body_text, source_of
from kizashi.search.rules import RuleCompiler, needs_text
from kizashi.services.common import Context, actors_by_pk
from kizashi.services.rules.actions import RuleActions
from kizashi.services.rules.ruleset import RuleSets
from kizashi.services.rules.views import Sample, TestResult
from kizashi.store import objects as object_repo
from kizashi.store import search as docs_repo
from kizashi.store.search import DocRow
from kizashi.text import rulematch
from kizashi.text.highlight import highlight

if TYPE_CHECKING:
    from kizashi.services.search import SearchService

#: Objects rules never look at: plumbing, and collections (which rules fill).
NOT_ITEMS = frozenset(
    {"marking-definition", "extension-definition", "relationship", "grouping", "identity"}
)
#: Stored items loaded and read per transaction when rules need their text.
APPLY_BATCH = 500
#: How many matches a rule's test shows.
SAMPLE = 10
#: Whom a search for a rule's matches reads as: an item is a match only if every one of
#: them may read it (the rule's owner, and who runs or tests it).
Readers = Sequence[Actor]
#: (pk, why) of each item a rule matched.
Matches = builtins.list[tuple[int, builtins.list[str]]]


def item_of(row: DocRow) -> rulematch.Item:
    """A stored object as rule conditions read it."""
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


class Matcher:
    def __init__(
        self,
        ctx: Context,
        rulesets: RuleSets,
        actions: RuleActions,
        search: Callable[[], SearchService],
    ) -> None:
        self.ctx = ctx
        self.rulesets = rulesets
        self.actions = actions
        self._search = search

    def catch_up(self) -> None:
        """Bring the index up to the database (before a run reads it)."""
        self._search().follower.catch_up()

    # -- incoming items -------------------------------------------------------------------

    def apply_in(self, conn: Connection, actor: Actor, object_pks: Sequence[int]) -> int:
        """Run the enabled rules over these just-stored objects, in this transaction.
        Returns how many (rule, item) matches acted."""
        compiled = self.rulesets.current(conn)
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

    def candidates(self, spec: rm.RuleSpec, readers: Readers) -> builtins.list[int]:
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

    def matches(self, spec: rm.RuleSpec, readers: Readers, *, catch_up: bool = True) -> Matches:
        """(pk, why) of the stored items a rule matches, through the search index.

        ``catch_up`` first brings the index up to the database. A run over many rules does
        it once, before the first: tags that earlier rules of the same run add are then not
        seen by later rules' ``tag:`` conditions (the ingest path sees them), and the index
        is not rebuilt for every rule's tags in between."""
        if catch_up:
            self.catch_up()
        if not needs_text(spec.when):
            return [(pk, []) for pk in self.candidates(spec, readers)]
        return self.text_matches([(0, spec, readers)])[0]

    def text_matches(self, rules: Sequence[tuple[int, rm.RuleSpec, Readers]]) -> dict[int, Matches]:
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
                self.rulesets.node(spec),
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
        out: dict[int, Matches] = {k: [] for k, _, _ in rules}
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
        found = self.matches(spec, [actor])
        node = self.rulesets.node(spec)
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
