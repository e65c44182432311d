"""The exchange service callers hold: import from and export to any registered format."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from kizashi import formats
from kizashi.formats import Format, Limits
from kizashi.model.actor import Actor
from kizashi.model.errors import Problem, invalid
from kizashi.services.common import Context
from kizashi.services.exchange.exporting import Exporter, Selection
from kizashi.services.exchange.importing import Importer, ImportReport, Opener, Progress
from kizashi.services.exchange.jobs import ImportJobs
from kizashi.services.exchange.mispfeed import MispFeeds
from kizashi.services.objects import ObjectService
from kizashi.services.tags import TagService

if TYPE_CHECKING:
    from kizashi.services.search import SearchService


class ExchangeService:
    def __init__(
        self,
        ctx: Context,
        objects: ObjectService,
        tags: TagService,
        search: Callable[[], SearchService],
    ) -> None:
        self.importer = Importer(ctx, objects, tags)
        self.exporter = Exporter(ctx, objects, search)
        self.misp_feeds = MispFeeds(ctx, self.exporter)
        self.jobs = ImportJobs(ctx, self.importer)
        self.start = self.jobs.start
        self.job = self.jobs.job
        self.wait = self.jobs.wait

    def formats(self) -> dict[str, Format]:
        return formats.available()

    def import_(
        self,
        actor: Actor,
        source: Opener,
        *,
        format: str | None = None,
        write: bool = True,
        limits: Limits | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import ``source`` (called to open it; it is read twice) in ``format``, or in
        the format its first bytes show; without ``write``, only say what would change."""
        fmt = self.format_of(source, format)
        return self.importer.run(actor, fmt, source, write=write, limits=limits, progress=progress)

    def format_of(self, source: Opener, name: str | None) -> Format:
        if name:
            return formats.get(name, reading=True)
        with source() as stream:
            head = stream.read(4096)
        found = formats.sniff(head)
        if found is None:
            readable = [f.name for f in formats.available().values() if f.can_read]
            raise invalid(
                "No format recognises this input; name one: %(formats)s.",
                [Problem("format", "no format recognises this input")],
                formats=", ".join(readable),
            )
        return found

    def writer(self, name: str) -> Format:
        """The format ``name`` that can write, or a clear error."""
        return formats.get(name, writing=True)

    def export(self, actor: Actor, out: IO[bytes], selection: Selection, *, format: str) -> int:
        """Write the selection to ``out`` in ``format``; returns how many objects."""
        fmt = formats.get(format, writing=True)
        assert fmt.write is not None
        count = [0]

        def counted() -> Iterator[dict[str, Any]]:
            for obj in self.exporter.objects_of(actor, selection):
                count[0] += 1
                yield obj

        fmt.write(counted(), out)
        return count[0]
