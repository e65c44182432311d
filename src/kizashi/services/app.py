"""The services wired together over one store: what every interface holds."""

from __future__ import annotations

import threading
from pathlib import Path

from kizashi.model.actor import SYSTEM, SYSTEM_IDENTITY
from kizashi.model.article import ARTICLE_EXTENSION, extension_definition
from kizashi.model.custom import observable_extension_definitions
from kizashi.search.index import SearchIndex
from kizashi.search.sync import Follower
from kizashi.services import taxonomies
from kizashi.services.analytics import AnalyticsService
from kizashi.services.common import Clock, Context, utcnow
from kizashi.services.demo import DemoService
from kizashi.services.digests import DigestService
from kizashi.services.entity_graph import EntityGraphService
from kizashi.services.exchange import ExchangeService
from kizashi.services.exchange.attack import AttackReleases
from kizashi.services.indicators import IndicatorService
from kizashi.services.llm import LLMConfig
from kizashi.services.names import NameLinker
from kizashi.services.objects import ObjectService
from kizashi.services.relationships import RelationshipService
from kizashi.services.rules import RuleService
from kizashi.services.search import SearchService
from kizashi.services.summaries import SummaryService
from kizashi.services.tags import TagService
from kizashi.services.users import UserService
from kizashi.store import objects as object_repo
from kizashi.store import taxonomies as taxonomy_repo
from kizashi.store.engine import Store


class Kizashi:
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock = utcnow,
        keep_flagged: bool = True,
        warninglists: bool = True,
        search_dir: Path | None = None,
        search_sync_seconds: float = 1.0,
        llm: LLMConfig | None = None,
    ) -> None:
        self.store = store
        #: The installation's LLM for summaries (None: the extractive summaries only).
        self.llm = llm
        self.search_dir = search_dir
        self.search_sync_seconds = search_sync_seconds
        self._search: SearchService | None = None
        self._search_lock = threading.Lock()
        self.ctx = Context(store, clock)
        self.tags = TagService(self.ctx)
        self.objects = ObjectService(self.ctx, self.tags)
        self.indicators = IndicatorService(
            self.ctx, self.objects, keep_flagged=keep_flagged, warninglists=warninglists
        )
        self.objects.hooks.linker = self.indicators
        #: The names and aliases reports are linked by (the gazetteer).
        self.names = NameLinker(self.ctx)
        self.indicators.names = self.names
        self.relationships = RelationshipService(self.ctx, self.objects)
        self.entity_graph = EntityGraphService(self.ctx, self.objects)
        self.rules = RuleService(self.ctx, self.tags, self.objects, lambda: self.search)
        self.objects.hooks.tagger = self.rules
        self.exchange = ExchangeService(self.ctx, self.objects, self.tags, lambda: self.search)
        self.attack = AttackReleases(self.ctx, self.objects, self.tags, self.exchange, self.names)
        self.exchange.importer.after_write.append(self.attack.after_write)
        self.users = UserService(self.ctx)
        #: The bundled demo set (``kizashi demo``, the home page's button).
        self.demo = DemoService(self.ctx, self.exchange, self.objects, self.tags)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        default_taxonomies: list[str] | None = None,
        clock: Clock = utcnow,
        keep_flagged: bool = True,
        warninglists: bool = True,
        search_dir: Path | None = None,
        search_sync_seconds: float = 1.0,
        llm: LLMConfig | None = None,
    ) -> Kizashi:
        """Open (and migrate) the store, then make sure first-run data is there."""
        app = cls(
            Store.open(url),
            clock=clock,
            keep_flagged=keep_flagged,
            warninglists=warninglists,
            search_dir=search_dir,
            search_sync_seconds=search_sync_seconds,
            llm=llm,
        )
        app.bootstrap(default_taxonomies or ["tlp", "PAP", "admiralty-scale"])
        return app

    def bootstrap(self, default_taxonomies: list[str]) -> None:
        """Idempotent first-run set-up: Kizashi's own identity, default taxonomies."""
        with self.store.read() as conn:
            has_identity = object_repo.get(conn, SYSTEM_IDENTITY) is not None
            known = taxonomy_repo.states(conn)
        if not has_identity:
            self.objects.create(
                SYSTEM,
                {
                    "type": "identity",
                    "id": SYSTEM_IDENTITY,
                    "name": "Kizashi",
                    "identity_class": "system",
                },
            )
        spelled = [taxonomies.get(ns).namespace for ns in default_taxonomies]
        fresh = [ns for ns in spelled if ns not in known]
        with self.store.read() as conn:
            has_extension = object_repo.get(conn, ARTICLE_EXTENSION) is not None
            missing = [
                d for d in observable_extension_definitions() if not object_repo.get(conn, d["id"])
            ]
        if not has_extension:
            self.objects.create(SYSTEM, extension_definition())
        for definition in missing:
            self.objects.create(SYSTEM, definition)
        if fresh:
            with self.store.begin() as conn:
                for ns in fresh:
                    taxonomy_repo.set_enabled(conn, ns, True, self.ctx.stamp())

    @property
    def search(self) -> SearchService:
        """Full-text search, opened on first use: only processes that search hold the
        index (a job worker never does), in ``search_dir`` or in memory when it is None."""
        with self._search_lock:
            if self._search is None:
                index = SearchIndex(self.search_dir)
                follower = Follower(self.store, index, interval=self.search_sync_seconds)
                self._search = SearchService(self.ctx, index, follower)
            return self._search

    @property
    def summaries(self) -> SummaryService:
        """Summaries of an article or of a selection, with citations (kept until their
        inputs change)."""
        return SummaryService(self.ctx, self.objects, self.search, self.llm)

    @property
    def digests(self) -> DigestService:
        """Selections summarised every day or week (run by the scheduler)."""
        return DigestService(self.ctx, lambda: self.summaries, self.users)

    @property
    def analytics(self) -> AnalyticsService:
        """Frequent and emerging words, co-occurrence graphs and trends (from the index)."""
        return AnalyticsService(self.ctx, self.search)

    def close(self) -> None:
        if self._search is not None:
            self._search.follower.stop()
            self._search.index.close()
        self.store.dispose()
