"""``kizashi extract``, ``lookup``, ``reextract`` and ``attack load``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, err, open_app, out, print_json
from kizashi.model.errors import KizashiError
from kizashi.text.extract import extract as extract_hits

#: Lookups read values in slices of this many (memory stays flat for huge lists).
LOOKUP_SLICE = 20_000


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    try:
        return path.read_text("utf-8", errors="replace")
    except OSError as exc:
        err.print(f"[red]error[/red]: cannot read {source}: {exc.strerror}", highlight=False)
        raise typer.Exit(2) from exc


def extract(
    source: str = typer.Argument(..., help="A text file, or - for standard input."),
    drop_flagged: bool = typer.Option(
        False, "--drop-flagged", help="Leave out documentation, private and warning-listed values."
    ),
    warninglists: bool = typer.Option(
        True, "--warninglists/--no-warninglists", help="Flag values on MISP's benign lists."
    ),
) -> None:
    """Print every indicator in a text as JSON Lines (type, value, start, end, flags).

    Needs no store: offsets are characters into the text as read (UTF-8).
    """
    text = _read(source)
    write = sys.stdout.write
    for hit in extract_hits(text, warninglists=warninglists):
        if drop_flagged and hit.flags:
            continue
        write(json.dumps(hit.as_dict(), ensure_ascii=False) + "\n")


def lookup(
    values: list[str] = typer.Argument(None, help="Values to look up (defanged is fine)."),
    file: str | None = typer.Option(
        None, "--file", "-f", help="Read values from a file, one per line (- for stdin)."
    ),
    known_only: bool = typer.Option(False, "--known", help="Print only the values that are known."),
    as_json: bool = JsonOpt,
) -> None:
    """Known or not, and where: reports, sources, first and last seen, for each value."""
    queries = list(values or [])
    if file is not None:
        queries += [line.strip() for line in _read(file).splitlines() if line.strip()]
    if not queries:
        err.print("[red]error[/red]: give values, or --file FILE (- for stdin)", highlight=False)
        raise typer.Exit(2)
    with open_app() as kz:
        actor = actor_of(kz)
        results: list[dict[str, Any]] = []
        for i in range(0, len(queries), LOOKUP_SLICE):
            found = kz.indicators.lookup(actor, queries[i : i + LOOKUP_SLICE])
            results += [r.as_dict() for r in found if r.known or not known_only]
    if as_json:
        print_json(results)
        return
    table = Table("value", "type", "known", "reports", "sources", "first seen", "last seen")
    for r in results:
        table.add_row(
            r["value"],
            r["type"] or "",
            "yes" if r["known"] else "no",
            str(r["reports"]),
            str(r["sources"]),
            (r["first_seen"] or "")[:10],
            (r["last_seen"] or "")[:10],
        )
    out.print(table)


def reextract() -> None:
    """Run the (improved) extractor again over every stored report."""
    with open_app() as kz:
        actor = actor_of(kz)
        columns = (
            TextColumn("re-extracting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task("reports", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            done = kz.indicators.reextract(actor, tick)
    out.print(f"{done} report(s) read again", highlight=False)


attack = typer.Typer(
    help="MITRE ATT&CK data: ids and names in reports link to its objects.",
    no_args_is_help=True,
)


@attack.command("load")
def attack_load(
    path: Path = typer.Argument(..., help="An ATT&CK STIX 2.1 bundle (enterprise, mobile, ICS)."),
    as_json: bool = JsonOpt,
) -> None:
    """Load an ATT&CK release, or upgrade to a newer one in place.

    Every object goes through the importer: newer versions replace older ones, revoked
    and deprecated objects are marked, and what was attached to a revoked object
    reaches its replacement. Ids and names in reports link to the objects; stubs made
    from ids are replaced. Reports stored earlier are linked by name after
    `kizashi reextract`.
    """
    if not path.is_file():
        err.print(f"[red]error[/red]: {path} is not a readable JSON bundle", highlight=False)
        raise typer.Exit(2)
    with open_app() as kz:
        actor = actor_of(kz)
        try:
            release = kz.attack.load(actor, path)
        except KizashiError as exc:
            err.print(
                f"[red]error[/red]: {path} is not a readable JSON bundle: {exc.message}",
                highlight=False,
            )
            raise typer.Exit(2) from exc
    if as_json:
        print_json(release.as_dict())
        return
    c = release.report.counts
    title = " ".join(x for x in (release.name, release.version) if x) or path.name
    out.print(
        f"{c['new']} ATT&CK object(s) loaded, {c['updated']} updated, "
        f"{c['unchanged']} already there ({title}); {release.revoked} revoked "
        f"({release.replaced} with a replacement), {release.deprecated} deprecated",
        highlight=False,
    )
    problems = sum(c[k] for k in ("older", "conflict", "invalid", "refused"))
    if problems:
        err.print(f"  {problems} object(s) not loaded: `kizashi import --preview` lists why")
