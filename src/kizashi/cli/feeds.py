"""``kizashi feed …``: subscribe, inspect, poll now, pause, resume, OPML."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, err, open_app, out, print_json
from kizashi.config import Settings
from kizashi.ingest.feeds import FeedService, FeedView
from kizashi.ingest.opml import Subscription, parse_opml, to_opml
from kizashi.ingest.poller import PollResult
from kizashi.jobs.queue import make_fetcher

app = typer.Typer(help="RSS, Atom, RDF and JSON feeds.", no_args_is_help=True)


@contextmanager
def feed_service() -> Iterator[FeedService]:
    settings = Settings()
    with open_app() as kz:
        service = FeedService(kz, make_fetcher(settings), lease_seconds=settings.poll_lease_seconds)
        try:
            yield service
        finally:
            service.fetcher.close()


def _show(view: FeedView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    for key, value in view.as_dict().items():
        out.print(f"{key:22} {value}", highlight=False)


@app.command("add")
def add(
    url: str = typer.Argument(..., help="The feed's address (RSS, Atom, RDF or JSON Feed)."),
    title: str | None = typer.Option(None, "--title", help="Default: the feed's own title."),
    interval: int = typer.Option(1800, "--interval", help="Seconds between polls (60 to 604800)."),
    full_text: bool = typer.Option(
        False, "--full-text/--no-full-text", help="Fetch each article page."
    ),
    tag: list[str] | None = typer.Option(
        None, "--tag", "-t", help="Tag for every item (repeatable)."
    ),
    tlp: str | None = typer.Option(None, "--tlp", help="TLP for every item."),
    language: str | None = typer.Option(
        None, "--language", help="ja, en, … when the feed does not say."
    ),
    header: list[str] | None = typer.Option(
        None, "--header", help="'Name: value' sent with each request."
    ),
    paused: bool = typer.Option(False, "--paused", help="Add without polling on a schedule."),
    misp: bool = typer.Option(
        False, "--misp", help="A MISP feed: the directory of manifest.json and the events."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Subscribe to a feed."""
    headers = {}
    for h in header or []:
        name, sep, value = h.partition(":")
        if not sep:
            err.print(f"[red]error[/red]: --header {h!r} is not 'Name: value'", highlight=False)
            raise typer.Exit(2)
        headers[name.strip()] = value.strip()
    with feed_service() as feeds:
        view = feeds.add(
            actor_of(feeds.kz),
            url,
            title=title,
            interval_seconds=interval,
            full_text=full_text,
            tags=tag or [],
            tlp=tlp,
            language=language,
            headers=headers,
            enabled=not paused,
            kind="misp" if misp else "rss",
        )
    _show(view, as_json)


@app.command("list")
def list_(as_json: bool = JsonOpt) -> None:
    """Every feed with its state."""
    with feed_service() as feeds:
        views = feeds.list(actor_of(feeds.kz))
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    table = Table(
        "id", "title", "enabled", "last success", "failures", "last error", "next poll", "stored"
    )
    for v in views:
        table.add_row(
            str(v.id),
            v.title,
            "yes" if v.enabled else "paused",
            (v.last_success_at or "")[:19],
            str(v.consecutive_failures),
            (v.last_error or "")[:60],
            (v.next_poll_at or "")[:19],
            str(v.items_stored),
        )
    out.print(table)


@app.command("show")
def show(feed_id: int = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """One feed's settings and state."""
    with feed_service() as feeds:
        _show(feeds.get(actor_of(feeds.kz), feed_id), as_json)


@app.command("poll")
def poll(
    feed_id: int | None = typer.Argument(None, help="The feed to poll."),
    all_feeds: bool = typer.Option(False, "--all", help="Poll every enabled feed."),
    as_json: bool = JsonOpt,
) -> None:
    """Poll now, in the foreground; print stored, updated, duplicate and rejected counts."""
    if (feed_id is None) == (not all_feeds):
        err.print("[red]error[/red]: give a feed id or --all", highlight=False)
        raise typer.Exit(2)
    results: list[PollResult] = []
    with feed_service() as feeds:
        actor = actor_of(feeds.kz)
        actor.require_write()
        targets = (
            [feeds.get(actor, feed_id)]
            if feed_id is not None
            else [v for v in feeds.list(actor) if v.enabled]
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
            disable=as_json or not sys.stderr.isatty(),
        ) as bar:
            for view in targets:
                task = bar.add_task(view.title[:40], total=None)

                def step(done: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total)

                results.append(feeds.poll(view.id, progress=step))
    if as_json:
        print_json([r.as_dict() for r in results] if all_feeds else results[0].as_dict())
    else:
        table = Table("id", "feed", "stored", "updated", "duplicate", "rejected", "result")
        for r in results:
            outcome = r.error or ("not modified" if r.not_modified else "ok")
            table.add_row(
                str(r.feed_id),
                r.title,
                *(str(r.counts[k]) for k in ("stored", "updated", "duplicate", "rejected")),
                outcome,
            )
        out.print(table)
    if any(r.error for r in results):
        raise typer.Exit(1)


def _set_enabled(feed_id: int, enabled: bool, as_json: bool) -> None:
    with feed_service() as feeds:
        _show(feeds.update(actor_of(feeds.kz), feed_id, enabled=enabled), as_json)


@app.command("pause")
def pause(feed_id: int = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Stop polling a feed on its schedule."""
    _set_enabled(feed_id, False, as_json)


@app.command("resume")
def resume(feed_id: int = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Poll a paused feed again (due at once)."""
    _set_enabled(feed_id, True, as_json)


@app.command("remove")
def remove(feed_id: int = typer.Argument(...)) -> None:
    """Unsubscribe; the reports the feed brought stay."""
    with feed_service() as feeds:
        feeds.remove(actor_of(feeds.kz), feed_id)
    out.print(f"feed {feed_id} removed", highlight=False)


@app.command("import-opml")
def import_opml(
    path: Path = typer.Argument(..., help="An OPML file ('-' for stdin)."),
    full_text: bool = typer.Option(False, "--full-text/--no-full-text"),
    as_json: bool = JsonOpt,
) -> None:
    """Subscribe to every feed an OPML file lists (ones already subscribed are skipped)."""
    data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    with feed_service() as feeds:
        report = feeds.subscribe_all(actor_of(feeds.kz), parse_opml(data), full_text=full_text)
    if as_json:
        print_json(report.as_dict())
        return
    out.print(
        f"{len(report.added)} added, {len(report.skipped)} already subscribed, "
        f"{len(report.problems)} failed",
        highlight=False,
    )
    for problem in report.problems:
        err.print(f"  {problem}", highlight=False)


@app.command("export-opml")
def export_opml(
    output: Path | None = typer.Option(None, "--output", "-o", help="Default: stdout."),
) -> None:
    """Write every subscription as OPML, for another reader."""
    with feed_service() as feeds:
        subs = [Subscription(v.url, v.title) for v in feeds.list(actor_of(feeds.kz))]
    data = to_opml(subs)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
