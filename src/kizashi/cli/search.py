"""``kizashi search``, ``kizashi reindex`` and ``kizashi saved …``."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, err, open_app, out, print_json
from kizashi.search.index import IndexBusyError
from kizashi.services.search import SearchResult

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
SortOpt = typer.Option("relevance", "--sort", help="relevance or newest.")
LimitOpt = typer.Option(20, "--limit", "-n", min=1, max=200, help="Results per page.")


def _json(result: SearchResult, facets: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "total": result.total,
        "total_exact": result.total_exact,
        "hits": [
            {
                "id": h.id,
                "title": h.title,
                "score": round(h.score, 4),
                "snippet": h.snippet,
                "highlights": [list(s) for s in h.snippet_spans],
                "type": h.type,
                "source": h.source,
                "published": h.published,
                "tags": h.tags,
            }
            for h in result.hits
        ],
        "next_cursor": result.next_cursor,
    }
    if facets:
        body["facets"] = {k: dict(v) for k, v in result.facets.items()}
    return body


def _table(result: SearchResult) -> None:
    table = Table("score", "title / snippet", "type", "source", "published", "tags")
    for h in result.hits:
        snippet = _MARK.sub(
            lambda m: f"[bold yellow]{m.group(1)}[/bold yellow]", escape(h.snippet_html)
        )
        table.add_row(
            f"{h.score:.2f}",
            f"[bold]{escape(h.title)}[/bold]\n{snippet}\n[dim]{h.id}[/dim]",
            h.type,
            escape(h.source or ""),
            (h.published or "")[:10],
            escape(", ".join(h.tags)),
        )
    out.print(table)
    more = f"; next page: --cursor {result.next_cursor}" if result.next_cursor else ""
    at_least = "" if result.total_exact else "at least "
    out.print(f"{at_least}{result.total} match(es){more}", highlight=False)


def search(
    query: str = typer.Argument(
        "", help='Words, "phrases", AND/OR/NOT, tag: type: source: lang: tlp: ioc: published:>=…'
    ),
    sort: str = SortOpt,
    limit: int = LimitOpt,
    cursor: str | None = typer.Option(None, "--cursor", help="Continue from a previous page."),
    facets: bool = typer.Option(
        False, "--facets", help="Also count by type, tag, source, language, TLP and date."
    ),
    saved: str | None = typer.Option(None, "--saved", help="Run the saved search with this name."),
    as_json: bool = JsonOpt,
) -> None:
    """Full-text and tag search over everything stored, in Japanese and English."""
    with open_app() as kz:
        actor = actor_of(kz)
        if saved:
            result = kz.search.run_saved(actor, saved, limit=limit, cursor=cursor, facets=facets)
        else:
            result = kz.search.search(
                actor, query, sort=sort, limit=limit, cursor=cursor, facets=facets
            )
    if as_json:
        print_json(_json(result, facets))
        return
    _table(result)
    if facets:
        for name, counts in result.facets.items():
            shown = ", ".join(f"{v} ({n})" for v, n in counts[:10])
            out.print(f"[bold]{name}[/bold]: {escape(shown)}", highlight=False)


def reindex() -> None:
    """Rebuild the search index from the database (the database is never changed)."""
    with open_app() as kz:
        actor = actor_of(kz)
        columns = (TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            with Progress(*columns, console=err, transient=False) as progress:
                task = progress.add_task("objects", total=None)

                def tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                count = kz.search.reindex(actor, tick)
        except IndexBusyError as exc:
            err.print(
                f"[red]error[/red]: {exc}. A running `kizashi run` keeps it up to date; to "
                "rebuild it there, an admin calls POST /api/v1/search/reindex.",
                highlight=False,
            )
            raise typer.Exit(1) from exc
    out.print(f"{count} document(s) indexed", highlight=False)


saved_app = typer.Typer(
    help="Saved searches: a name for a query, run from UI, API or CLI.", no_args_is_help=True
)


@saved_app.command("add")
def saved_add(
    name: str = typer.Argument(...),
    query: str = typer.Argument(...),
    sort: str = SortOpt,
) -> None:
    """Save a query under a name (replacing one with that name)."""
    with open_app() as kz:
        view = kz.search.save(actor_of(kz), name, query, sort)
    out.print(f"saved {view.name!r}: {view.query}", highlight=False)


@saved_app.command("list")
def saved_list(as_json: bool = JsonOpt) -> None:
    """List the saved searches (yours, or the CLI's own when KIZASHI_USER is unset)."""
    with open_app() as kz:
        views = kz.search.saved(actor_of(kz))
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    table = Table("name", "query", "sort", "updated")
    for v in views:
        table.add_row(escape(v.name), escape(v.query), v.sort, v.updated_at[:19])
    out.print(table)


@saved_app.command("delete")
def saved_delete(name: str = typer.Argument(...)) -> None:
    """Delete a saved search."""
    with open_app() as kz:
        kz.search.delete_saved(actor_of(kz), name)
    out.print(f"deleted {name!r}", highlight=False)
