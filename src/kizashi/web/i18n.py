"""The UI's languages: Japanese and English, through one gettext catalogue (Babel).

- **Messages** are written in English in the templates (``{% trans %}``, ``_()``) and
  the Python that renders them; ``src/kizashi/locale/ja/LC_MESSAGES/messages.po`` holds
  their Japanese. English needs no catalogue: its messages are the ids.
- **Compiled at install** (``make install`` runs ``pybabel compile``); a checkout whose
  ``.mo`` is missing or older than its ``.po`` compiles it in memory on first use, so a
  test run or an editable install never shows a stale catalogue.
- **Which language.** The one chosen with the switcher (a cookie, kept a year), else
  the browser's ``Accept-Language`` (its q-values honoured), else English. Each request
  renders in its own language: the choice lives in a context variable set before a page
  is rendered, and the templates' gettext reads it.
"""

from __future__ import annotations

import contextvars
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
LANGUAGES = ("ja", "en")
DEFAULT = "en"
COOKIE = "kizashi_lang"
#: What the switcher shows for each language, in that language.
NATIVE_NAMES = {"ja": "日本語", "en": "English"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("kizashi_language", default=DEFAULT)


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of ``language`` (English: none, the ids are English)."""
    if language not in LANGUAGES or language == "en":
        return NullTranslations()
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fp:
            return Translations(fp, domain=DOMAIN)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries left out, as pybabel compile does
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def negotiate(accept_language: str | None) -> str | None:
    """The best of ``LANGUAGES`` for an ``Accept-Language`` header, if any fits."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, primary)
    return best[2] if best else None


def language_of(request: Request) -> str:
    """The language a request's page is rendered in."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("accept-language")) or DEFAULT


def use(language: str) -> contextvars.Token[str]:
    """Render in ``language`` from now on in this context."""
    return _current.set(language if language in LANGUAGES else DEFAULT)


def current() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)
