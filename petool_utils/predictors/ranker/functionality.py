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
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

from petool_utils.benchmark.data import CandidateTool
from petool_utils.predictors.ranker.text import api_part, category_part, content_words, norm_api, tool_part, words


CANDIDATE_TEXT_CHARS = 120


def candidate_text(c: CandidateTool) -> str:
    """What is embedded for a candidate: the API name and the start of its description. The provider
    is left out, because it is what the group members differ in and functionality must not see it.
    Descriptions are cut at 120 characters: under group-disjoint 2-fold cross-validation on the dev
    slice, 300, 120 and 60 gave the same held-out answers (the grouping rests on the API name and the
    description's first words; the tails are response samples and markup), and at 120 MiniLM embeds the
    candidates of 12,000 entries about twice as fast as at 300."""
    return f"{api_part(c.tool_name)}: {c.tool_description[:CANDIDATE_TEXT_CHARS]}".strip()


class EmbeddingTable:
    """Embeds each distinct text once per process and serves an entry's vectors.

    The whole benchmark repeats instructions and API descriptions heavily; embedding the de-duplicated
    set in batches is what keeps 3 settings x 1,000 entries inside a minute on two cores. An embedder
    whose vectors are fitted on the texts it is given (TF-IDF) is asked per entry instead, on that
    entry's own texts, so that an answer never depends on which other entries were embedded with it.
    """

    def __init__(self, embedder):
        self.embedder = embedder
        self._rows: dict[str, np.ndarray] = {}
        self._per_entry = getattr(embedder, "name", "") == "tfidf"
        self._entries: dict[tuple[str, ...], np.ndarray] = {}

    def ensure(self, texts: Iterable[str]) -> None:
        """Embed the texts not seen yet, in one sorted batch (a no-op for per-entry embedders)."""
        if self._per_entry:
            return
        todo = sorted({t for t in texts if t not in self._rows})
        if todo:
            mat = self.embedder.embed(todo)
            for t, v in zip(todo, mat):
                self._rows[t] = v

    def entry_vectors(self, query: str, texts: Sequence[str], need_query: bool = True,
                      needed: Sequence[bool] | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        """The query's vector (None when not ``need_query``) and one row per candidate text.

        A per-entry embedder always sees the query (it shapes the fitted vocabulary, hence the rows);
        a batch embedder's rows do not depend on it, so an unneeded query is never embedded (at 12,000
        entries that is 12,000 texts of MiniLM time saved). ``needed`` (batch embedders only) marks the
        rows the caller will read; the others are zeros and cost no MiniLM time.
        """
        if self._per_entry:
            key = (query, *texts)
            if key not in self._entries:
                self._entries[key] = self.embedder.embed([query, *texts])
            m = self._entries[key]
            return m[0], m[1:]
        keep = [True] * len(texts) if needed is None else list(needed)
        self.ensure(([query] if need_query else []) + [t for t, k in zip(texts, keep) if k])
        if not texts:
            return (self._rows[query] if need_query else None), np.zeros((0, 1), dtype=np.float32)
        dim = next((self._rows[t].shape[0] for t, k in zip(texts, keep) if k), 1)
        zero = np.zeros(dim, dtype=np.float32)
        cv = np.stack([self._rows[t] if k else zero for t, k in zip(texts, keep)])
        return (self._rows[query] if need_query else None), cv

    def __len__(self) -> int:
        return len(self._rows) + len(self._entries)


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
    """How the views are mixed: round numbers, chosen by group-disjoint cross-validation on the dev slice
    (``benchmarks/ranker_tables.py``); never searched on the whole slice."""

    semantic: float = 1.0
    lexical: float = 0.5
    parameters: float = 0.2
    memory: float = 1.0
    """A past call made for this very request names the candidate's (category, API)."""
    group_bonus: float = 0.3
    evidence_bonus: float = 0.3
    group_cosine: float = 0.92
    same_name_cosine: float = 0.75
    """Two same-named APIs of one category are one group only from this MiniLM cosine of their name and
    description on (0: always). At 0.75, and at 0.6, both held-out folds gained Tool Acc with and
    without a prior over 0 (docs/ranker.md, design checks); it costs the vectors of the same-named
    candidates, which grouping by name alone did not need."""
    group_schema: float = 0.0
    """Least :func:`schema_similarity` of two candidates of one group (0: the IO schema is not read).
    Off: the benchmark's groups join providers whose parameters differ (``properties/list`` of three
    property sites), and at 0.5 both held-out folds lost (docs/ranker.md, design checks)."""
    member_bonus: float = 0.05
    """Per listed member beyond the second: the same API name under two categories is two groups, and
    the one the benchmark asks about lists its providers side by side (on the dev slice the request's
    group lists strictly more members than a same-named look-alike group in 88 of 116 entries that have
    one, fewer in 14)."""
    within_group_functionality: bool = False
    """Inside the chosen group, when neither the user nor the prior decides: the better functionality
    score first (else straight to provider coverage, then list order)."""


@lru_cache(maxsize=65_536)
def _similarity_pairs(names: tuple[str, ...]) -> tuple[tuple[int, int, bool], ...]:
    """(i, j, same API name) for every pair of candidates (by full API name) that may be one group:
    different providers of one category (two APIs of one provider are different functions, never
    alternatives; the same API under another category is another group). Cached on the candidate list,
    which the three settings of an entry share, so embedding and grouping ask for it once."""
    apis = [norm_api(api_part(n)) for n in names]
    providers = [tool_part(n) for n in names]
    cats = [category_part(n) for n in names]
    return tuple((i, j, apis[i] == apis[j]) for i in range(len(names)) for j in range(i + 1, len(names))
                 if providers[i] != providers[j] and cats[i] == cats[j])


def vectors_needed(cands: Sequence[CandidateTool], same_name_cosine: float = 0.0) -> list[bool]:
    """Which candidates' vectors :func:`functional_groups` reads: those in a pair it cannot decide by
    name. On the dev slice that is under half of the distinct candidate texts, so embedding only these
    halves the ranker's MiniLM time and changes no answer."""
    need = [False] * len(cands)
    for i, j, same_api in _similarity_pairs(tuple(c.tool_name for c in cands)):
        if not same_api or same_name_cosine > 0:
            need[i] = need[j] = True
    return need


def schema_similarity(a: CandidateTool, b: CandidateTool) -> float:
    """Jaccard of two APIs' parameter names (normalised, required and optional alike; 1.0 when neither
    takes any): the IO schema, which two providers' versions of one function share and a same-named
    API of another vendor's SDK rarely does (``q, type, offset, limit`` against ``term, locale, ...``)."""
    na = {norm_api(n) for n in a.parameter_names}
    nb = {norm_api(n) for n in b.parameter_names}
    return len(na & nb) / len(na | nb) if na | nb else 1.0


def functional_groups(cands: Sequence[CandidateTool], cand_vecs: np.ndarray, min_cos: float,
                      min_schema: float = 0.0, same_name_cosine: float = 0.0) -> list[int]:
    """Group label per candidate: same API name after normalisation, or near-identical name+description
    embeddings, from different providers of the same category (the paper's groups are clusters of
    near-identical APIs filtered to one category; the same API under another category is another group).
    Rows of ``cand_vecs`` outside :func:`vectors_needed` are never read. With ``min_schema``, two
    candidates are one group only if their parameter names are that similar (:func:`schema_similarity`).
    With ``same_name_cosine``, two APIs of the same name are one group only if their name+description
    embeddings are that similar: a same-named API of another vendor, described otherwise ("Retrieves
    an order" beside "For valid response try integer IDs..."), is its own group."""
    n = len(cands)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sim = cand_vecs @ cand_vecs.T if n else np.zeros((0, 0))
    for i, j, same_api in _similarity_pairs(tuple(c.tool_name for c in cands)):
        if ((same_api and (same_name_cosine <= 0 or sim[i, j] >= same_name_cosine)) or sim[i, j] >= min_cos) and (min_schema <= 0 or schema_similarity(cands[i], cands[j]) >= min_schema):
            parent[find(i)] = find(j)
    return [find(i) for i in range(n)]
