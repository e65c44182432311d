"""Search as callers see it: a query string and an actor in, ranked and marked results out.

The index answers which objects match, for this actor, in which order (TLP is a clause of
the index query, so a page is never filtered after the fact); the database supplies what
is shown (title, source, date, tags and the text a snippet is cut from), so a result is
never staler than the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from kizashi.model import searchquery as sq
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, invalid, not_found
from kizashi.model.tags import MAX_TAG_LENGTH
from kizashi.search.compile import Access
from kizashi.search.documents import body_text, source_of
from kizashi.search.index import SearchIndex
from kizashi.search.sync import Follower, Progress
from kizashi.services.common import Context
from kizashi.services.tags import canonical as canonical_tag
from kizashi.store import search as repo
from kizashi.text.highlight import highlight, to_html
from kizashi.text.highlight import matcher as make_matcher
from kizashi.text.highlight import spans as find_spans

SORTS = ("relevance", "newest")
MAX_LIMIT = 200
#: How long a search waits for the follower when it is busy (a rebuild takes minutes).
QUERY_WAIT = 2.0


@dataclass(frozen=True)
class SearchHit:
    id: str
    type: str
    title: str
    title_html: str
    source: str | None
    published: str | None
    tags: list[str]
    tlp: str | None
    score: float
    snippet: str
    snippet_html: str
    #: Marked spans of ``snippet`` (character offsets).
    snippet_spans: list[tuple[int, int]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "tags": self.tags,
            "tlp": self.tlp,
            "score": round(self.score, 4),
            "snippet": self.snippet_html,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    sort: str
    total: int
    hits: list[SearchHit]
    next_cursor: str | None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: False when ``total`` is a lower bound: a large result set is not counted exactly
    #: unless facets were asked for (see SearchIndex.search).
    total_exact: bool = True
    #: Tags named by words of the query: their items are found too, after text matches.
    also_tagged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "query": self.query,
            "sort": self.sort,
            "total": self.total,
            "total_exact": self.total_exact,
            "hits": [h.as_dict() for h in self.hits],
            "next_cursor": self.next_cursor,
        }
        if self.also_tagged:
            out["also_tagged"] = self.also_tagged
        if self.facets:
            out["facets"] = {
                k: [{"value": v, "count": n} for v, n in vs] for k, vs in self.facets.items()
            }
        return out


@dataclass(frozen=True)
class SavedSearchView:
    name: str
    query: str
    sort: str
    created_at: str
    updated_at: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "sort": self.sort,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def access_for(actor: Actor) -> Access:
    return Access(actor.tlp_levels, actor.user_pk)


class SearchService:
    def __init__(
        self, ctx: Context, index: SearchIndex, follower: Follower, *, sync_on_query: bool = True
    ) -> None:
        self.ctx = ctx
        self.index = index
        self.follower = follower
        self.sync_on_query = sync_on_query

    # -- searching -------------------------------------------------------------

    def search(
        self,
        actor: Actor,
        query: str,
        *,
        sort: str = "relevance",
        limit: int = 20,
        cursor: str | None = None,
        facets: bool = False,
        zone: tzinfo = UTC,
    ) -> SearchResult:
        """Hits for ``query`` as ``actor`` may read them; its dates are days in ``zone``."""
        if sort not in SORTS:
            raise invalid(
                "Sort must be one of %(choices)s.",
                [Problem("sort", sort)],
                choices=", ".join(SORTS),
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid(
                "Limit must be between 1 and %(max)s.",
                [Problem("limit", str(limit))],
                max=MAX_LIMIT,
            )
        expr = sq.parse(query, zone)
        if self.sync_on_query:
            self.follower.catch_up(wait=QUERY_WAIT)
        access = access_for(actor)
        tagged = self._tagged_words(expr, access)
        expr = sq.also_tagged(expr, tagged)
        page = self.index.search(expr, access, sort=sort, limit=limit, cursor=cursor)
        hits = self._views(page.hits, [t.text for t in sq.words(expr)])
        counts = self.index.facets(expr, access) if facets else {}
        total, exact = page.total, page.total_exact
        if counts:
            total, exact = counts.pop("matches"), True
        also = sorted(set(tagged.values()))
        return SearchResult(query, sort, total, hits, page.next_cursor, counts, exact, also)

    def _tagged_words(self, expr: sq.Expr, access: Access) -> dict[str, str]:
        """The query's bare words (outside a NOT) that name a tag on an item ``access``
        may read (a tag only on items it may not read is not revealed), as tag names."""
        out: dict[str, str] = {}
        searcher = None
        for w in sq.words(expr):
            if not isinstance(w, sq.Word) or w.text in out or len(w.text) > MAX_TAG_LENGTH:
                continue
            try:
                name = canonical_tag(w.text)
            except KizashiError:
                continue
            searcher = searcher or self.index.searcher()
            q = self.index.compiler.variant(match_only=True).query(
                sq.Field("tag", name, w.pos), access
            )
            if searcher.search(q, 1, count=True).count:
                out[w.text] = name
        return out

    def _views(self, found: list[Any], terms: list[str]) -> list[SearchHit]:
        if not found:
            return []
        with self.ctx.store.read() as conn:
            rows = repo.documents(conn, [h.pk for h in found])
        m = make_matcher(terms) if terms else None
        out = []
        for hit in found:
            row = rows.get(hit.pk)
            if row is None or row.revoked:
                continue  # removed after the index was read; the next sync drops it
            body = body_text(row) or row.name
            snip = highlight(body, terms) if terms else highlight(body, [])
            title_spans = find_spans(row.name, m) if m else []
            out.append(
                SearchHit(
                    id=row.id,
                    type=row.type,
                    title=row.name,
                    title_html=to_html(row.name, title_spans),
                    source=source_of(row),
                    published=row.published or row.created,
                    tags=row.tags,
                    tlp=row.tlp,
                    score=hit.score,
                    snippet=snip.text,
                    snippet_html=snip.html(),
                    snippet_spans=snip.spans,
                )
            )
        return out

    # -- the index -------------------------------------------------------------

    def reindex(self, actor: Actor, progress: Progress | None = None) -> int:
        actor.require_admin()
        return self.follower.rebuild(progress)

    def reindex_in_background(self, actor: Actor) -> bool:
        actor.require_admin()
        return self.follower.rebuild_in_background()

    def status(self) -> dict[str, Any]:
        pos = self.index.position()
        progress = self.follower.rebuild_progress
        return {
            "rebuilding": {"done": progress[0], "total": progress[1]} if progress else None,
            "documents": self.index.count(),
            "writer": self.index.writable,
            "position": pos.position,
            "pending": self.follower.lag(),
            "synced_at": pos.synced_at,
            "path": str(self.index.path) if self.index.path else None,
        }

    # -- saved searches --------------------------------------------------------

    def saved(self, actor: Actor) -> list[SavedSearchView]:
        with self.ctx.store.read() as conn:
            return [_saved_view(s) for s in repo.saved_list(conn, actor.user_pk)]

    def save(self, actor: Actor, name: str, query: str, sort: str = "relevance") -> SavedSearchView:
        name = name.strip()
        if not name or len(name) > 200:
            raise invalid(
                "A saved search needs a name of 1 to 200 characters.", [Problem("name", "required")]
            )
        if sort not in SORTS:
            raise invalid(
                "Sort must be one of %(choices)s.",
                [Problem("sort", sort)],
                choices=", ".join(SORTS),
            )
        sq.parse(query)  # a saved search always runs
        with self.ctx.store.begin() as conn:
            saved = repo.saved_put(conn, actor.user_pk, name, query, sort, self.ctx.stamp())
            self.ctx.audit(conn, actor, "search.save", name)
        return _saved_view(saved)

    def delete_saved(self, actor: Actor, name: str) -> None:
        with self.ctx.store.begin() as conn:
            if not repo.saved_delete(conn, actor.user_pk, name):
                raise not_found("No saved search named %(name)r.", name=name)
            self.ctx.audit(conn, actor, "search.delete", name)

    def get_saved(self, actor: Actor, name: str) -> SavedSearchView:
        with self.ctx.store.read() as conn:
            found = repo.saved_get(conn, actor.user_pk, name)
        if found is None:
            raise not_found("No saved search named %(name)r.", name=name)
        return _saved_view(found)

    def run_saved(self, actor: Actor, name: str, **kwargs: Any) -> SearchResult:
        saved = self.get_saved(actor, name)
        kwargs.setdefault("sort", saved.sort)
        return self.search(actor, saved.query, **kwargs)


def _saved_view(s: repo.SavedSearch) -> SavedSearchView:
    return SavedSearchView(s.name, s.query, s.sort, s.created_at, s.updated_at)
