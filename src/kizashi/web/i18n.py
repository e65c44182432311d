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
- **The front-end's messages** (``t("…")`` in ``frontend/src``) are in the same
  catalogue; a page carries the translations of those only (``js_messages``, embedded by
  ``base.html``). Their ids are read from ``frontend/src`` in a checkout, so never stale,
  and from ``static/dist/messages.json`` in an installed package, which ``make install``
  writes (``python -m kizashi.web.i18n``) with the same extraction.
"""

from __future__ import annotations

import contextvars
import io
import json
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from babel.units import format_unit
from fastapi import Request

from kizashi.model import preferences
from kizashi.model.actor import Actor
from kizashi.model.errors import KizashiError, Text

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
LANGUAGES = preferences.LANGUAGES
DEFAULT = "en"
COOKIE = "kizashi_lang"
#: What the switcher shows for each language, in that language.
NATIVE_NAMES = {"ja": "日本語", "en": "English"}
#: The front-end's message ids, listed at install for a package without frontend/src.
JS_IDS = Path(__file__).resolve().parent / "static" / "dist" / "messages.json"
#: A checkout: where babel.cfg and frontend/src are, when they are.
SOURCE = Path(__file__).resolve().parents[3]

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


def language_of(request: Request, actor: Actor | None = None) -> str:
    """The language a request's page is rendered in: the user's setting, else this
    browser's choice (the switcher's cookie), else ``Accept-Language``."""
    stored = actor.preferences.language if actor is not None else None
    if stored in LANGUAGES:
        return str(stored)
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


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Mark ``message`` for the catalogue without translating it yet (a page translates
    it once its language is known, with ``say``)."""
    return message


def say(text: object) -> str:
    """``text`` (an error's detail, a stored status: text from the program, never
    markup) in the page's language where the catalogue has it. Plain text, so the
    template escapes it: unlike the templates' own ``_()``, whose result is markup."""
    return gettext(str(text)) if text else ""


def said(template: str, english: str, values: Mapping[str, Any]) -> str:
    """A message in the page's language: ``template`` translated with ``values`` put in
    (a :class:`Text` value said the same way), else ``english`` (where the catalogue has
    no entry, or the translation does not take the values)."""
    if not template:
        return english
    translated = gettext(template)
    if not values:  # taken as it is; unless values were due and are missing
        return translated if template == english else english
    shown = {
        k: said(v.template, str(v), v.values) if isinstance(v, Text) else v
        for k, v in values.items()
    }
    try:
        return translated % shown
    except (KeyError, TypeError, ValueError):
        return english


def say_text(text: Text | Mapping[str, Any]) -> str:
    """A :class:`Text`, or one kept as ``{"template", "values"}`` (a stored summary's
    notes), in the page's language."""
    if not isinstance(text, Text):
        text = Text(str(text.get("template", "")), text.get("values") or {})
    return said(text.template, str(text), text.values)


def error_message(exc: KizashiError) -> str:
    """An error's message in the page's language."""
    return said(exc.template, exc.message, exc.values)


def error_problems(exc: KizashiError) -> list[tuple[str, str]]:
    """(where, why) of an error's problems in the page's language, leaving out those
    that only repeat what its message says (a parser's reason, a rule's path)."""
    return [
        (p.loc, said(p.template, p.msg, p.values))
        for p in exc.problems
        if not (p.msg and p.msg.casefold() in exc.message.casefold())
    ]


_SIZES = (("digital-gigabyte", 10**9), ("digital-megabyte", 10**6), ("digital-kilobyte", 10**3))


def filesize(n: int | float | None) -> str:
    """A size in bytes as the page's language writes it: ``169 バイト``, ``1.5 MB``
    (Jinja's ``filesizeformat`` says "Bytes" in every language)."""
    size = float(n or 0)
    for unit, scale in _SIZES:
        if size >= scale:
            return str(format_unit(round(size / scale, 1), unit, length="short", locale=current()))
    return str(format_unit(int(size), "digital-byte", length="long", locale=current()))


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


def extract_js_ids(root: Path = SOURCE) -> list[str]:
    """The message ids ``pybabel extract -F babel.cfg`` finds in the front-end's scripts."""
    with (root / "babel.cfg").open(encoding="utf-8") as fp:
        method_map, options_map = parse_mapping_cfg(fp)  # type: ignore[no-untyped-call]
    scripts = [(pattern, method) for pattern, method in method_map if method == "javascript"]
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        root, scripts, options_map, keywords=DEFAULT_KEYWORDS
    ):
        parts = message if isinstance(message, tuple) else (message,)
        ids.update(part for part in parts if part)
    return sorted(ids)


@cache
def js_ids() -> tuple[str, ...]:
    """The front-end's message ids: from its sources in a checkout, else as installed."""
    if (SOURCE / "babel.cfg").is_file() and (SOURCE / "frontend" / "src").is_dir():
        return tuple(extract_js_ids(SOURCE))
    if not JS_IDS.exists():
        return ()
    return tuple(json.loads(JS_IDS.read_text(encoding="utf-8")))


@cache
def js_messages(language: str) -> dict[str, str]:
    """What the front-end's scripts show in ``language``: their translated messages only
    (one it lacks, every one in English, shows as its id)."""
    catalogue = translations(language)
    found = {message: catalogue.ugettext(message) for message in js_ids()}
    return {message: text for message, text in found.items() if text != message}


if __name__ == "__main__":  # make install: python -m kizashi.web.i18n <messages.json>
    Path(sys.argv[1]).write_text(json.dumps(extract_js_ids(), indent=0) + "\n", encoding="utf-8")
