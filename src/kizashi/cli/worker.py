"""``kizashi worker``: consume the job queue (feed polls, the scheduler) in this process."""

from __future__ import annotations

import logging

import typer

from kizashi.cli.common import err
from kizashi.config import Settings
from kizashi.jobs.queue import Jobs


def worker(
    threads: int | None = typer.Option(
        None, "--threads", help="Worker threads (default KIZASHI_WORKERS or 2)."
    ),
) -> None:
    """Run jobs from the queue (KIZASHI_QUEUE_URL, or the embedded queue in the data directory)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings()
    jobs = Jobs(settings)
    where = settings.queue_url or str(settings.ensure_data_dir() / "queue.db")
    err.print(f"Kizashi worker: queue {_redact(where)}", highlight=False)
    try:
        jobs.consumer(threads).run()
    finally:
        jobs.close()


def _redact(url: str) -> str:
    """A queue URL without its password, for the log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://{user}@{host}"
    return url
