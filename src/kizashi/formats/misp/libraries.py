"""misp-stix's converters, imported once for the MISP modules.

misp-stix imports its STIX 1 stack (``stix``, ``mixbox``) and ``pycountry`` whatever it
is asked for: ``mixbox`` imports ``distutils``, which warns that it is deprecated, and
an old ``six`` meta-path importer met on the way raises an ``ImportWarning``. Warnings
about a dependency's dependencies, raised at import, that Kizashi's warnings-as-errors
test runs and a server's log should not carry: they are silenced for that import only.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from importlib.machinery import ModuleSpec
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    warnings.simplefilter("ignore", ImportWarning)
    from misp_stix_converter import (
        ExternalSTIX2toMISPParser,
        InternalSTIX2toMISPParser,
        MISPtoSTIX21Parser,
    )
    from misp_stix_converter.misp2stix.stix21_mapping import MISPtoSTIX21Mapping
    from misp_stix_converter.tools.stix2_loading_helpers import load_stix2_content


def _give_find_spec(finder: Any) -> None:
    """What six 1.16 added to its importer: ``find_spec`` for the modules it knows.
    The old copy mixbox vendors has only ``find_module``, so every later import that
    reaches it warns (Python 3.4 deprecated that fallback); with this it answers as
    new six does, and imports go on quietly."""

    def find_spec(fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        del path, target
        if fullname in getattr(finder, "known_modules", {}):
            return importlib.util.spec_from_loader(fullname, finder)
        return None

    finder.find_spec = find_spec


for _finder in sys.meta_path:
    if type(_finder).__name__ == "_SixMetaPathImporter" and not hasattr(_finder, "find_spec"):
        _give_find_spec(_finder)

__all__ = [
    "ExternalSTIX2toMISPParser",
    "InternalSTIX2toMISPParser",
    "MISPtoSTIX21Mapping",
    "MISPtoSTIX21Parser",
    "load_stix2_content",
]
