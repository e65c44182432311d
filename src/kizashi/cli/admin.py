"""Accounts, API tokens, taxonomies and the schema."""

from __future__ import annotations

import typer
from rich.table import Table

from kizashi.cli.common import JsonOpt, actor_of, open_app, out, print_json
from kizashi.services import taxonomies

PasswordOpt = typer.Option(
    ...,
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="KIZASHI_NEW_PASSWORD",
    help="Prompted for when not given (or set KIZASHI_NEW_PASSWORD).",
)

users = typer.Typer(help="Local accounts.", no_args_is_help=True)
tokens = typer.Typer(help="Personal API tokens.", no_args_is_help=True)
taxonomy = typer.Typer(help="MISP taxonomies (tlp, pap, admiralty-scale, …).", no_args_is_help=True)


@users.command("add")
def user_add(
    username: str = typer.Argument(...),
    role: str = typer.Option("analyst", "--role", help="admin, analyst or reader."),
    password: str = PasswordOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Create an account."""
    with open_app() as kz:
        view = kz.users.create(actor_of(kz), username, password, role)
    print_json(view.as_dict()) if as_json else out.print(
        f"created {view.username} ({view.role})", highlight=False
    )


@users.command("list")
def user_list(as_json: bool = JsonOpt) -> None:
    """List accounts."""
    with open_app() as kz:
        rows = kz.users.list(actor_of(kz))
    if as_json:
        print_json([u.as_dict() for u in rows])
        return
    table = Table("user", "role", "disabled", "created")
    for u in rows:
        table.add_row(u.username, u.role, "yes" if u.disabled else "", u.created_at[:19])
    out.print(table)


@users.command("set-role")
def user_set_role(username: str = typer.Argument(...), role: str = typer.Argument(...)) -> None:
    """Change an account's role."""
    with open_app() as kz:
        kz.users.update(actor_of(kz), username, role=role)
    out.print(f"{username} is now {role}", highlight=False)


@users.command("set-password")
def user_set_password(
    username: str = typer.Argument(...),
    password: str = PasswordOpt,
) -> None:
    """Set an account's password."""
    with open_app() as kz:
        kz.users.update(actor_of(kz), username, password=password)
    out.print(f"password of {username} changed", highlight=False)


@tokens.command("create")
def token_create(
    username: str = typer.Option(..., "--user", help="Whose token."),
    name: str = typer.Option("cli", "--name", help="What it is for."),
    as_json: bool = JsonOpt,
) -> None:
    """Create an API token for a user; the token is printed once."""
    with open_app() as kz:
        actor = kz.users.get_actor(username)
        token, view = kz.users.create_token(actor, name)
    if as_json:
        print_json(view.as_dict() | {"token": token})
    else:
        out.print(token, highlight=False)


@taxonomy.command("list")
def taxonomy_list(
    enabled_only: bool = typer.Option(False, "--enabled"), as_json: bool = JsonOpt
) -> None:
    """The taxonomies shipped with Kizashi and whether each is enabled."""
    with open_app() as kz:
        states = kz.tags.taxonomy_states()
    rows = [
        t for t in taxonomies.catalogue().values() if states.get(t.namespace) or not enabled_only
    ]
    if as_json:
        print_json(
            [
                {
                    "namespace": t.namespace,
                    "enabled": states.get(t.namespace, False),
                    "values": len(t.tags),
                }
                for t in rows
            ]
        )
        return
    table = Table("namespace", "enabled", "values", "description")
    for t in rows:
        table.add_row(
            t.namespace,
            "yes" if states.get(t.namespace) else "",
            str(len(t.tags)),
            t.description[:80],
        )
    out.print(table)


@taxonomy.command("enable")
def taxonomy_enable(namespace: list[str] = typer.Argument(...)) -> None:
    """Enable taxonomies."""
    with open_app() as kz:
        for ns in namespace:
            kz.tags.set_taxonomy(actor_of(kz), ns, True)
    out.print("enabled: " + ", ".join(namespace), highlight=False)


@taxonomy.command("disable")
def taxonomy_disable(namespace: list[str] = typer.Argument(...)) -> None:
    """Disable taxonomies."""
    with open_app() as kz:
        for ns in namespace:
            kz.tags.set_taxonomy(actor_of(kz), ns, False)
    out.print("disabled: " + ", ".join(namespace), highlight=False)


def migrate() -> None:
    """Create or upgrade the database schema."""
    with open_app():
        pass
    out.print("schema is up to date")
