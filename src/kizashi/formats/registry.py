"""The formats this installation has: every ``kizashi.formats`` entry point, the built-in
ones included (they register the same way, in Kizashi's own ``pyproject.toml``).

An entry point names a :class:`~kizashi.formats.contract.Format`, or a callable that
returns one. A plugin that fails to load is logged and left out (``broken()`` says which
and why): one bad plugin never takes the others, or the server, down.
"""

from __future__ import annotations

import logging
import re
import threading
from importlib.metadata import entry_points

from kizashi.formats.contract import Format
from kizashi.model.errors import Problem, invalid

log = logging.getLogger(__name__)

GROUP = "kizashi.formats"
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class _Registry:
    """The formats loaded, once per process (``reload`` looks again)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded: dict[str, Format] | None = None
        self.broken: dict[str, str] = {}


_state = _Registry()


def _load() -> dict[str, Format]:
    found: dict[str, Format] = {}
    broken: dict[str, str] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            target = ep.load()
            made = target() if callable(target) and not isinstance(target, Format) else target
        except Exception as exc:  # a plugin's own error: logged, the others still load
            broken[ep.name] = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("format plugin %r (%s) did not load: %s", ep.name, ep.value, exc)
            continue
        if not isinstance(made, Format) or not _NAME.fullmatch(made.name):
            broken[ep.name] = "not a kizashi.formats.Format with a lower-case name"
            log.warning("format plugin %r (%s) is not a Format; left out", ep.name, ep.value)
            continue
        if made.name in found:
            broken[ep.name] = f"a second format named {made.name!r}"
            log.warning("format plugin %r: %r is taken; left out", ep.name, made.name)
            continue
        found[made.name] = made
    _state.broken = broken
    return found


def available() -> dict[str, Format]:
    """Every format that loaded, by name (loaded once per process)."""
    with _state.lock:
        if _state.loaded is None:
            _state.loaded = _load()
        return dict(_state.loaded)


def reload() -> dict[str, Format]:
    """Look at the entry points again (after a plugin was installed into this process)."""
    with _state.lock:
        _state.loaded = None
    return available()


def broken() -> dict[str, str]:
    """The entry points that did not load, and why."""
    available()
    return dict(_state.broken)


def get(name: str, *, reading: bool = False, writing: bool = False) -> Format:
    """The format called ``name`` that can read (or write), or a clear error naming the
    ones there are."""
    formats = available()
    found = formats.get(name.lower())
    can = [
        f.name
        for f in formats.values()
        if (not reading or f.can_read) and (not writing or f.can_write)
    ]
    if found is None or (reading and not found.can_read) or (writing and not found.can_write):
        problems = [Problem("format", name)]
        values = {"name": name, "formats": ", ".join(can)}
        if reading:
            raise invalid(
                "No format %(name)r that this installation can read; it has: %(formats)s.",
                problems,
                **values,
            )
        if writing:
            raise invalid(
                "No format %(name)r that this installation can write; it has: %(formats)s.",
                problems,
                **values,
            )
        raise invalid(
            "No format %(name)r that this installation can use; it has: %(formats)s.",
            problems,
            **values,
        )
    return found


def sniff(head: bytes) -> Format | None:
    """The first readable format (by name) whose ``sniff`` recognises these bytes."""
    for fmt in available().values():
        if fmt.can_read and fmt.sniff is not None:
            try:
                if fmt.sniff(head):
                    return fmt
            except Exception as exc:  # a plugin's own error
                log.warning("format %r: sniff failed: %s", fmt.name, exc)
    return None
