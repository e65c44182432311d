"""A user's UI preferences: the language pages are written in and the time zone their
times are shown in. Storage and the API stay UTC; only what a person reads moves."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from kizashi.model.errors import Problem, invalid

#: The UI's languages, Japanese first: the team's own.
LANGUAGES = ("ja", "en")
#: The zone a Japanese page shows when neither the user nor the browser said one.
JAPAN = "Asia/Tokyo"
#: Zones the settings page offers first (the rest follow in order).
COMMON_ZONES = (
    "Asia/Tokyo",
    "UTC",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)


@dataclass(frozen=True)
class Preferences:
    language: str | None = None  # None: the browser's
    time_zone: str | None = None  # None: the browser's, else by language


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, the common ones first."""
    rest = sorted(z for z in zoneinfo.available_timezones() if z not in COMMON_ZONES)
    return (*COMMON_ZONES, *rest)


def is_zone(name: str | None) -> bool:
    """Whether ``name`` is a zone of the IANA list (not merely a path zoneinfo can open)."""
    return bool(name) and name in _zone_set()


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(zone_names())


def zone(name: str | None) -> ZoneInfo:
    """The zone named ``name`` (empty: UTC), or a clear error."""
    if not name:
        return ZoneInfo("UTC")
    if not is_zone(name):
        raise invalid(
            "Unknown time zone %(zone)r.",
            [Problem("tz", "an IANA time zone such as Asia/Tokyo or UTC")],
            zone=name[:64],
        )
    return ZoneInfo(name)


def checked(language: str | None, time_zone: str | None) -> Preferences:
    """``language`` and ``time_zone`` as stored (empty means "the browser's"), or why not."""
    problems = []
    language = language or None
    time_zone = time_zone or None
    if language is not None and language not in LANGUAGES:
        problems.append(Problem("language", "ja or en"))
    if time_zone is not None and not is_zone(time_zone):
        problems.append(Problem("time_zone", "an IANA time zone such as Asia/Tokyo"))
    if problems:
        raise invalid("These preferences cannot be kept.", problems)
    return Preferences(language, time_zone)
