"""A word cloud as a PNG, drawn on the server, for reports.

Servers often have no CJK font, and a cloud drawn without one shows empty boxes for
every Japanese word. The font comes from a Python package instead: IPAex Gothic, shipped
by ``matplotlib-fontja`` (IPA Font License), so the picture is the same on every
machine. The layout is the ``wordcloud`` package's, seeded so that the same words give
the same picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kizashi.services.analytics import TermStat

#: Colours by language (the UI uses the same).
COLOURS = {"ja": "#c0392b", "en": "#1f5f99"}
MAX_SIDE = 4000


@cache
def font_path() -> Path:
    """IPAex Gothic, from the matplotlib-fontja package."""
    return Path(str(resources.files("matplotlib_fontja") / "fonts" / "ipaexg.ttf"))


def render_png(
    terms: Sequence[TermStat], *, by: str = "count", width: int = 1200, height: int = 800
) -> bytes:
    """The terms drawn as a cloud, sized by ``count`` or keyness ``score`` (words with
    no positive score are left out then), coloured by language."""
    from wordcloud import WordCloud

    weights = {
        t.term: float(t.count if by == "count" else t.score)
        for t in terms
        if (t.count if by == "count" else t.score) > 0
    }
    langs = {t.term: t.lang for t in terms}

    def colour(word: str, **_: Any) -> str:
        return COLOURS.get(langs.get(word, "en"), "#333333")

    cloud = WordCloud(
        font_path=str(font_path()),
        width=max(100, min(width, MAX_SIDE)),
        height=max(100, min(height, MAX_SIDE)),
        background_color="white",
        color_func=colour,
        random_state=7,
        prefer_horizontal=1.0,
        max_words=max(1, len(weights)),
        collocations=False,
        normalize_plurals=False,
        include_numbers=True,
    )
    buf = io.BytesIO()
    if weights:
        cloud.generate_from_frequencies(weights)
        cloud.to_image().save(buf, format="PNG")
    else:  # nothing to draw: an empty picture of the size asked for
        from PIL import Image

        Image.new("RGB", (cloud.width, cloud.height), "white").save(buf, format="PNG")
    return buf.getvalue()
