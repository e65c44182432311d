"""STIX objects: create (one or in bulk), read, list, edit with history, revoke, restore.

The package: :mod:`.reading` (its list cursors in :mod:`.cursors`), :mod:`.creating`,
:mod:`.editing`, :mod:`.bulk` (tags and TLP of many objects at once), :mod:`.hooks`
(what storing calls beyond the store: extraction and rules), and :mod:`.service`
(:class:`ObjectService`, the one object callers hold). The views it answers with are
:mod:`kizashi.services.objects.views`.
"""

from kizashi.services.objects.service import ObjectService
from kizashi.services.objects.views import BulkResult, ObjectView, Page, VersionView

__all__ = ["BulkResult", "ObjectService", "ObjectView", "Page", "VersionView"]
