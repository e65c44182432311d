"""``kizashi demo``: load (or remove) the bundled demo set."""

from __future__ import annotations

import typer

from kizashi.cli.common import JsonOpt, actor_of, open_app, out, print_json


def demo(
    remove: bool = typer.Option(
        False, "--remove", help="Revoke every object tagged kizashi:demo instead."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Load a small demo set: fictional reports in Japanese and English with actors,
    malware, vulnerabilities, indicators and relationships, tagged kizashi:demo.

    It is imported like any STIX bundle (checks, extraction, rules, search), its dates
    moved so that the newest is of today. Loading it again adds nothing; --remove
    revokes it (loading again restores it). Admins only (KIZASHI_USER)."""
    with open_app() as kz:
        actor = actor_of(kz)
        if remove:
            revoked = kz.demo.remove(actor)
            if as_json:
                print_json({"revoked": revoked})
            else:
                out.print(f"{revoked:,} demo object(s) revoked", highlight=False)
            return
        loaded = kz.demo.load(actor)
    if as_json:
        print_json(loaded.as_dict())
        return
    c = loaded.report.counts
    if loaded.added:
        out.print(
            f"Demo data loaded: {c['new']:,} new, {c['updated']:,} updated,"
            f" {loaded.restored:,} restored (dates moved {loaded.shift_days:+,} days so that"
            " the newest is of today). Find it with the tag kizashi:demo;"
            " `kizashi demo --remove` revokes it.",
            highlight=False,
        )
    else:
        out.print(
            f"The demo data is already there ({c['unchanged'] + c['older']:,} objects);"
            " nothing new.",
            highlight=False,
        )
    problems = sum(c[k] for k in ("conflict", "invalid", "refused"))
    if problems:
        out.print(f"  {problems} object(s) not loaded: --json lists why", highlight=False)
