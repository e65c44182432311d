"""Learned tag suggestions: which tags analysts would give an item, from the ones they gave.

A one-vs-rest logistic regression per tag (scikit-learn) over TF-IDF of the analyser's
content words and indicators (:meth:`kizashi.text.analyse.Analysis.content_words`), so
Japanese is read word by word as everywhere else. Only tags with enough examples are
learned. The model is bytes (pickle) the caller stores; it is trained from the caller's
data only, never loaded from elsewhere.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kizashi.text.analyse import Analysis

MIN_EXAMPLES = 5
MAX_FEATURES = 2**18


def tokens(a: Analysis) -> list[str]:
    """What the model reads of an analysed text: content words and indicators."""
    return [*a.content_words(), *(f"ioc:{v}" for v, _, _ in a.indicators)]


def _identity(doc: Sequence[str]) -> Sequence[str]:
    return doc


@dataclass
class TagModel:
    tags: list[str]
    vectorizer: Any
    classifier: Any
    examples: int

    @classmethod
    def train(
        cls, docs: Sequence[tuple[Sequence[str], set[str]]], *, min_examples: int = MIN_EXAMPLES
    ) -> TagModel | None:
        """Learn from (tokens, tags) pairs; None when no tag has ``min_examples`` items and
        at least as many without it."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        counts = Counter(t for _, tags in docs for t in tags)
        n = len(docs)
        learnable = sorted(
            t for t, c in counts.items() if c >= min_examples and n - c >= min_examples
        )
        if not learnable:
            return None
        wanted = set(learnable)
        vectorizer = TfidfVectorizer(
            analyzer=_identity, sublinear_tf=True, min_df=2, max_features=MAX_FEATURES
        )
        x = vectorizer.fit_transform([list(toks) for toks, _ in docs])
        binarizer = MultiLabelBinarizer(classes=learnable)
        y = binarizer.fit_transform([sorted(tags & wanted) for _, tags in docs])
        classifier = OneVsRestClassifier(
            LogisticRegression(max_iter=300, C=4.0, class_weight="balanced")
        )
        classifier.fit(x, y)
        return cls(learnable, vectorizer, classifier, n)

    def scores(self, toks: Sequence[str]) -> dict[str, float]:
        x = self.vectorizer.transform([list(toks)])
        probs = self.classifier.predict_proba(x)[0]
        return {t: float(p) for t, p in zip(self.tags, probs, strict=True)}

    def dumps(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data: bytes) -> TagModel:
        model = pickle.loads(data)  # noqa: S301 - only bytes this module wrote, from the store
        if not isinstance(model, TagModel):
            raise TypeError("not a tag model")
        return model
