"""Articles from feeds as STIX reports, with Kizashi's property extension.

The extension carries what a report has no property for: the article's URL and
canonical URL, the feed it came from, the feed's own summary, the author, and how
the full text was obtained. It is declared by an ``extension-definition`` object
that Kizashi stores, so exported bundles stay self-describing.
"""

from __future__ import annotations

import uuid
from typing import Any

from kizashi.model.actor import KIZASHI_NAMESPACE, SYSTEM_IDENTITY

ARTICLE_EXTENSION = f"extension-definition--{uuid.uuid5(KIZASHI_NAMESPACE, 'article-extension-v1')}"
EXTENSION_CREATED = "2026-11-28T00:00:00.000Z"

SCHEMA_TEXT = (
    "Kizashi article extension (property-extension on report). Properties: url (string, the "
    "article's address as the feed gave it), canonical_url (string), feed_url (string), "
    "feed_title (string), summary (string, the feed's own summary as text), author (string), "
    "full_text (string: 'extracted', 'feed' when the feed's content was used, or 'failed'), "
    "extraction_error (string, why extraction failed), detected_language (string: ja, en or "
    "mixed, from the text's scripts)."
)


def extension_definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": ARTICLE_EXTENSION,
        "created_by_ref": SYSTEM_IDENTITY,
        "created": EXTENSION_CREATED,
        "modified": EXTENSION_CREATED,
        "name": "Kizashi article",
        "description": "Where a report that came from a feed was published and how it was read.",
        "schema": SCHEMA_TEXT,
        "version": "1.0",
        "extension_types": ["property-extension"],
    }


def article_properties(raw: dict[str, Any]) -> dict[str, Any]:
    """The extension block for a report, without empty values."""
    props = {k: v for k, v in raw.items() if v not in (None, "")}
    return {ARTICLE_EXTENSION: {"extension_type": "property-extension", **props}}
