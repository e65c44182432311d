"""The rule service callers hold: one object over the parts of this package, each of
which does one job (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kizashi.services.common import Context
from kizashi.services.rules.actions import RuleActions
from kizashi.services.rules.definitions import RuleDefinitions
from kizashi.services.rules.history import RuleHistory
from kizashi.services.rules.learning import Suggestions
from kizashi.services.rules.matching import Matcher
from kizashi.services.rules.ruleset import RuleSets
from kizashi.services.rules.runs import Runs

if TYPE_CHECKING:
    from kizashi.services.objects import ObjectService
    from kizashi.services.search import SearchService
    from kizashi.services.tags import TagService


class RuleService:
    def __init__(
        self,
        ctx: Context,
        tags: TagService,
        objects: ObjectService,
        search: Callable[[], SearchService],
    ) -> None:
        self.actions = RuleActions(ctx, tags, objects)
        self.rulesets = RuleSets()
        self.definitions = RuleDefinitions(ctx, tags)
        self.matcher = Matcher(ctx, self.rulesets, self.actions, search)
        self.runs = Runs(self.matcher)
        self.learned = Suggestions(ctx, tags)
        self.history = RuleHistory(ctx)

        # What the API, the pages and the CLI call, by the names they have always used.
        self.list = self.definitions.list
        self.get = self.definitions.get
        self.save = self.definitions.save
        self.delete = self.definitions.delete
        self.export_yaml = self.definitions.export_yaml
        self.import_yaml = self.definitions.import_yaml
        self.apply_in = self.matcher.apply_in
        self.test = self.matcher.test
        self.apply = self.runs.apply
        self.apply_in_background = self.runs.apply_in_background
        self.wait = self.runs.wait
        self.run_view = self.runs.view
        self.train = self.learned.train
        self.suggestions = self.learned.pending
        self.decide = self.learned.decide
        self.events = self.history.events
        self.provenance = self.history.provenance
