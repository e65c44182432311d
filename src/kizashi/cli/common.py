"""What every command shares: settings, the store, who acts, and output."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from kizashi.config import Settings
from kizashi.model.actor import SYSTEM, Actor
from kizashi.model.errors import KizashiError
from kizashi.services import Kizashi
from kizashi.services.objects import ObjectView

# Piped output keeps whole ids on a line instead of the 80 columns rich assumes.
out = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, soft_wrap=True)

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")


@contextmanager
def open_app() -> Iterator[Kizashi]:
    """The store named by KIZASHI_DATABASE_URL or KIZASHI_DATA_DIR, migrated."""
    settings = Settings()
    settings.ensure_data_dir()
    kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    try:
        yield kz
    except KizashiError as exc:
        fail(exc)
    finally:
        kz.close()


def actor_of(kz: Kizashi) -> Actor:
    """``KIZASHI_USER`` names the account to act as; without it, the local system actor."""
    username = os.environ.get("KIZASHI_USER")
    return kz.users.get_actor(username) if username else SYSTEM


def fail(exc: KizashiError) -> NoReturn:
    err.print(f"[red]error[/red] ({exc.code}): {exc.message}", highlight=False)
    for p in exc.problems:
        err.print(f"  {p.loc}: {p.msg}", highlight=False)
    raise typer.Exit(2)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def objects_table(items: list[ObjectView]) -> None:
    table = Table("id", "type", "name", "tlp", "tags", "modified")
    table.columns[0].no_wrap = True
    for v in items:
        tags = ", ".join(t for t in v.tags if not t.startswith("tlp:"))
        table.add_row(v.id, v.type, v.name, v.tlp or "", tags, (v.modified or v.updated_at)[:19])
    out.print(table)


def show_object(view: ObjectView, as_json: bool) -> None:
    if as_json:
        print_json(view.as_dict())
        return
    out.print(f"[bold]{view.name}[/bold]  ({view.type}, version {view.version})", highlight=False)
    out.print(f"id:   {view.id}", highlight=False)
    if view.tlp:
        out.print(f"tlp:  {view.tlp}", highlight=False)
    if view.tags:
        out.print("tags: " + ", ".join(view.tags), highlight=False)
    if view.revoked:
        out.print("[yellow]revoked[/yellow]")
    out.print_json(data=view.stix)
