"""``kizashi run``: prepare the store, make the first admin, serve the UI and API."""

from __future__ import annotations

import gc

import typer
import uvicorn

from kizashi.cli.common import err
from kizashi.config import Settings
from kizashi.jobs.queue import Jobs, open_runtime
from kizashi.model.errors import KizashiError
from kizashi.server import create_app
from kizashi.services import Kizashi


def run(
    host: str | None = typer.Option(None, "--host", help="Default KIZASHI_HOST or 127.0.0.1."),
    port: int | None = typer.Option(None, "--port", help="Default KIZASHI_PORT or 8000."),
) -> None:
    """Start the web UI and API (SQLite in the data directory, or KIZASHI_DATABASE_URL)."""
    settings = Settings()
    data_dir = settings.ensure_data_dir()
    kz = Kizashi.open(settings.resolved_database_url, **settings.store_options())
    try:
        generated = kz.users.ensure_admin(settings.admin_user, settings.admin_password)
    except KizashiError as exc:
        err.print(f"[red]cannot create the first admin:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    bind_host = host or settings.host
    bind_port = port or settings.port
    url = f"http://{bind_host}:{bind_port}/"
    err.print(f"Kizashi data: {data_dir}", highlight=False)
    if generated:
        # Printed to the terminal once, never logged; it is the only way to learn it.
        err.print(
            f"First admin created. Log in at {url} as [bold]{settings.admin_user}[/bold] "
            f"with password [bold]{generated}[/bold] (change it under your name, top right).",
            highlight=False,
        )
    elif settings.admin_password:
        err.print(
            f"Log in at {url} as {settings.admin_user} with KIZASHI_ADMIN_PASSWORD.",
            highlight=False,
        )
    else:
        err.print(f"Log in at {url}", highlight=False)
    jobs = Jobs(settings, runtime=lambda: open_runtime(settings, kz))
    app = create_app(settings, kz, jobs)
    consumer = jobs.consumer() if settings.workers > 0 else None
    if consumer is not None:
        # Worker threads and the feed scheduler run inside the server.
        consumer.start()
    # What is loaded by now (modules, catalogues, warning lists, the taxonomies) lives as
    # long as the process: frozen out of the collector's full passes, which walked all of
    # it on every generation-2 collection (0.12 s pauses in page answers at 100,000 items,
    # 1-2 in 30 of the relation map's; measured in bench/bench_pages.py).
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="info", proxy_headers=False)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        jobs.close()
