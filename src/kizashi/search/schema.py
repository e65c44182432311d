"""The search index's layout: every field, how it is tokenised and what it keeps, and the
version a layout change bumps (an index of another version is rebuilt from the database).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tantivy

#: 2: the analysis of each document's text is stored with it (documents.TextFields).
#: 3: keywords (kw, kwc) for term statistics; indicators are a fast field.
#: 4: labels that are the item's tags are not body text (documents.body_text).
SCHEMA_VERSION = 4


def build_schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("pk", stored=True, indexed=True, fast=True)
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("type", fast=True, tokenizer_name="raw", index_option="basic")
    for name in ("title_w", "body_w", "title_b", "body_b"):
        sb.add_text_field(name, tokenizer_name="ws")
    sb.add_text_field("ioc", fast=True, tokenizer_name="raw", index_option="freq")
    # Keywords (each once) and, for those that occur more than once, "keyword\x1fcount".
    sb.add_text_field("kw", fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("kwc", fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("ioc_kind", tokenizer_name="raw", index_option="basic")
    for name in ("tag", "source", "tlp"):
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    # The language of the document and of each paragraph (ja, en, mixed), kept for display.
    sb.add_text_field("lang", stored=True, fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_bytes_field("paragraphs", stored=True)
    # What the analysis made of the text: a change that leaves the text alone reuses it.
    sb.add_bytes_field("analysed", stored=True)
    sb.add_text_field("source_k", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("created_by", indexed=True)
    for name in ("published", "created", "modified"):
        sb.add_date_field(name, indexed=True, fast=True)
    sb.add_float_field("recency", fast=True)
    # Months since year 0 (year * 12 + month - 1): the date histogram's calendar buckets.
    sb.add_integer_field("month", fast=True)
    sb.add_integer_field("sortkey", indexed=True, fast=True)
    sb.add_text_field("meta", stored=True, tokenizer_name="raw", index_option="basic")
    return sb.build()


def schema_version(meta: Path) -> int | None:
    """The layout version an index was written with (None: unreadable, say being written
    by another process this instant: the next start reads it)."""
    try:
        found = json.loads(meta.read_text()).get("schema_version")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, int) else None
