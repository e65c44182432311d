"""Templates, safe Markdown, and the helpers every page shares."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nh3
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

from kizashi.api.deps import csrf_token, session_actor
from kizashi.model import tlp as tlp_model
from kizashi.web import i18n, stix_names, timefmt

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.add_extension("jinja2.ext.i18n")
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
#: A feed's last failure, by kind (kizashi.ingest.feeds.FeedView.last_error_kind), as a
#: page says it; the stored details follow in the words of the library that failed.
FEED_ERRORS = {
    "refused": i18n.N_("The address is not allowed (a private or blocked address)."),
    "timeout": i18n.N_("The server did not answer in time."),
    "too_large": i18n.N_("The answer was larger than the size limit."),
    "redirects": i18n.N_("Too many redirects, or a redirect loop."),
    "throttled": i18n.N_("The server asked Kizashi to wait before asking again."),
    "http": i18n.N_("The server answered with an error."),
    "network": i18n.N_("The server could not be reached."),
    "bad_url": i18n.N_("The address is not a valid URL."),
    "not_feed": i18n.N_("What the address serves is not a feed (RSS, Atom, RDF or JSON Feed)."),
    "not_misp_feed": i18n.N_("What the address serves is not a MISP feed."),
    "internal": i18n.N_("Kizashi failed while reading the feed; the server log says why."),
}
#: What made a version of an object (kizashi.services.objects.views.VersionView.action).
VERSION_ACTIONS = {
    "create": i18n.N_("created"),
    "update": i18n.N_("edited"),
    "revoke": i18n.N_("revoked"),
    "restore": i18n.N_("restored"),
}
#: How a summary is made, as the summary forms offer it (kizashi.summary_providers).
SUMMARY_PROVIDERS = {
    "extractive": i18n.N_("sentences from the articles"),
    "openai": i18n.N_("the language model"),
}
# html=False: raw HTML in Markdown is shown as text; nh3 then cleans what Markdown made.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    html = _markdown.render(text)
    clean = nh3.clean(
        html, link_rel="noopener noreferrer nofollow", url_schemes={"http", "https", "mailto"}
    )
    return Markup(clean)  # noqa: S704 - nh3 has sanitised it


def pretty_json(value: object) -> str:
    """JSON for reading in a ``<pre>`` (autoescaped as text): indented, and Japanese as
    itself rather than ``\\u30bb`` escapes."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_LATIN = re.compile(r"[A-Za-z]")


def content_language(text: str | None, declared: object = None) -> str | None:
    """The language of an item's text: its STIX ``lang`` where it says ``ja`` or ``en``,
    else Japanese where the text has kana or kanji, English where it has Latin letters."""
    if declared in ("ja", "en"):
        return str(declared)
    if not text:
        return None
    if _JAPANESE.search(text):
        return "ja"
    return "en" if _LATIN.search(text) else None


def lang_attr(text: str | None, declared: object = None) -> Markup:
    """`` lang="ja"`` on an element whose content is not in the page's language (a
    Japanese title on an English page), so a screen reader reads it with the right
    voice and the browser picks Japanese glyphs; nothing where they agree."""
    found = content_language(text, declared)
    if found is None or found == i18n.current():
        return Markup("")
    return Markup(f' lang="{found}"')  # noqa: S704 - one of two fixed codes


def tag_url(name: str) -> str:
    return "/tags/" + quote(name, safe="")


def tags_filter_url(name: str) -> str:
    term = (
        '"' + name.replace('"', "") + '"' if (" " in name or "(" in name or ")" in name) else name
    )
    return "/objects?tags=" + quote(term, safe="")


def object_url(stix_id: str) -> str:
    return "/objects/" + quote(stix_id, safe="")


templates.env.filters.update(
    markdown=markdown,
    pretty_json=pretty_json,
    when=timefmt.when,  # {{ obj.modified|when }}: <time> in the user's zone
    ago=lambda value: timefmt.when(value, relative_to_now=True),
    local_time=timefmt.local,
    local_date=timefmt.local_date,
    filesize=i18n.filesize,  # {{ n|filesize }}: 169 バイト, 1.5 MB
)
templates.env.globals.update(
    tag_url=tag_url,
    tags_filter_url=tags_filter_url,
    object_url=object_url,
    js_messages=i18n.js_messages,  # the front-end's messages in a language (base.html)
    TLP_LEVELS=tlp_model.LEVELS,
    error_message=i18n.error_message,
    error_problems=i18n.error_problems,
    say=i18n.say,
    lang_attr=lang_attr,  # <h1{{ lang_attr(obj.name, obj.stix.lang) }}>
    say_text=i18n.say_text,
    type_name=stix_names.type_name,  # {{ type_name(o.type) }}: レポート for report
    facet_value=stix_names.facet_value,
    FEED_ERRORS=FEED_ERRORS,
    VERSION_ACTIONS=VERSION_ACTIONS,
    SUMMARY_PROVIDERS=SUMMARY_PROVIDERS,
)


def page(
    request: Request, name: str, status_code: int | None = None, **context: Any
) -> HTMLResponse:
    """Render a template; a page that shows an ``error`` answers 422 unless told otherwise."""
    if status_code is None:
        status_code = 422 if context.get("error") else 200
    actor = context.pop("actor", None) or session_actor(request)
    language = i18n.language_of(request, actor)
    zone = timefmt.zone_of(request, actor, language)
    i18n.use(language)  # the page renders below, in this context
    timefmt.use(zone)
    context.update(
        request=request,
        actor=actor,
        csrf=csrf_token(request),
        lang=language,
        languages=i18n.NATIVE_NAMES,
        zone=zone,
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code)
