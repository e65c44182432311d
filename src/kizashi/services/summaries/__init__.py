"""Summaries of one article, or of a collection (everything a search selects over a
period: a tag, a keyword, a source, a saved query), with citations.

A provider makes the text; this service chooses the inputs, cites them, lists what they
mention (indicators, CVEs, actors), and keeps the result until the inputs change. The
default provider, ``extractive`` (:mod:`kizashi.text.summarise`), needs no model and no
network, so every installation has summaries; an LLM provider is the next step and
plugs in behind the same :class:`Provider` interface.

A stored summary names how it was made (provider, model, method or template version,
the ids and versions of its inputs, when), so it can be traced and made again; it is
reused while the same inputs in the same versions would be read again (the digest), and
made afresh when one changed, was added or was withdrawn.

The package: :mod:`.providers` (the :class:`Provider` interface and the built-in
providers), :mod:`.inputs` (what a summary reads), :mod:`.making` (making one, or finding
it made), :mod:`.jobs` (in the background), :mod:`.views` (the answers) and
:mod:`.service` (:class:`SummaryService`, the one object callers hold).
"""

from kizashi.services.summaries.inputs import ARTICLE_BUDGET, COLLECTION_BUDGET
from kizashi.services.summaries.service import SummaryService
from kizashi.services.summaries.views import JobView, Summary, SummaryRequest

__all__ = [
    "ARTICLE_BUDGET",
    "COLLECTION_BUDGET",
    "JobView",
    "Summary",
    "SummaryRequest",
    "SummaryService",
]
