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
    limit: int = typer.Option(1000, "--limit", "-n", min=1, max=1000, help="Newest items read."),
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


digest_app = typer.Typer(
    help="Selections summarised every day or week (the scheduler runs them).",
    no_args_is_help=True,
)


@digest_app.command("add")
def digest_add(
    name: str,
    query: str = typer.Option("", "--query", "-q", help="The selection, in the search language."),
    days: int = typer.Option(7, "--days", min=1, max=90, help="The days before each run."),
    every: str = typer.Option("weekly", "--every", help="daily or weekly."),
    provider: str = typer.Option("extractive", "--provider", help="extractive or openai."),
    language: str | None = typer.Option(None, "--language", help="ja or en."),
    as_json: bool = JsonOpt,
) -> None:
    """Set up a digest; it first runs at the scheduler's next round."""
    with open_app() as kz:
        made = kz.digests.create(
            actor_of(kz),
            name,
            query=query,
            days=days,
            every=every,
            provider=provider,
            language=language,
        )
    if as_json:
        print_json(made.as_dict())
        return
    out.print(f"digest {escape(made.name)}: next run {made.next_run_at}", highlight=False)


@digest_app.command("list")
def digest_list(as_json: bool = JsonOpt) -> None:
    """Your digests (an admin's: everyone's)."""
    with open_app() as kz:
        found = kz.digests.list(actor_of(kz))
    if as_json:
        print_json([d.as_dict() for d in found])
        return
    for d in found:
        out.print(
            f"{escape(d.name)}  {d.every}, {d.days} day(s), {d.provider}"
            f"  query={escape(d.query)!r}  next {d.next_run_at}",
            highlight=False,
        )


@digest_app.command("run")
def digest_run(name: str, as_json: bool = JsonOpt) -> None:
    """Run a digest now and print its summary."""
    with open_app() as kz:
        job = kz.digests.run(actor_of(kz), name)
    if as_json:
        print_json(job.as_dict())
        return
    if job.status != "done" or job.summary is None:
        out.print(f"failed: {escape(job.error or job.status)}", highlight=False)
        raise typer.Exit(1)
    s = job.summary
    for st in s["statements"]:
        cites = "".join(f"[{n}]" for n in st["cites"])
        out.print(escape(st["text"]) + (f" {cites}" if cites else ""), highlight=False)
    for c in s["citations"]:
        out.print(f"[{c['n']}] {escape(c['title'])} {c['id']}", highlight=False)


@digest_app.command("remove")
def digest_remove(name: str) -> None:
    """Remove a digest (its past summaries stay in their jobs)."""
    with open_app() as kz:
        kz.digests.delete(actor_of(kz), name)
    out.print(f"digest {escape(name)} removed", highlight=False)
