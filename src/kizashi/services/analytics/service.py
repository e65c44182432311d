"""The analytics service callers hold: one object over the parts of this package."""

from __future__ import annotations

from kizashi.services.analytics.graphs import Graphs
from kizashi.services.analytics.trends import Trends
from kizashi.services.analytics.words import Words
from kizashi.services.common import Context
from kizashi.services.search import SearchService


class AnalyticsService:
    def __init__(self, ctx: Context, search: SearchService) -> None:
        self.words = Words(ctx, search)
        self.graphs = Graphs(ctx, search)
        self.series = Trends(ctx, search)

        # What the API, the pages, the CLI and the dashboard call.
        self.terms = self.words.terms
        self.terms_in_orders = self.words.terms_in_orders
        self.emerging = self.words.emerging
        self.tag_graph = self.graphs.tag_graph
        self.word_graph = self.graphs.word_graph
        self.indicator_graph = self.graphs.indicator_graph
        self.trends = self.series.trends
        self.fitted_trends = self.series.fitted_trends
