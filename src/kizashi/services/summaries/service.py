"""The summary service callers hold: one object over making summaries and their jobs."""

from __future__ import annotations

from kizashi.services import llm
from kizashi.services.common import Context
from kizashi.services.objects import ObjectService
from kizashi.services.search import SearchService
from kizashi.services.summaries.jobs import SummaryJobs
from kizashi.services.summaries.making import SummaryMaker
from kizashi.services.summaries.providers import Extractive, OpenAICompatible, Provider


class SummaryService:
    def __init__(
        self,
        ctx: Context,
        objects: ObjectService,
        search: SearchService,
        llm_config: llm.LLMConfig | None = None,
    ) -> None:
        # The extractive provider needs no model and no network: every installation has it.
        providers: list[Provider] = [Extractive()]
        if llm_config is not None:
            providers.append(OpenAICompatible(llm_config))
        self.maker = SummaryMaker(ctx, objects, search, providers)
        self.jobs = SummaryJobs(ctx, self.maker)

        # What the API, the pages, the CLI and the digests call.
        self.providers = self.maker.providers
        self.article = self.maker.article
        self.collection = self.maker.collection
        self.make = self.jobs.make
        self.start = self.jobs.start
        self.new_job = self.jobs.new_job
        self.check = self.jobs.check
        self.run_job = self.jobs.run_job
        self.job = self.jobs.job
        self.wait = self.jobs.wait
