"""``kizashi summarize``: a summary of one article or of a selection, with citations."""

from __future__ import annotations

import typer
from rich.markup import escape

from kizashi.cli.common import JsonOpt, actor_of, open_app, out, print_json


def summarize(
    stix_id: str | None = typer.Option(None, "--id", help="One article (a report's id)."),
    query: str = typer.Option(
        "", "--query", "-q", help="A selection in the search language (tag:, keyword:, …)."
    ),
    since: str | None = typer.Option(None, "--since", help="Published from (2024-05-01, …)."),
    until: str | None = typer.Option(None, "--until", help="Published up to and including."),
    provider: str = typer.Option(
        "extractive", "--provider", help="extractive (offline), or openai where configured."
    ),
    language: str | None = typer.Option(
        None, "--language", help="ja or en (default: the articles'; translating needs openai)."
    ),
    budget: int = typer.Option(0, "--budget", min=0, max=8000, help="Characters (0: default)."),
    limit: int = typer.Option(200, "--limit", "-n", min=1, max=200, help="Newest items read."),
    as_json: bool = JsonOpt,
) -> None:
    """Summarise an article (--id) or what a search selects over a period, citing the
    items each sentence came from."""
    if stix_id and (query or since or until):
        raise typer.BadParameter("give either --id or a selection (--query, --since, --until)")
    with open_app() as kz:
        actor = actor_of(kz)
        if stix_id:
            made = kz.summaries.article(
                actor, stix_id, provider=provider, budget=budget, language=language
            )
        else:
            made = kz.summaries.collection(
                actor,
                query,
                since=since,
                until=until,
                provider=provider,
                budget=budget,
                limit=limit,
                language=language,
            )
    if as_json:
        print_json(made.as_dict())
        return
    if made.note:
        out.print(escape(made.note), highlight=False)
    for s in made.statements:
        cites = "".join(f"[{n}]" for n in s.cites) if made.kind == "collection" else ""
        out.print(escape(s.text) + (f" {cites}" if cites else ""), highlight=False)
    if made.kind == "collection" and made.citations:
        out.print("")
        for c in made.citations:
            when = f" ({c.published[:10]})" if c.published else ""
            out.print(f"[{c.n}] {escape(c.title)}{when} {c.id}", highlight=False)
    for label, values in made.mentions.items():
        if values:
            out.print(f"{label}: {escape(', '.join(values[:20]))}", highlight=False)
    out.print(
        f"\n{made.provider} ({made.template_version}), {made.considered} sentence(s) read"
        + (", cached" if made.cached else ""),
        highlight=False,
    )
