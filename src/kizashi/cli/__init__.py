"""The ``kizashi`` command line (Typer). Commands work directly on the store."""

from __future__ import annotations

import os

import typer

from kizashi.cli import (
    add,
    admin,
    demo,
    exchange,
    feeds,
    indicators,
    objects,
    rules,
    search,
    serve,
    stats,
    summaries,
    worker,
)
from kizashi.store.files import UMASK

app = typer.Typer(
    name="kizashi",
    help="Kizashi 兆し: threat intelligence in Japanese and English.\n\n"
    "Every command reads KIZASHI_DATA_DIR and KIZASHI_DATABASE_URL;"
    " KIZASHI_USER names the account to act as.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(add.app, name="add")
app.command("show")(objects.show)
app.command("list")(objects.list_)
app.command("tag")(objects.tag)
app.command("untag")(objects.untag)
app.command("relate")(objects.relate)
app.command("revoke")(objects.revoke)
app.command("restore")(objects.restore)
app.command("history")(objects.history)
app.command("export-json")(objects.export_json)
app.command("import")(exchange.import_)
app.command("export")(exchange.export)
app.command("demo")(demo.demo)
app.add_typer(admin.users, name="user")
app.add_typer(admin.tokens, name="token")
app.add_typer(admin.taxonomy, name="taxonomy")
app.command("migrate")(admin.migrate)
app.add_typer(feeds.app, name="feed")
app.command("extract")(indicators.extract)
app.command("lookup")(indicators.lookup)
app.command("reextract")(indicators.reextract)
app.add_typer(indicators.attack, name="attack")
app.command("search")(search.search)
app.command("reindex")(search.reindex)
app.add_typer(search.saved_app, name="saved")
app.add_typer(rules.app, name="rule")
app.add_typer(stats.app, name="stats")
app.command("summarize")(summaries.summarize)
app.add_typer(summaries.digest_app, name="digest")
app.command("run")(serve.run)
app.command("worker")(worker.worker)


def main() -> None:
    # Everything this process writes is its user's alone: the data directory holds
    # TLP:RED reports and the session key (kizashi.store.files says more).
    os.umask(UMASK)
    app()
