"""``kizashi rule add|list|show|test|apply|delete|export|import``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, err, open_app, out, print_json

app = typer.Typer(
    help="Auto-tagging rules: conditions that tag every incoming item (YAML to share).",
    no_args_is_help=True,
)


def _short_form(
    name: str,
    query: str | None,
    words: list[str] | None,
    regex: str | None,
    add_tag: list[str] | None,
    tlp: str | None,
    order: int,
    notify: bool,
) -> dict[str, Any]:
    conds: list[dict[str, Any]] = []
    if query:
        conds.append({"query": query})
    if words:
        conds.append({"words": words})
    if regex:
        conds.append({"regex": regex})
    if not conds:
        err.print("[red]error[/red]: give --query, --word or --regex (or --file)", highlight=False)
        raise typer.Exit(2)
    then: dict[str, Any] = {}
    if add_tag:
        then["add_tags"] = add_tag
    if tlp:
        then["set_tlp"] = tlp
    if notify:
        then["notify"] = True
    when = conds[0] if len(conds) == 1 else {"all": conds}
    return {"name": name, "order": order, "when": when, "then": then}


def _from_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        err.print(f"[red]error[/red]: cannot read {path}: {exc}", highlight=False)
        raise typer.Exit(2) from exc
    if isinstance(data, dict) and isinstance(data.get("rules"), list) and len(data["rules"]) == 1:
        data = data["rules"][0]
    if not isinstance(data, dict):
        err.print(f"[red]error[/red]: {path} does not hold one rule", highlight=False)
        raise typer.Exit(2)
    return data


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="The rule's name."),
    query: str | None = typer.Option(None, "--query", "-q", help="A search query to match."),
    word: list[str] = typer.Option(None, "--word", "-w", help="Any of these words (repeat)."),
    regex: str | None = typer.Option(None, "--regex", help="A regular expression."),
    add_tag: list[str] = typer.Option(None, "--add-tag", "-t", help="Tag to add (repeat)."),
    tlp: str | None = typer.Option(None, "--tlp", help="Raise the TLP to this level."),
    order: int = typer.Option(100, "--order", help="Rules run in this order (low first)."),
    notify: bool = typer.Option(False, "--notify", help="Raise a notification event."),
    file: Path | None = typer.Option(None, "--file", "-f", help="The whole rule as YAML."),
    as_json: bool = JsonOpt,
) -> None:
    """Add a rule: ``--name N --query Q --add-tag T…`` in one line, or ``--file rule.yaml``."""
    raw = (
        _from_file(file)
        if file
        else _short_form(name, query, word, regex, add_tag, tlp, order, notify)
    )
    if file:
        raw.setdefault("name", name)
    with open_app() as kz:
        view = kz.rules.save(actor_of(kz), raw)
    if as_json:
        print_json(view.as_dict())
    else:
        out.print(f"rule {view.name!r} saved (version {view.version})", highlight=False)


@app.command("list")
def list_(as_json: bool = JsonOpt) -> None:
    """Every rule, in the order they run."""
    with open_app() as kz:
        views = kz.rules.list()
    if as_json:
        print_json([v.as_dict() for v in views])
        return
    table = Table("order", "name", "enabled", "version", "when", "then")
    for v in views:
        table.add_row(
            str(v.order),
            escape(v.name),
            "yes" if v.enabled else "no",
            str(v.version),
            escape(str(v.definition.get("when"))),
            escape(str(v.definition.get("then"))),
        )
    out.print(table)


@app.command("test")
def try_rule(
    name: str = typer.Argument(None, help="A saved rule (or give --file / --query)."),
    file: Path | None = typer.Option(None, "--file", "-f", help="A rule in YAML, not saved."),
    query: str | None = typer.Option(None, "--query", "-q", help="Test a query rule."),
    as_json: bool = JsonOpt,
) -> None:
    """How many stored items a rule would match, with a sample and why; changes nothing."""
    with open_app() as kz:
        if file:
            raw = _from_file(file)
        elif query:
            raw = {"name": name or "test", "when": {"query": query}, "then": {"notify": True}}
        elif name:
            raw = kz.rules.get(name).definition
        else:
            err.print("[red]error[/red]: name a rule, or give --file or --query", highlight=False)
            raise typer.Exit(2)
        result = kz.rules.test(actor_of(kz), raw)
    if as_json:
        print_json(result.as_dict())
        return
    out.print(f"{result.matched} stored item(s) match", highlight=False)
    for s in result.sample:
        out.print(f"  {escape(s.title)}  [dim]{s.id}[/dim]", highlight=False)
        out.print(f"    why: {escape(', '.join(s.why))}", highlight=False)


@app.command("apply")
def apply(
    name: str = typer.Argument(None, help="One rule (default: every enabled rule)."),
    as_json: bool = JsonOpt,
) -> None:
    """Apply rules to every stored item, with a progress bar and a count."""
    with open_app() as kz:
        columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("rules", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            run = kz.rules.apply(actor_of(kz), name, tick)
    if as_json:
        print_json(run.as_dict())
    else:
        out.print(f"{run.matched} match(es) acted on, {run.done} rule(s) applied", highlight=False)


@app.command("delete")
def delete(
    name: str = typer.Argument(...),
    remove_tags: bool = typer.Option(False, "--remove-tags", help="Also remove the tags it added."),
) -> None:
    """Delete a rule (and, with --remove-tags, every tag it added)."""
    with open_app() as kz:
        touched = kz.rules.delete(actor_of(kz), name, remove_tags=remove_tags)
    out.print(f"deleted {name!r}; {touched} object(s) lost its tags", highlight=False)


@app.command("export")
def export(output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Every rule as YAML (stdout, or a file)."""
    with open_app() as kz:
        text = kz.rules.export_yaml()
    if output:
        output.write_text(text, "utf-8")
    else:
        sys.stdout.write(text)


@app.command("import")
def import_(
    source: str = typer.Argument(..., help="A YAML file, or - for standard input."),
    replace: bool = typer.Option(False, "--replace", help="Replace rules with the same name."),
) -> None:
    """Rules from YAML; every rule is checked before any is stored."""
    text = sys.stdin.read() if source == "-" else Path(source).read_text("utf-8")
    with open_app() as kz:
        counts = kz.rules.import_yaml(actor_of(kz), text, replace=replace)
    out.print(", ".join(f"{v} {k}" for k, v in counts.items()), highlight=False)


@app.command("train")
def train() -> None:
    """Learn tag suggestions from the tags analysts gave; ``auto`` rules then use it."""
    with open_app() as kz:
        result = kz.rules.train(actor_of(kz))
    out.print(
        f"learned {len(result['tags'])} tag(s) from {result['examples']} item(s): "
        + ", ".join(result["tags"]),
        highlight=False,
    )


@app.command("suggestions")
def suggestions(
    stix_id: str = typer.Argument(..., help="An object's id."),
    accept: list[str] = typer.Option(None, "--accept", help="Accept this suggested tag."),
    dismiss: list[str] = typer.Option(None, "--dismiss", help="Dismiss this suggested tag."),
    as_json: bool = JsonOpt,
) -> None:
    """Tags ``auto`` rules propose for an object; accept or dismiss them."""
    with open_app() as kz:
        actor = actor_of(kz)
        for tag in accept or []:
            kz.rules.decide(actor, stix_id, tag, accept=True)
        for tag in dismiss or []:
            kz.rules.decide(actor, stix_id, tag, accept=False)
        found = kz.rules.suggestions(actor, stix_id)
    if as_json:
        print_json(found)
        return
    for s in found:
        out.print(f"{s['tag']}  {s['score']:.2f}  ({s['rule']})", highlight=False)
