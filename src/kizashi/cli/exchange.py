"""``kizashi import`` and ``kizashi export``: STIX 2.1 bundles and every other registered
format, in and out."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, err, fail, open_app, out, print_json
from kizashi.config import Settings
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Problem, failure, invalid
from kizashi.services.exchange import ImportReport, Selection

#: An import read from a URL is held while it is read twice; at most this much.
URL_MAX_BYTES = 512 * 1024 * 1024


@contextmanager
def _spooled(source: str) -> Iterator[Path]:
    """The import's bytes as a file (read twice: preview, then import): the file itself,
    or standard input or a URL's body copied into the data directory first."""
    if source != "-" and not source.startswith(("http://", "https://")):
        path = Path(source)
        if not path.is_file():
            raise invalid("No file %(source)s.", [Problem("source", source)], source=source)
        yield path
        return
    settings = Settings()
    spool = settings.ensure_data_dir() / "tmp"
    spool.mkdir(mode=0o700, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=spool, prefix="import-", suffix=".part") as tmp:
        if source == "-":
            shutil.copyfileobj(sys.stdin.buffer, tmp)
        else:
            tmp.write(_fetch(settings, source))
        tmp.flush()
        yield Path(tmp.name)


def _fetch(settings: Settings, url: str) -> bytes:
    from kizashi.ingest.fetch import FetchError
    from kizashi.jobs.queue import make_fetcher

    fetcher = make_fetcher(settings)
    fetcher.limits = dataclasses.replace(fetcher.limits, max_bytes=URL_MAX_BYTES)
    try:
        return fetcher.get(url).body
    except FetchError as exc:
        raise failure(
            "Could not fetch %(url)s: %(reason)s", "fetch_failed", url=url, reason=exc.message
        ) from None
    finally:
        fetcher.close()


def import_(
    source: str = typer.Argument(..., help="A file, - for standard input, or an http(s) URL."),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="The input's format (default: recognised from its start)."
    ),
    preview: bool = typer.Option(
        False, "--preview", help="Only say what would change; store nothing."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Import STIX 2.1 (a bundle, a list or one object) or another registered format.

    Every object is checked; the ones that fail are listed and skipped. Newer versions
    replace older ones, equal ones change nothing, older ones never overwrite."""
    try:
        report = _import(source, fmt, preview=preview, quiet=as_json)
    except KizashiError as exc:  # a file that is not there, a URL that does not answer
        fail(exc)
    if as_json:
        print_json(report.as_dict())
    else:
        _print(report)


def _import(source: str, fmt: str | None, *, preview: bool, quiet: bool) -> ImportReport:
    with _spooled(source) as path, open_app() as kz:
        actor = actor_of(kz)

        def opener() -> IO[bytes]:
            return path.open("rb")

        total = path.stat().st_size
        if preview or quiet or not sys.stderr.isatty():
            report = kz.exchange.import_(actor, opener, format=fmt, write=not preview)
        else:
            report = _with_bar(kz.exchange.import_, actor, opener, fmt, total)
    return report


def _with_bar(
    run: Callable[..., ImportReport],
    actor: Actor,
    opener: Callable[[], IO[bytes]],
    fmt: str | None,
    size: int,
) -> ImportReport:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} objects"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"importing {size:,} bytes", total=None)
        return run(actor, opener, format=fmt, progress=lambda n: bar.update(task, completed=n))


def _print(report: ImportReport) -> None:
    verb = "imported" if report.written else "would import (preview: nothing stored)"
    counts = ", ".join(f"{v:,} {k}" for k, v in report.counts.items() if v) or "nothing"
    out.print(f"{report.read:,} objects read ({report.format}); {verb}: {counts}")
    if report.by_type:
        table = Table("type", *[k for k in report.counts if report.counts[k]])
        for t, per in sorted(report.by_type.items()):
            table.add_row(t, *[f"{per[k]:,}" for k in report.counts if report.counts[k]])
        out.print(table)
    for p in report.problems:
        where = f" {p.where}:" if p.where else ""
        err.print(f"  #{p.index} {p.id or '(no id)'}{where} {p.why}", markup=False)
    hidden = sum(report.counts[k] for k in ("invalid", "conflict", "refused")) - len(
        report.problems
    )
    if hidden > 0:
        err.print(f"  … and {hidden:,} more problems (--json lists the first 1,000)")


def export(
    fmt: str = typer.Option("stix", "--format", "-f", help="The output's format."),
    query: str | None = typer.Option(None, "--query", "-q", help="A search query."),
    tags: str | None = typer.Option(None, "--tags", help="A tag filter expression."),
    ids: list[str] | None = typer.Option(None, "--id", help="These objects (repeatable)."),
    types: list[str] | None = typer.Option(None, "--type", help="Only these STIX types."),
    depth: int = typer.Option(
        0, "--depth", help="Also what the selection refers to, and relationships, N steps out."
    ),
    revoked: bool = typer.Option(False, "--revoked", help="Revoked objects too (admins)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File; default stdout."),
) -> None:
    """Export a selection (everything you may read by default) in a format: a STIX 2.1
    bundle unless --format names another."""
    selection = Selection(
        query=query,
        tags=tags,
        ids=tuple(ids or ()),
        types=tuple(types or ()),
        depth=depth,
        include_revoked=revoked,
    )
    with open_app() as kz:
        actor = actor_of(kz)
        try:
            if output is None:
                n = kz.exchange.export(actor, sys.stdout.buffer, selection, format=fmt)
                sys.stdout.flush()
            else:
                with output.open("wb") as fh:
                    n = kz.exchange.export(actor, fh, selection, format=fmt)
        except KizashiError as exc:
            fail(exc)
    err.print(f"{n:,} objects exported ({fmt})")
