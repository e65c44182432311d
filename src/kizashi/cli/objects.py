"""Commands on stored objects: show, list, tag, untag, relate, revoke, history, export."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import typer
from rich.table import Table

from kizashi.cli.common import (
    JsonOpt,
    actor_of,
    objects_table,
    open_app,
    out,
    print_json,
    show_object,
)
from kizashi.model import tlp as tlp_model


def show(stix_id: str = typer.Argument(..., help="A STIX id."), as_json: bool = JsonOpt) -> None:
    """Show one object."""
    with open_app() as kz:
        show_object(kz.objects.get(actor_of(kz), stix_id), as_json)


def list_(
    stix_type: list[str] | None = typer.Option(None, "--type", help="STIX type (repeatable)."),
    tag: list[str] | None = typer.Option(
        None, "--tag", "-t", help="Must carry this tag (repeatable: all of them)."
    ),
    tags: str | None = typer.Option(None, "--tags", help='Tag filter: "a AND (b OR c) NOT d".'),
    q: str | None = typer.Option(None, "--q", help="Text in the name or value."),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
    cursor: str | None = typer.Option(None, "--cursor", help="Continue after a previous page."),
    as_json: bool = JsonOpt,
) -> None:
    """List objects, newest first."""
    with open_app() as kz:
        page = kz.objects.list(
            actor_of(kz),
            types=stix_type or [],
            tags=tags,
            all_tags=tag or [],
            text=q,
            limit=limit,
            cursor=cursor,
        )
    if as_json:
        print_json([v.as_dict() for v in page.items])
        return
    objects_table(page.items)
    if page.next_cursor:
        out.print(f"more: --cursor {page.next_cursor}", highlight=False)


def tag(
    stix_id: str = typer.Argument(...),
    names: list[str] = typer.Argument(..., metavar="TAG..."),
    as_json: bool = JsonOpt,
) -> None:
    """Add tags to an object."""
    with open_app() as kz:
        tags = kz.tags.tag(actor_of(kz), stix_id, names)
    print_json({"id": stix_id, "tags": tags}) if as_json else out.print(
        ", ".join(tags), highlight=False
    )


def untag(
    stix_id: str = typer.Argument(...),
    names: list[str] = typer.Argument(..., metavar="TAG..."),
    as_json: bool = JsonOpt,
) -> None:
    """Remove tags from an object."""
    with open_app() as kz:
        tags = kz.tags.untag(actor_of(kz), stix_id, names)
    print_json({"id": stix_id, "tags": tags}) if as_json else out.print(
        ", ".join(tags), highlight=False
    )


def relate(
    source: str = typer.Argument(..., help="STIX id of the source."),
    relationship_type: str = typer.Argument(
        ..., metavar="TYPE", help="uses, targets, attributed-to, related-to, …"
    ),
    target: str = typer.Argument(..., help="STIX id of the target."),
    description: str | None = typer.Option(None, "--description"),
    confidence: int | None = typer.Option(None, "--confidence", min=0, max=100),
    as_json: bool = JsonOpt,
) -> None:
    """Relate two objects with a typed relationship."""
    with open_app() as kz:
        view = kz.relationships.create(
            actor_of(kz),
            source,
            relationship_type,
            target,
            description=description,
            confidence=confidence,
        )
    show_object(view, as_json)


def revoke(stix_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Revoke an object (kept, hidden; an admin can restore it)."""
    with open_app() as kz:
        show_object(kz.objects.revoke(actor_of(kz), stix_id), as_json)


def restore(stix_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Restore a revoked object."""
    with open_app() as kz:
        show_object(kz.objects.restore(actor_of(kz), stix_id), as_json)


def history(stix_id: str = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Every version of an object, newest first."""
    with open_app() as kz:
        versions = kz.objects.history(actor_of(kz), stix_id)
    if as_json:
        print_json([v.__dict__ for v in versions])
        return
    table = Table("version", "change", "by", "modified")
    for v in versions:
        table.add_row(str(v.version), v.action, v.changed_by or "", v.modified or v.changed_at)
    out.print(table)


def export_json(
    stix_type: list[str] | None = typer.Option(None, "--type", help="Only these STIX types."),
    tag: list[str] | None = typer.Option(
        None, "--tag", "-t", help="Only objects with all these tags."
    ),
    tags: str | None = typer.Option(None, "--tags", help="Tag filter expression."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write; default stdout."
    ),
) -> None:
    """Export objects as a STIX 2.1 bundle (tags as labels, TLP as markings)."""
    objects: list[dict[str, object]] = []
    levels: set[str] = set()
    with open_app() as kz:
        actor = actor_of(kz)
        cursor = None
        while True:
            page = kz.objects.list(
                actor,
                types=stix_type or [],
                tags=tags,
                all_tags=tag or [],
                limit=500,
                cursor=cursor,
            )
            for v in page.items:
                objects.append(v.stix)
                if v.tlp:
                    levels.add(v.tlp)
            cursor = page.next_cursor
            if cursor is None:
                break
    markings = [tlp_model.marking_definition(level) for level in sorted(levels, key=tlp_model.rank)]
    bundle = {
        "type": "bundle",
        "id": f"bundle--{uuid.uuid4()}",
        "objects": [*markings, *reversed(objects)],
    }
    text = json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"{len(objects)} object(s) written to {output}", highlight=False)
