"""What pymisp and misp-stix log while Kizashi converts, held for the conversion instead
of printed.

pymisp logs each record it refuses (``Failed validation for ip-dst Attribute …``) on the
``pymisp`` logger, which with no handler set prints to stderr. During a conversion, and
only in the thread doing it, a filter on their loggers keeps those lines for the reader
to turn into problems; other threads' logging is left alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The loggers pymisp and misp-stix write to while events are converted either way.
LOGGERS = ("pymisp", "misp_stix_converter.tools.stix2_to_misp_helpers")


class _Holder(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        held: list[str] | None = getattr(self.local, "held", None)
        if held is None:
            return True
        held.append(record.getMessage())
        return False


_HOLDER = _Holder()
_installed = threading.Lock()
_done: list[bool] = []


def _install() -> None:
    with _installed:
        if not _done:
            for name in LOGGERS:
                logging.getLogger(name).addFilter(_HOLDER)
            _done.append(True)


@contextmanager
def held() -> Iterator[list[str]]:
    """The lines logged in this thread while the block runs (not printed)."""
    _install()
    outer: list[str] | None = getattr(_HOLDER.local, "held", None)
    lines: list[str] = []
    _HOLDER.local.held = lines
    try:
        yield lines
    finally:
        _HOLDER.local.held = outer
