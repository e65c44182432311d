"""When a feed is polled next: its interval with jitter, longer after failures."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=24)
JITTER = 0.1


def next_poll(
    now: datetime,
    interval_seconds: int,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """``now`` plus the interval (doubled per consecutive failure, capped at a day),
    never sooner than the server's ``Retry-After``, spread by ±10 % so that many feeds
    with one interval do not all poll in the same second."""
    rng = rng or random.Random()  # noqa: S311 - spreading load, not secrecy
    base = float(interval_seconds) * (2 ** min(failures, 16))
    base = min(base, MAX_BACKOFF.total_seconds())
    delay = base + rng.uniform(-base * JITTER, base * JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)
