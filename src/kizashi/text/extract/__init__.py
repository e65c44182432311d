"""Indicators and identifiers pulled out of Japanese and English text.

``extract(text)`` returns every hit with its type, its refanged and normalised value, its
offsets into the *original* text and the flags that explain why an analyst may want to
ignore it (documentation range, private address, benign warning list). Nothing is dropped
silently: callers decide what to do with flagged hits.
"""

from kizashi.text.extract.core import TYPES, Hit, extract, extract_pairs
from kizashi.text.extract.refang import defang, refang

__all__ = ["TYPES", "Hit", "defang", "extract", "extract_pairs", "refang"]
