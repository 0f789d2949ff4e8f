"""``offline:ranker``: a CPU-only personalized tool ranker and parameter filler (petool's own method).

For each entry: score each candidate's functionality against the request, group near-identical
candidates, pick the best-fitting group, let the user's history pick the provider inside it, fill the
parameters, and emit the one-line JSON call the benchmark asks any model for. The shared scorer judges
it like any model output.

Without a prior (``offline:ranker``) an answer depends on nothing but the entry's own prompt for that
setting (request, candidates, history): one user asking one question. With a fitted prior
(``offline:ranker@prior.json``, :mod:`.prior`) the ranker also knows what *training* users' histories
say: which providers they like (it decides when the user's own history is silent) and which calls
served which requests (functionality and parameters). Either way an entry's answer never depends on
which other entries are evaluated with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from petool_utils.benchmark.data import CandidateTool, Entry
from petool_utils.predictors.base import Answer, Predictor, parse_crossfit
from petool_utils.predictors.ranker.conventions import CallBook, PastCall, api_key
from petool_utils.predictors.ranker.functionality import (
    EmbeddingTable,
    FunctionalityWeights,
    candidate_text,
    functional_groups,
    lexical_overlap,
    parameter_fit,
    vectors_needed,
)
from petool_utils.predictors.ranker.nonfunctional import nonfunctional_score
from petool_utils.predictors.ranker.parameters import DEFAULT_RULES, FillerRules, fill_parameters
from petool_utils.predictors.ranker.preference import (
    PreferenceWeights,
    group_preference,
    preference_scores,
    provider_evidence,
)
from petool_utils.predictors.ranker.prior import RankerPrior, fit_prior, read_prior
from petool_utils.predictors.ranker.text import category_part, tool_part
from petool_utils.models.embeddings import get_embedder

COMPONENTS = ("semantic", "lexical", "parameter_fit", "group", "preference", "coverage", "parameters",
              "nonfunctional", "population", "request_memory", "population_calls")
"""Switchable parts, for ablations. The last three need a prior: ``population`` (provider votes),
``request_memory`` (a training user's call for the same request names the API), ``population_calls``
(training users' (instruction, call) pairs for the parameter filler)."""

DEFAULT_COMPONENTS = tuple(c for c in COMPONENTS if c not in ("semantic", "nonfunctional"))
"""On by default. ``semantic`` (MiniLM cosine between the request and the API's name and description in
the functionality score) is off: under group-disjoint 2-fold cross-validation on the dev slice neither
held-out fold gained from it, with or without a prior (docs/ranker.md, design checks). The embeddings
still decide which candidates are one functionality group (near-identical name and description).
``nonfunctional`` (:mod:`.nonfunctional`: inside the group, when the user's evidence is silent, the
member whose provider resembles the history's) is off for the same reason: no held-out fold gained."""

ROUND = 4
"""Scores are compared at 4 decimals: embeddings of one text can differ in the last bits with the batch
they were computed in, and that must never change an answer."""


@dataclass(frozen=True)
class _SettingFree:
    """An entry's functionality before the setting's request memory: ``score`` per candidate (not yet
    rounded) and the group label per candidate."""

    score: np.ndarray
    groups: list[int]


@dataclass(frozen=True)
class Decision:
    """Why a tool was chosen: kept for error analysis and ablation tables."""

    index: int
    group: list[int]
    functionality: list[float]
    preference: list[float]


@dataclass(eq=False)
class PersonalizedRanker(Predictor):
    """petool's ranker as a :class:`~petool_utils.predictors.base.Predictor`: plain configuration; the
    only state is the prior (given, read from ``prior_path``, or learned by :meth:`fit`) and an
    embedding cache (a pure function of text).

    ``use_history=False`` ignores the user's own history (the no-history ablation, and the popularity
    baseline); ``components`` keeps only the named parts of :data:`COMPONENTS`; ``rules`` switches the
    parameter filler's rules.
    """

    embedder: str | object = "minilm"
    prior: RankerPrior | None = None
    prior_path: str | None = None
    use_history: bool = True
    components: Iterable[str] = DEFAULT_COMPONENTS
    fweights: FunctionalityWeights = field(default_factory=FunctionalityWeights)
    pweights: PreferenceWeights = field(default_factory=PreferenceWeights)
    rules: FillerRules = DEFAULT_RULES
    pooled_votes: bool = False
    """Use the prior's votes summed over the three settings in every setting (off: each setting's own)."""
    progress: bool = False
    table: EmbeddingTable | None = field(default=None, repr=False)
    name: str = "offline-ranker"
    chunk_size: int = 4096
    """Entries per step of :meth:`answer_jobs` (each with every setting asked of it): the new candidate
    texts of a chunk are embedded in one length-sorted batch. At 12,000 entries on 2 cores, 1,024-entry
    chunks took 56 s and 4,096-entry chunks 50 s (MiniLM embeds a few large sorted batches faster than
    many small ones); a killed run loses at most one chunk, about 15 s of work."""

    def __post_init__(self) -> None:
        self.components = frozenset(self.components)
        unknown = self.components - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown ranker components {sorted(unknown)}; choose from {COMPONENTS}")
        if isinstance(self.embedder, str):

            self.embedder = get_embedder(self.embedder)
        if self.prior is None and self.prior_path is not None:
            self.prior = read_prior(self.prior_path)
        # variants of one ranker (ablations, folds) may share one table: embeddings are pure functions of text
        self.table = self.table if self.table is not None else EmbeddingTable(self.embedder)
        self._use_prior()

    # -- the prior --------------------------------------------------------------------------------
    def _use_prior(self) -> None:
        p = self.prior
        self._votes = {s: p.net_votes(s) for s in p.votes} if p is not None else {}
        if self.pooled_votes and self._votes:
            total: dict[str, int] = {}
            for votes in self._votes.values():
                for provider, v in votes.items():
                    total[provider] = total.get(provider, 0) + v
            self._votes = {s: dict(total) for s in self._votes}
        calls = p.calls if p is not None else []
        self._book = CallBook(PastCall(c.instruction, c.tool_name, c.parameters, c.count, False) for c in calls)

    def fit(self, entries: Sequence[Entry]) -> "PersonalizedRanker":
        """Learn the prior from these *training* entries' interaction histories (never their references)."""
        self.prior = fit_prior(entries)
        self.prior_path = None
        self._use_prior()
        return self

    @classmethod
    def from_spec(cls, arg: str, **kwargs: Any) -> Predictor:
        """``offline:ranker@<prior.json>``: the path of a prior written by ``petool ranker fit``.
        ``offline:ranker@crossfit[:K]`` is a :class:`~.crossfit.CrossFitted`, which the registry
        (:data:`petool_utils.predictors.registry.CROSSFITTED`) builds: this module cannot import it,
        since it is made of PersonalizedRankers."""
        if parse_crossfit(arg) is not None:
            raise ValueError(f"offline:ranker@{arg} is cross-fitted: build it with "
                             "petool_utils.predictors.registry.make_predictor")
        stem = Path(arg).name.removesuffix(".json")
        return cls(prior_path=arg, name=f"offline-ranker-prior-{stem}", **kwargs)

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "backend": "offline", "method": "ranker (petool's own method, no LLM)",
            "population": "fitted prior" if self.prior is not None else "none (one prompt at a time)",
            "use_history": self.use_history, "embedder": getattr(self.embedder, "name", str(self.embedder)),
            "components": sorted(self.components), "filler_rules": self.rules.switches(),
        }
        if self.prior is not None:
            d["prior"] = {"path": self.prior_path, **self.prior.summary()}
        return d

    # -- public API -------------------------------------------------------------------------------
    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        """One-line JSON call per entry, in order."""
        return [json.dumps(call, ensure_ascii=False) for call in self.calls(entries, setting)]

    def calls(self, entries: Sequence[Entry], setting: str) -> list[dict]:
        self._prepare(entries)
        it: Iterable[Entry] = entries
        if self.progress:
            from tqdm.auto import tqdm

            it = tqdm(entries, desc=f"ranker/{setting}", unit="entry")
        return [self._call(e, setting) for e in it]

    def answer_jobs(self, jobs: Sequence[tuple[Entry, str]]) -> Iterator[tuple[int, Answer]]:
        """Entry by entry, every setting the jobs ask of it together: what does not depend on the setting
        (candidate vectors, lexical and parameter fit, the functionality groups) is computed once per
        entry instead of once per setting. The answers equal :meth:`predict`'s (a test holds them), and a
        killed run loses at most the ``chunk_size`` entries in flight."""
        of_entry: dict[int, list[int]] = {}
        for j, (e, _) in enumerate(jobs):
            of_entry.setdefault(id(e), []).append(j)
        groups = list(of_entry.values())
        step = max(1, self.chunk_size)
        for start in range(0, len(groups), step):
            part = groups[start : start + step]
            self._prepare([jobs[js[0]][0] for js in part])
            for js in part:
                e = jobs[js[0]][0]
                base = self._setting_free(e) if e.candidates else None
                for j in js:
                    yield j, Answer(json.dumps(self._call(e, jobs[j][1], base), ensure_ascii=False))

    def _call(self, e: Entry, setting: str, base: "_SettingFree | None" = None) -> dict:
        """The call for one entry in one setting (the user's history is indexed once for both uses)."""
        if not e.candidates:  # nothing to choose from: an empty call, scored as wrong, never a crash
            return {"tool_name": "", "parameters": {}}
        hist = self._history(e, setting)
        book = CallBook.from_history(hist)
        d = self.decide(e, setting, base=base, book=book)
        cand = e.candidates[d.index]
        population = self._book if "population_calls" in self.components else None
        params = fill_parameters(e.query, cand, book, use_history="parameters" in self.components,
                                 population=population, rules=self.rules)
        return {"tool_name": cand.tool_name, "parameters": params}

    # -- internals --------------------------------------------------------------------------------
    def _history(self, e: Entry, setting: str):
        return e.history(setting) if self.use_history else []

    def _prepare(self, entries: Sequence[Entry]) -> None:
        texts = set()
        semantic = "semantic" in self.components
        for e in entries:
            if semantic:  # the query's vector serves the semantic score only
                texts.add(e.query)
            needed = [True] * len(e.candidates) if semantic else vectors_needed(e.candidates, self.fweights.same_name_cosine)
            texts.update(candidate_text(c) for c, k in zip(e.candidates, needed) if k)
        self.table.ensure(texts)

    def _popularity(self, setting: str) -> dict[str, int]:
        return self._votes.get(setting, {}) if "population" in self.components else {}

    def memory_apis(self, e: Entry, setting: str, book: CallBook | None = None) -> set[tuple[str, str]]:
        """(category, API) of past calls made for this very request: the user's own (``book``: the user's
        history in this setting, indexed; built here when not given), and with a prior the training
        users'. They name the functionality whatever provider served it."""
        if "request_memory" not in self.components:
            return set()
        own = book if book is not None else CallBook.from_history(self._history(e, setting))
        hits = list(own.same_request(e.query)) + self._book.same_request(e.query)
        return {(category_part(c.tool_name), api_key(c.tool_name)) for c in hits}

    def _setting_free(self, e: Entry) -> "_SettingFree":
        """The functionality parts that do not depend on the setting: the score before request memory
        (semantic, lexical, parameter fit) and the groups."""
        w, on = self.fweights, self.components
        cands: list[CandidateTool] = e.candidates
        semantic = "semantic" in on
        q, cv = self.table.entry_vectors(e.query, [candidate_text(c) for c in cands], need_query=semantic,
                                         needed=None if semantic else vectors_needed(cands, w.same_name_cosine))
        score = np.zeros(len(cands), dtype=np.float64)
        if "semantic" in on:
            score += w.semantic * (cv @ q)
        if "lexical" in on:
            score += w.lexical * np.array([lexical_overlap(e.query, c) for c in cands])
        if "parameter_fit" in on:
            score += w.parameters * np.array([parameter_fit(e.query, c) for c in cands])
        return _SettingFree(score, functional_groups(cands, cv, w.group_cosine, w.group_schema, w.same_name_cosine))

    def functionality(self, e: Entry, setting: str, base: "_SettingFree | None" = None,
                      book: CallBook | None = None) -> tuple[np.ndarray, list[int]]:
        """Functionality score per candidate and the group label per candidate (``base``: this entry's
        :meth:`_setting_free` part, when the caller already has it)."""
        base = base if base is not None else self._setting_free(e)
        score = base.score
        mem = self.memory_apis(e, setting, book)
        if mem:
            score = score + self.fweights.memory * np.array(
                [(category_part(c.tool_name), api_key(c.tool_name)) in mem for c in e.candidates])
        return np.round(score, ROUND), list(base.groups)

    def decide(self, e: Entry, setting: str, base: "_SettingFree | None" = None,
               book: CallBook | None = None) -> Decision:
        fscore, groups = self.functionality(e, setting, base, book)
        on = self.components
        hist = self._history(e, setting)
        providers = [tool_part(c.tool_name) for c in e.candidates]
        ev = provider_evidence(hist, setting, self.pweights) if "preference" in on and hist else None
        pref_all = preference_scores(providers, ev) if ev is not None else [0.0] * len(providers)
        seen = [ev is not None and p in ev.used for p in providers]
        popularity = self._popularity(setting)
        labels = sorted(set(groups))
        members_of = {g: [i for i in range(len(groups)) if groups[i] == g] for g in labels}
        w = self.fweights
        bonus = w.group_bonus if "group" in on else 0.0

        def group_score(g: int) -> float:
            m = members_of[g]
            s = max(fscore[i] for i in m) + (bonus + w.member_bonus * (len(m) - 2) if len(m) > 1 else 0.0)
            # a group where the user has already liked or rejected a provider is a group this user
            # has an opinion on: the history says which of several look-alike groups is theirs
            if len(m) > 1 and any(seen[i] for i in m):
                s += w.evidence_bonus
            return round(s, ROUND)

        def group_popularity(g: int) -> int:
            return max(popularity.get(providers[i], 0) for i in members_of[g])

        # equal scores (the same API offered in two categories) go to the group holding the provider
        # the prior likes best, then to the first listed
        best = max(labels, key=lambda g: (group_score(g), group_popularity(g), -members_of[g][0]))
        members = members_of[best]
        pref = (group_preference([providers[i] for i in members], ev, setting, self.pweights) if ev is not None
                else [0.0] * len(members))
        # inside the group: the user's own evidence first, then the prior's, then functionality,
        # then provider coverage (a provider offering several of the listed APIs is a fuller service);
        # list order is the last resort, so the decision is deterministic
        popular = [popularity.get(providers[i], 0) for i in members]
        cover = [providers.count(providers[i]) if "coverage" in on else 0 for i in members]
        tie = [-fscore[i] if self.fweights.within_group_functionality else 0.0 for i in members]
        nonfunc = ([nonfunctional_score(e.candidates[i], hist) for i in members] if "nonfunctional" in on
                   else [0.0] * len(members))
        order = sorted(range(len(members)),
                       key=lambda k: (-pref[k], -popular[k], tie[k], -nonfunc[k], -cover[k], members[k]))
        return Decision(index=members[order[0]], group=members, functionality=[float(x) for x in fscore], preference=pref)


def popularity_predictor(prior: RankerPrior | None = None, **kwargs: Any) -> PersonalizedRanker:
    """``offline:popularity``: the ranker with the user's own history switched off, so inside the chosen
    group the prior's most-liked provider wins; the shortcut the popularity audit measures."""
    kwargs.setdefault("name", "offline-popularity")
    return PersonalizedRanker(prior=prior, use_history=False, **kwargs)
