"""Functionality: which candidates can do what the instruction asks, and which of them are one group.

PEToolBench puts a *functionality group* (the same API offered by different providers) among unrelated
candidates, so choosing is two questions: which functionality does the instruction need (a property of
the text alone), and which provider does this user want (a property of the history,
:mod:`petool_utils.predictors.ranker.preference`). This module answers the first and hands the second a group.

The score of a candidate mixes three views that fail in different ways: MiniLM similarity between the
instruction and the API's name and description (paraphrase-robust, but blind to parameters), word
overlap (exact but brittle), and parameter fit (the instruction usually spells out the values the API
takes, so an API whose parameter names or documented example values appear in the text fits better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from petool_utils.benchmark.data import CandidateTool, HistoryItem
from petool_utils.predictors.ranker.text import api_part, category_part, content_words, norm_api, tool_part, words


CANDIDATE_TEXT_CHARS = 300


def candidate_text(c: CandidateTool) -> str:
    """What is embedded for a candidate: the API name and the start of its description. The provider
    is left out, because it is what the group members differ in and functionality must not see it;
    descriptions are cut at 300 characters (a tenth of them are longer; their tails are response
    samples and markup that cost embedding time and carry no functionality)."""
    return f"{api_part(c.tool_name)}: {c.tool_description[:CANDIDATE_TEXT_CHARS]}".strip()


class EmbeddingTable:
    """Embeds each distinct text once per process and serves rows by text.

    The whole benchmark repeats instructions and API descriptions heavily; embedding the de-duplicated
    set in one batch is what keeps 3 settings x 1,000 entries inside a minute on two cores.
    """

    def __init__(self, embedder):
        self.embedder = embedder
        self._rows: dict[str, np.ndarray] = {}
        # TF-IDF is fitted on the texts of each call: its rows are comparable only within one call,
        # so with it every call re-embeds the union of all texts seen so far
        self._refit = getattr(embedder, "name", "") == "tfidf"

    def ensure(self, texts: Iterable[str]) -> None:
        texts = set(texts)
        if self._refit and not texts <= set(self._rows):
            todo = sorted(texts | set(self._rows))
            self._rows = dict(zip(todo, self.embedder.embed(todo)))
            return
        todo = sorted({t for t in texts if t not in self._rows})
        if todo:
            mat = self.embedder.embed(todo)
            for t, v in zip(todo, mat):
                self._rows[t] = v

    def __getitem__(self, text: str) -> np.ndarray:
        return self._rows[text]

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._rows[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


def lexical_overlap(query: str, c: CandidateTool) -> float:
    """Cosine of binary word sets between the instruction and the API name + description."""
    q = content_words(query)
    t = content_words(f"{api_part(c.tool_name)} {c.tool_description}")
    if not q or not t:
        return 0.0
    return len(q & t) / (len(q) * len(t)) ** 0.5


def _value_in_text(value: object, text_lower: str) -> bool:
    s = str(value).strip().lower()
    return len(s) >= 2 and s not in {"true", "false", "none", "null"} and s in text_lower


def parameter_mentioned(name: str, default: object, query: str) -> bool:
    """A parameter is mentioned when a distinctive word of its name or its documented example value
    appears in the instruction (instructions are written from the API's example call)."""
    qw = set(words(query))
    nw = {w for w in words(name) if len(w) > 2 and w not in {"the", "and"}}
    return bool(nw & qw) or _value_in_text(default, query.lower())


def parameter_fit(query: str, c: CandidateTool) -> float:
    """Share of the API's parameters the instruction speaks about, required ones counted fully,
    optional ones half; an API without parameters fits an instruction that names no values."""
    req = [parameter_mentioned(p.name, p.default, query) for p in c.required_parameters]
    opt = [parameter_mentioned(p.name, p.default, query) for p in c.optional_parameters]
    got = sum(req) + 0.5 * sum(opt)
    return got / (len(req) + 1.0)


@dataclass(frozen=True)
class FunctionalityWeights:
    """How the views are mixed. Chosen as round numbers by design on one half of the dev slice
    (split by functionality group) and confirmed on the other half; never searched on test data."""

    semantic: float = 1.0
    lexical: float = 0.5
    parameters: float = 0.2
    history: float = 0.5
    group_bonus: float = 0.3
    evidence_bonus: float = 0.3
    group_cosine: float = 0.92
    history_cosine: float = 0.85


def history_functionality(
    query_vec: np.ndarray, history: Sequence[HistoryItem], hist_vecs: np.ndarray, cands: Sequence[CandidateTool], min_cos: float
) -> np.ndarray:
    """Evidence from past interactions: when the user once asked (nearly) the same thing, the API they
    called then names the functionality now, whichever provider served it."""
    out = np.zeros(len(cands), dtype=np.float32)
    if not len(history):
        return out
    sims = hist_vecs @ query_vec
    cand_apis = [norm_api(api_part(c.tool_name)) for c in cands]
    for h, s in zip(history, sims):
        if s < min_cos:
            continue
        api = norm_api(api_part(h.tool_call.tool_name))
        for i, a in enumerate(cand_apis):
            if a == api:
                out[i] = max(out[i], float(s))
    return out


def functional_groups(cands: Sequence[CandidateTool], cand_vecs: np.ndarray, min_cos: float) -> list[int]:
    """Group label per candidate: same API name after normalisation, or near-identical name+description
    embeddings, from different providers of the same category (the paper's groups are clusters of
    near-identical APIs filtered to one category; the same API under another category is another group)."""
    n = len(cands)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    apis = [norm_api(api_part(c.tool_name)) for c in cands]
    providers = [tool_part(c.tool_name) for c in cands]
    cats = [category_part(c.tool_name) for c in cands]
    sim = cand_vecs @ cand_vecs.T if n else np.zeros((0, 0))
    for i in range(n):
        for j in range(i + 1, n):
            if providers[i] == providers[j] or cats[i] != cats[j]:
                continue  # two APIs of one provider are different functions, never alternatives
            if apis[i] == apis[j] or sim[i, j] >= min_cos:
                parent[find(i)] = find(j)
    return [find(i) for i in range(n)]
