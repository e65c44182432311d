"""The demo set: fictional reports, actors, malware, vulnerabilities and indicators in
Japanese and English (``demo-bundle.json``, written for Kizashi), for a newcomer to try
search, the maps, the word cloud, trends and summaries on. It is imported as any STIX
bundle is, with its dates moved so that its newest item is of today.

- :mod:`.service`: :class:`DemoService`, loading and removing the set.
"""

from kizashi.services.demo.service import DEMO_TAG, DemoLoad, DemoService

__all__ = ["DEMO_TAG", "DemoLoad", "DemoService"]
