"""Exchange: importing what a format read, and exporting a selection for a format to
write. The formats themselves (:mod:`kizashi.formats`) only convert; checking, versions,
tags and TLP, extraction, rules and who may read what are done here, the same for all.

- :mod:`.checking`: whether an object can be kept as it came;
- :mod:`.importing`: the two passes (check and preview, then write);
- :mod:`.exporting`: selections, with their references and markings;
- :mod:`.service`: :class:`ExchangeService`, the one object callers hold.
"""

from kizashi.services.exchange.exporting import Selection
from kizashi.services.exchange.importing import OUTCOMES, ImportReport, ItemProblem
from kizashi.services.exchange.service import ExchangeService

__all__ = ["OUTCOMES", "ExchangeService", "ImportReport", "ItemProblem", "Selection"]
