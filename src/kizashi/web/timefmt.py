"""Times as a person reads them: in the user's zone, the zone named, or relative.

Storage and the API keep UTC (RFC 3339); a page converts at the last moment. The zone of
a page is the user's setting, else the one the browser reported (the ``kizashi_tz``
cookie, set by the front end from ``Intl.DateTimeFormat``), else Asia/Tokyo for a
Japanese page and UTC for an English one. Like the language, it lives in a context
variable set just before the template renders.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta
from fastapi import Request
from markupsafe import Markup, escape

from kizashi.model.actor import Actor
from kizashi.model.preferences import JAPAN, is_zone
from kizashi.web import i18n

COOKIE = "kizashi_tz"
_zone: contextvars.ContextVar[str] = contextvars.ContextVar("kizashi_zone", default="UTC")


def zone_of(request: Request, actor: Actor | None, language: str) -> str:
    """The zone a request's page shows its times in."""
    chosen = actor.preferences.time_zone if actor is not None else None
    if chosen and is_zone(chosen):
        return chosen
    reported = request.cookies.get(COOKIE)
    if reported and is_zone(reported):
        return reported
    return JAPAN if language == "ja" else "UTC"


def zone_for(request: Request, actor: Actor | None) -> ZoneInfo:
    """The zone of the page about to be rendered for ``actor`` (for reading what they
    typed: a ``published:`` day is a day of this zone)."""
    return ZoneInfo(zone_of(request, actor, i18n.language_of(request, actor)))


def use(zone: str) -> contextvars.Token[str]:
    return _zone.set(zone if is_zone(zone) else "UTC")


def current() -> ZoneInfo:
    return ZoneInfo(_zone.get())


def parse(value: object) -> datetime | None:
    """A stored time (RFC 3339 text, a datetime, a date) as an aware datetime, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation where it has one (JST, UTC, CET), else its offset."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local(value: object, *, seconds: bool = False, with_zone: bool = True) -> str:
    """``value`` in the page's zone: ``2026-12-06 20:51 JST``; the text as given if it is
    not a time (so nothing is lost)."""
    moment = parse(value)
    if moment is None:
        return "" if value is None else str(value)
    here = moment.astimezone(current())
    text = here.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {zone_label(here)}" if with_zone else text


def local_date(value: object) -> str:
    """The day ``value`` falls on in the page's zone (``2026-12-06``)."""
    moment = parse(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.astimezone(current()).strftime("%Y-%m-%d")


def relative(value: object, now: datetime | None = None) -> str:
    """How long ago (or ahead) ``value`` is, in the page's language: ``3 時間前``."""
    moment = parse(value)
    if moment is None:
        return "" if value is None else str(value)
    delta = moment - (now or datetime.now(UTC))
    return format_timedelta(delta, add_direction=True, locale=i18n.current(), threshold=0.9)


def when(value: object, relative_to_now: bool = False, seconds: bool = False) -> Markup:
    """A ``<time>`` element: the local time (its UTC instant in the title), or the
    relative time with the local one in the title."""
    moment = parse(value)
    if moment is None:
        return Markup("") if value is None else escape(str(value))
    utc = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = local(moment, seconds=seconds)
    if relative_to_now:
        return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(
            utc, shown, relative(moment)
        )
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(utc, shown)
