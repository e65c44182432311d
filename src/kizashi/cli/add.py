"""``kizashi add …``: enter reports, indicators, observables, entities and notes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from kizashi.cli.common import JsonOpt, actor_of, open_app, show_object
from kizashi.model.stix import ENTITY_TYPES, OBSERVABLE_VALUE_PROPERTY

app = typer.Typer(help="Add an object to the store.", no_args_is_help=True)

TagOpt = typer.Option(
    None, "--tag", "-t", help="Tag to add (repeatable), e.g. tlp:amber or ランサムウェア."
)
TlpOpt = typer.Option(None, "--tlp", help="clear, green, amber, amber+strict or red.")


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    if str(path) == "-":
        return sys.stdin.read()
    return path.read_text(encoding="utf-8")


def _store(obj: dict[str, Any], tags: list[str] | None, tlp: str | None, as_json: bool) -> None:
    with open_app() as kz:
        view, _ = kz.objects.create(actor_of(kz), obj, tags=tags or [], tlp=tlp)
        show_object(view, as_json)


def _timestamp(day: str | None) -> str | None:
    if day is None:
        return None
    return day + "T00:00:00Z" if len(day) == 10 else day


@app.command()
def report(
    title: str = typer.Option(..., "--title", help="The report's title."),
    text: str | None = typer.Option(None, "--text", help="The body (Markdown)."),
    text_file: Path | None = typer.Option(
        None, "--text-file", help="Read the body from a file ('-' for stdin)."
    ),
    published: str | None = typer.Option(
        None, "--published", help="Date or timestamp; default now."
    ),
    source_url: str | None = typer.Option(None, "--source-url", help="Where the report came from."),
    tag: list[str] | None = TagOpt,
    tlp: str | None = TlpOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add a report (title, Markdown body, source, published date)."""
    obj: dict[str, Any] = {"type": "report", "name": title}
    body = text if text is not None else _read(text_file)
    if body:
        obj["description"] = body
    obj["published"] = _timestamp(published) or _now()
    if source_url:
        obj["external_references"] = [{"source_name": "source", "url": source_url}]
    _store(obj, tag, tlp, as_json)


def _now() -> str:
    from kizashi.model.stix import format_timestamp
    from kizashi.services.common import utcnow

    return format_timestamp(utcnow())


@app.command()
def indicator(
    pattern: str = typer.Option(
        ..., "--pattern", help="A STIX pattern, e.g. \"[domain-name:value = 'evil.example']\"."
    ),
    name: str | None = typer.Option(None, "--name"),
    pattern_type: str = typer.Option("stix", "--pattern-type", help="stix, snort, yara, sigma, …"),
    valid_from: str | None = typer.Option(
        None, "--valid-from", help="Date or timestamp; default now."
    ),
    description: str | None = typer.Option(None, "--description"),
    tag: list[str] | None = TagOpt,
    tlp: str | None = TlpOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add an indicator (a detection pattern)."""
    obj: dict[str, Any] = {"type": "indicator", "pattern": pattern, "pattern_type": pattern_type}
    obj["name"] = name or pattern
    obj["valid_from"] = _timestamp(valid_from) or _now()
    if description:
        obj["description"] = description
    _store(obj, tag, tlp, as_json)


@app.command()
def observable(
    stix_type: str = typer.Argument(
        ..., metavar="TYPE", help="One of: " + ", ".join(OBSERVABLE_VALUE_PROPERTY)
    ),
    value: str = typer.Argument(..., help="The value: address, domain, URL, hash, AS number, …"),
    hash_algorithm: str = typer.Option(
        "SHA-256", "--hash", help="For files: MD5, SHA-1, SHA-256 or SHA-512."
    ),
    tag: list[str] | None = TagOpt,
    tlp: str | None = TlpOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add an observable; the same value twice is one object."""
    obj: dict[str, Any]
    if stix_type == "file":
        obj = {"type": "file", "hashes": {hash_algorithm: value}}
    elif stix_type == "autonomous-system":
        obj = {"type": stix_type, "number": int(value.upper().removeprefix("AS"))}
    else:
        prop = OBSERVABLE_VALUE_PROPERTY.get(stix_type, "value")
        obj = {"type": stix_type, prop: value}
    _store(obj, tag, tlp, as_json)


@app.command()
def entity(
    stix_type: str = typer.Argument(..., metavar="TYPE", help="One of: " + ", ".join(ENTITY_TYPES)),
    name: str = typer.Argument(...),
    description: str | None = typer.Option(None, "--description"),
    alias: list[str] | None = typer.Option(None, "--alias", help="Another name (repeatable)."),
    is_family: bool = typer.Option(
        False, "--family", help="For malware: a family, not one sample."
    ),
    tag: list[str] | None = TagOpt,
    tlp: str | None = TlpOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add an entity: threat actor, intrusion set, malware, tool, vulnerability, …"""
    obj: dict[str, Any] = {"type": stix_type, "name": name}
    if description:
        obj["description"] = description
    if alias:
        obj["aliases"] = alias
    if stix_type == "malware":
        obj["is_family"] = is_family
    _store(obj, tag, tlp, as_json)


@app.command()
def note(
    about: list[str] = typer.Option(..., "--about", help="STIX id the note is about (repeatable)."),
    text: str | None = typer.Option(None, "--text"),
    text_file: Path | None = typer.Option(
        None, "--text-file", help="Read the note from a file ('-' for stdin)."
    ),
    abstract: str | None = typer.Option(None, "--abstract", help="A one-line summary."),
    tag: list[str] | None = TagOpt,
    tlp: str | None = TlpOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Add an analyst's note about one or more objects."""
    content = text if text is not None else _read(text_file)
    obj: dict[str, Any] = {"type": "note", "content": content or "", "object_refs": about}
    if abstract:
        obj["abstract"] = abstract
    _store(obj, tag, tlp, as_json)
