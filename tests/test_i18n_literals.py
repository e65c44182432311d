"""No user-visible English outside the catalogue (issue 20): every text node and
user-visible attribute of the templates, and every string the front end puts on a page,
goes through gettext. The scan reads each template as HTML with its Jinja expressions
taken out, so what remains is literal text a user would see untranslated."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "src" / "kizashi" / "web" / "templates"
FRONTEND = ROOT / "frontend" / "src"

#: Attributes a user reads or hears (a screen reader says aria-label and title).
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-confirm", "label"}
#: Elements whose text is data or code, not prose: shown as written in any language.
LITERAL_ELEMENTS = {"code", "pre", "kbd", "samp", "script", "style"}
#: Words that are the same in Japanese text: names of formats, standards and products.
NAMES = {
    "Kizashi",
    "STIX",
    "TAXII",
    "MISP",
    "TLP",
    "CLEAR",
    "GREEN",
    "AMBER",
    "RED",
    "STRICT",
    "JSON",
    "CSV",
    "ATT",
    "CK",
    "PNG",
    "SVG",
    "GraphML",
    "API",
    "URL",
    "IoC",
    "OPML",
    "RSS",
    "Atom",
    "RDF",
    "Feed",  # "JSON Feed", a format's name
    "ETag",
    "ID",
    "CVE",
    "UTC",
    "Markdown",
    "English",
    "LLM",
    "PMI",  # names of measures
    "Jaccard",
    "AND",  # the query language's operators
    "OR",
    "NOT",
    "ja",  # language codes
    "en",
}
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")
#: Not prose: URLs and the query language's ``field:value`` terms (``tag:tlp:amber``).
_SYNTAX = re.compile(r"\S+://\S*|[A-Za-z_]+:\S*")


def _prose(text: str) -> list[str]:
    """The words of ``text`` a translator would translate."""
    return [w for w in _WORD.findall(_SYNTAX.sub(" ", text)) if w not in NAMES]


class _Literals(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._literal = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in LITERAL_ELEMENTS:
            self._literal += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self._check(f"{tag}[{name}]", value)

    def handle_endtag(self, tag: str) -> None:
        if tag in LITERAL_ELEMENTS and self._literal:
            self._literal -= 1

    def handle_data(self, data: str) -> None:
        if not self._literal:
            self._check("text", data)

    def _check(self, where: str, text: str) -> None:
        if _prose(text):
            self.found.append(f"{where}: {' '.join(text.split())[:80]!r}")


def literals(template: Path) -> list[str]:
    """The untranslated user-visible text of one template."""
    source = _JINJA.sub("\x00", template.read_text(encoding="utf-8"))
    parser = _Literals()
    parser.feed(source)
    parser.close()
    return parser.found


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_hold_no_text_outside_the_catalogue(template: Path) -> None:
    assert literals(template) == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The checker itself: literal text and attributes are found; gettext calls, code,
    names of formats and Jinja expressions are not."""
    page = tmp_path / "page.html"
    page.write_text(
        "<h1>Hello there</h1><p>{{ _('Fine') }} STIX JSON</p>"
        '<input placeholder="Type here"><button title="{{ _(\'ok\') }}">×</button>'
        "<code>tag:tlp:amber</code><pre>{ x }</pre><script>var a = 'b';</script>"
        "{% if x %}{{ x.name }}{% endif %}{# a comment in English #}",
        encoding="utf-8",
    )
    assert literals(page) == ["text: 'Hello there'", "input[placeholder]: 'Type here'"]


#: How the front end puts text on a page: each needs its string through ``t()``.
_JS_SINKS = re.compile(
    r"""(?:textContent|innerText|title|placeholder|ariaLabel)\s*=\s*(["'`])(?P<text>(?:(?!\1).)*)\1"""
    r"""|setAttribute\(\s*["'](?:title|aria-label|placeholder)["']\s*,\s*(["'`])(?P<attr>(?:(?!\3).)*)\3"""
    r"""|(?:alert|confirm)\(\s*(["'`])(?P<dialog>(?:(?!\5).)*)\5"""
)


@pytest.mark.parametrize("script", sorted(FRONTEND.glob("*.js")), ids=lambda p: p.name)
def test_the_front_end_puts_no_literal_text_on_a_page(script: Path) -> None:
    found = []
    for m in _JS_SINKS.finditer(script.read_text(encoding="utf-8")):
        text = m["text"] or m["attr"] or m["dialog"] or ""
        if _prose(re.sub(r"\$\{[^}]*\}", " ", text)):  # ${…} is code
            found.append(m[0][:80])
    assert found == []
