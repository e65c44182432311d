"""Formats: STIX 2.1 and the others Kizashi reads and writes, one plugin interface for all.

- :mod:`.contract`: what a format is (``read`` bytes into STIX objects, ``write`` STIX
  objects as bytes) and the limits a reader keeps to;
- :mod:`.registry`: the ``kizashi.formats`` entry points, the built-in formats included;
- :mod:`.jsonstream`: large JSON read one item at a time, within limits;
- :mod:`.stix`: STIX 2.1 bundles.

Formats convert; they do not store. :mod:`kizashi.services.exchange` checks, stores and
selects objects, the same way for every format.
"""

from kizashi.formats.contract import Format, FormatError, Limits, Rejected
from kizashi.formats.registry import available, get, sniff

__all__ = ["Format", "FormatError", "Limits", "Rejected", "available", "get", "sniff"]
