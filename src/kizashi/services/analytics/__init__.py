"""Analytics: frequent and emerging words, tag and word co-occurrence, trends.

Every statistic is over a *selection*, anything a search can express (a query, a tag, a
source, a time window), read as the asker may read it (TLP). The counting is done by the
search index (:mod:`kizashi.search.stats`), which keeps every item's keywords as the item
arrives; this service turns counts into scores.

- **Keyness** is Dunning's log-likelihood (G²) on a 2×2 table of documents: how many of
  the selection hold the word against how many of the rest of the store do. It is signed
  (negative when the word is rarer in the selection than elsewhere), so ``Ivanti`` rises
  in the week it matters while ``攻撃``, in every article, scores about nothing.
- **Emerging terms** compare a recent period with the period before it the same way and
  keep the words significantly more frequent now (G² ≥ 10.83, p < 0.001).
- **Tag co-occurrence** weights each pair by count and by an association measure
  (positive PMI, or Jaccard), so that ``tlp:clear`` on everything ties nothing together.

The package: :mod:`.selection` (what a statistic counts over), :mod:`.keyness` (the
scores), :mod:`.words` (frequent and emerging words), :mod:`.graphs` (co-occurrence),
:mod:`.trends` (series over time), :mod:`.views` (the answers), :mod:`.service`
(:class:`AnalyticsService`, the one object callers hold).
"""

from kizashi.services.analytics.keyness import language_of, log_likelihood
from kizashi.services.analytics.selection import ITEM_TYPES, selection
from kizashi.services.analytics.service import AnalyticsService
from kizashi.services.analytics.trends import INTERVALS
from kizashi.services.analytics.views import (
    Driver,
    Edge,
    Emerging,
    Graph,
    Node,
    Series,
    TermStat,
    TermStats,
)

__all__ = [
    "INTERVALS",
    "ITEM_TYPES",
    "AnalyticsService",
    "Driver",
    "Edge",
    "Emerging",
    "Graph",
    "Node",
    "Series",
    "TermStat",
    "TermStats",
    "language_of",
    "log_likelihood",
    "selection",
]
