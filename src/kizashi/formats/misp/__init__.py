"""MISP: events read into STIX 2.1 and written from it through misp-stix, and galaxies.

- ``misp`` (:data:`FORMAT`): MISP event JSON, read by :mod:`.reading` (misp-stix's
  ``MISPtoSTIX21Parser``, one event at a time, and where Kizashi departs from it) and
  written by :mod:`.writing` (misp-stix's STIX-to-MISP parsers);
- ``misp-galaxy`` (:data:`GALAXY_FORMAT`): a galaxy's clusters, read by :mod:`.galaxy`.

Both register as any format plugin does (``kizashi.formats`` entry points).
"""

from kizashi.formats.contract import Format
from kizashi.formats.misp import galaxy, reading, writing

FORMAT = Format(
    name="misp",
    title="MISP events (JSON)",
    media_type="application/json",
    extension="json",
    read=reading.read,
    write=writing.write,
    sniff=reading.sniff,
)

GALAXY_FORMAT = Format(
    name="misp-galaxy",
    title="MISP galaxy clusters (JSON)",
    media_type="application/json",
    extension="json",
    read=galaxy.read,
    sniff=galaxy.sniff,
)

__all__ = ["FORMAT", "GALAXY_FORMAT"]
