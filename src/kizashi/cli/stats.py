"""``kizashi stats terms|emerging|tags|words|trends``: analytics as tables or JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, open_app, out, print_json
from kizashi.services.analytics import Graph, Series

app = typer.Typer(
    help="Frequent and emerging words, tag and word co-occurrence, trends over any selection.",
    no_args_is_help=True,
)
QueryOpt = typer.Option(
    "", "--query", "-q", help="The selection, in the search language (tag:, source:, …)."
)
SinceOpt = typer.Option(None, "--since", help="Published from (2024-05, 2024-05-01, …).")
UntilOpt = typer.Option(None, "--until", help="Published up to and including.")


@app.command("terms")
def terms(
    query: str = QueryOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    limit: int = typer.Option(30, "--limit", "-n", min=1, max=1000, help="Words to show."),
    order: str = typer.Option("score", "--order", help="score (keyness), count or docs."),
    lang: str | None = typer.Option(None, "--lang", help="Only ja or en words."),
    as_json: bool = JsonOpt,
) -> None:
    """The frequent words of a selection: count, documents and keyness against the store."""
    with open_app() as kz:
        result = kz.analytics.terms(
            actor_of(kz), query, since=since, until=until, limit=limit, order=order, lang=lang
        )
    if as_json:
        print_json([t.as_dict() for t in result.terms])
        return
    table = Table("term", "lang", "count", "docs", "score")
    for t in result.terms:
        table.add_row(escape(t.term), t.lang, str(t.count), str(t.docs), f"{t.score:.1f}")
    out.print(table)
    exact = "" if result.counts_exact else " (some counts are lower bounds)"
    out.print(f"{result.selected} of {result.total} item(s) selected{exact}", highlight=False)


@app.command("cloud")
def cloud(
    out_path: Path = typer.Option(..., "--out", "-o", help="Where to write the PNG."),
    query: str = QueryOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    by: str = typer.Option("count", "--by", help="Size words by count or score (keyness)."),
    limit: int = typer.Option(150, "--limit", "-n", min=1, max=500, help="Words to draw."),
    width: int = typer.Option(1200, "--width", min=100, max=4000),
    height: int = typer.Option(800, "--height", min=100, max=4000),
) -> None:
    """Draw the selection's frequent words as a PNG word cloud (Japanese included)."""
    from kizashi.services.cloud import render_png

    if by not in ("count", "score"):
        raise typer.BadParameter("--by must be count or score")
    with open_app() as kz:
        result = kz.analytics.terms(
            actor_of(kz), query, since=since, until=until, limit=limit, order=by
        )
    out_path.write_bytes(render_png(result.terms, by=by, width=width, height=height))
    out.print(f"{len(result.terms)} word(s) drawn to {out_path}", highlight=False)


@app.command("emerging")
def emerging(
    query: str = QueryOpt,
    days: int = typer.Option(7, "--days", min=1, max=366, help="The recent period."),
    baseline: int = typer.Option(28, "--baseline", min=1, max=3660, help="Days before it."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=200),
    since: str | None = typer.Option(
        None, "--since", help="The period starts here (else: --days before its end)."
    ),
    until: str | None = typer.Option(None, "--until", help="The period ends here (else: now)."),
    as_json: bool = JsonOpt,
) -> None:
    """Words significantly more frequent in a period than before it, with articles."""
    with open_app() as kz:
        found = kz.analytics.emerging(
            actor_of(kz),
            query,
            days=days,
            baseline_days=baseline,
            limit=limit,
            since=since,
            until=until,
        )
    if as_json:
        print_json([e.as_dict() for e in found])
        return
    table = Table("term", "lang", "now", "before", "score", "articles")
    for e in found:
        titles = "\n".join(escape(d.title) for d in e.drivers)
        table.add_row(escape(e.term), e.lang, str(e.docs), str(e.before), f"{e.score:.1f}", titles)
    out.print(table)


@app.command("tags")
def tags(
    query: str = QueryOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    namespace: list[str] = typer.Option(
        [], "--namespace", help="Only tags of this namespace (repeat for more)."
    ),
    min_count: int = typer.Option(1, "--min-count", min=1, help="Fewest items per edge."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=2000, help="Tags (nodes)."),
    as_json: bool = JsonOpt,
) -> None:
    """Tags that occur on the same items: counts, PMI and Jaccard per pair."""
    with open_app() as kz:
        graph = kz.analytics.tag_graph(
            actor_of(kz),
            query,
            since=since,
            until=until,
            namespaces=namespace,
            min_count=min_count,
            size=limit,
        )
    if as_json:
        print_json(graph.as_dict())
        return
    _edges(graph)


@app.command("words")
def words(
    query: str = QueryOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    min_count: int = typer.Option(2, "--min-count", min=1, help="Fewest articles per edge."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=2000, help="Words (nodes)."),
    as_json: bool = JsonOpt,
) -> None:
    """Words that occur in the same articles."""
    with open_app() as kz:
        graph = kz.analytics.word_graph(
            actor_of(kz), query, since=since, until=until, min_count=min_count, size=limit
        )
    if as_json:
        print_json(graph.as_dict())
        return
    _edges(graph)


def _edges(graph: Graph) -> None:
    table = Table("a", "b", "items", "pmi", "jaccard")
    for e in graph.edges[:100]:
        table.add_row(
            escape(e.source), escape(e.target), str(e.count), f"{e.pmi:.2f}", f"{e.jaccard:.2f}"
        )
    out.print(table)
    out.print(
        f"{len(graph.nodes)} node(s), {len(graph.edges)} edge(s) over {graph.selected} item(s)",
        highlight=False,
    )


@app.command("trends")
def trends(
    by: str = typer.Option("tag", "--by", help="tag, source, term or ioc_kind."),
    value: list[str] = typer.Option([], "--value", help="Values to follow (default: the top)."),
    query: str = QueryOpt,
    since: str | None = SinceOpt,
    until: str | None = UntilOpt,
    interval: str = typer.Option("day", "--interval", help="day, week or month."),
    top: int = typer.Option(5, "--top", min=1, max=50, help="Values when none is named."),
    limit: int = typer.Option(
        0, "--limit", "-n", min=0, help="Show only the last N periods (0: all)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Items per day, week or month, for each tag, source, term or indicator type."""
    with open_app() as kz:
        series = kz.analytics.trends(
            actor_of(kz),
            by=by,
            values=value,
            query=query,
            since=since,
            until=until,
            interval=interval,
            top=top,
        )
    if limit:
        series = [Series(s.name, s.points[-limit:]) for s in series]
    if as_json:
        print_json([s.as_dict() for s in series])
        return
    periods = sorted({t for s in series for t, _ in s.points})
    table = Table("period", *(escape(s.name) for s in series))
    counts = [dict(s.points) for s in series]
    for p in periods:
        table.add_row(p, *(str(c.get(p, 0)) for c in counts))
    out.print(table)
