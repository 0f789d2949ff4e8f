"""Offline baselines: no model, no network, deterministic. They answer in the models' output format
(one-line ``{"tool_name": ..., "parameters": {...}}``) so the same parser scores them.

* ``random``: a candidate at random, seeded per entry (``seed`` and ``entry_id``), so the choice does not
  depend on the order or the subset of entries evaluated.
* ``retrieval``: the candidate whose description is most similar to the query (TF-IDF fitted per entry,
  or MiniLM); it ignores the history, so it is the same in every setting.
* ``history``: a preference vote. Each history call votes for its tool (``Category.Tool``): +1 in the
  preferred-only setting; +1 liked / -1 disliked in the rating setting; in the chronological setting
  only the more recent half of the history votes (+1 each; the older half weighs 0), because the
  later calls are the ones that show the current preference. On the dev slice this recency cut gave
  Tool Acc 0.545 where linear weights (i+1)/n gave 0.257 and 2**(i-n) gave 0.426. The candidates with
  the highest vote win; ties (including "no vote", as in setting ``none``) go to the most
  query-similar one.

Parameter rule (all three): every required parameter is filled with its documented default (``""``
when it has none); an optional parameter is filled only when its documented default is non-empty
(not ``None``, not ``""``). Values are copied as documented, without type coercion.

Their names start with ``offline-`` so no artifact can mistake them for a model.
"""

from __future__ import annotations

import random
import re
from typing import Any, Sequence

import numpy as np

from petool_utils.benchmark.data import CandidateTool, Entry, HistoryItem, ToolCall, split_api_name
from petool_utils.predictors.base import Predictor
from petool_utils.models.embeddings import get_embedder


def fill_parameters(cand: CandidateTool) -> dict[str, Any]:
    """Parameters from documented defaults: required always, optional when the default is non-empty."""
    params: dict[str, Any] = {}
    for p in cand.required_parameters:
        params[p.name] = "" if p.default is None else p.default
    for p in cand.optional_parameters:
        if p.default is not None and p.default != "":
            params[p.name] = p.default
    return params


def call_for(cand: CandidateTool) -> str:
    """The response text for choosing ``cand``: the one-line call format the prompts ask for."""
    return ToolCall(tool_name=cand.tool_name, parameters=fill_parameters(cand)).to_json()


def tool_key(api_name: str) -> str:
    """``<Cat>.<Tool>.<API>`` -> ``Cat.Tool``: the unit a user prefers (APIs of one tool share it)."""
    try:
        cat, tool, _ = split_api_name(api_name)
    except ValueError:
        return api_name
    return f"{cat}.{tool}"


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def candidate_text(cand: CandidateTool) -> str:
    """What a query is matched against: tool and API names (camelCase and underscores split), description."""
    try:
        _, tool, api = split_api_name(cand.tool_name)
    except ValueError:
        tool, api = cand.tool_name, ""
    names = _CAMEL.sub(" ", f"{tool} {api}").replace("_", " ")
    return f"{names}. {cand.tool_description}"


class _SimilarityMixin:
    """Query-candidate similarity: TF-IDF fitted on one entry's texts (no state), or an Embedder."""

    embedder: str = "tfidf"

    def similarities(self, entries: Sequence[Entry]) -> list[np.ndarray]:

        emb = get_embedder(self.embedder)
        if self.embedder == "tfidf":
            out = []
            for e in entries:
                m = emb.embed([e.query] + [candidate_text(c) for c in e.candidates])
                out.append(m[1:] @ m[0])
            return out
        texts: list[str] = []
        for e in entries:
            texts.append(e.query)
            texts.extend(candidate_text(c) for c in e.candidates)
        m = emb.embed(texts)
        out, i = [], 0
        for e in entries:
            k = len(e.candidates)
            out.append(m[i + 1 : i + 1 + k] @ m[i])
            i += 1 + k
        return out


class RandomPredictor(Predictor):
    """A candidate at random; ``Random(f"{seed}:{entry_id}")`` makes it independent of entry order."""

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.name = "offline-random"

    def describe(self) -> dict[str, Any]:
        return {"backend": "offline", "method": "random", "seed": self.seed}

    def choose(self, entry: Entry, setting: str) -> int:
        return random.Random(f"{self.seed}:{entry.entry_id}").randrange(len(entry.candidates))

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        return [call_for(e.candidates[self.choose(e, setting)]) for e in entries]


class RetrievalPredictor(_SimilarityMixin, Predictor):
    """The candidate most similar to the query; no history (the same answer in every setting)."""

    def __init__(self, embedder: str = "tfidf"):
        self.embedder = embedder
        self.name = f"offline-retrieval-{embedder}"

    def describe(self) -> dict[str, Any]:
        return {"backend": "offline", "method": "retrieval", "embedder": self.embedder}

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        sims = self.similarities(entries)
        return [call_for(e.candidates[int(np.argmax(s))]) for e, s in zip(entries, sims)]


def history_votes(history: Sequence[HistoryItem], setting: str) -> dict[str, float]:
    """Vote per ``Category.Tool`` as the module docstring states, per setting."""
    votes: dict[str, float] = {}
    n = len(history)
    for i, item in enumerate(history):
        if setting == "ratings":
            w = -1.0 if item.rating == 0 else 1.0
        elif setting == "chronological":
            w = 1.0 if i >= n / 2 else 0.0
        else:
            w = 1.0
        key = tool_key(item.tool_call.tool_name)
        votes[key] = votes.get(key, 0.0) + w
    return votes


class HistoryPredictor(_SimilarityMixin, Predictor):
    """Vote from the history for the user's tools; ties broken by query similarity."""

    def __init__(self, embedder: str = "tfidf"):
        self.embedder = embedder
        self.name = f"offline-history-{embedder}"

    def describe(self) -> dict[str, Any]:
        return {"backend": "offline", "method": "history", "embedder": self.embedder,
                "chronological_votes": "recent half"}

    def choose(self, entry: Entry, setting: str, sims: np.ndarray) -> int:
        votes = history_votes(entry.history(setting), setting)
        scores = np.array([votes.get(tool_key(c.tool_name), 0.0) for c in entry.candidates])
        best = np.flatnonzero(np.isclose(scores, scores.max()))
        return int(best[np.argmax(sims[best])])

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        sims = self.similarities(entries)
        return [call_for(e.candidates[self.choose(e, setting, s)]) for e, s in zip(entries, sims)]
