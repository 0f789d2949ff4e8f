"""Group-disjoint cross-fitting: a fair way to give the ranker a prior on the very benchmark it is scored on.

The entries are split into K folds *by functionality group*: an entry's fold is a stable hash of its
``func`` alone (:func:`fold_of`), so a resumed run, a subset or another machine gets the same folds.
Each fold is answered with a prior fitted on the other folds' interaction histories only, so no user
and no functionality group of an entry is in the prior that answers it; what the prior can still
carry across groups (which providers users like, which calls served which requests) is exactly what
a prior fitted on training data carries to unseen groups.

:class:`CrossFitted` is the predictor: ``fit(entries)`` (the whole benchmark, passed explicitly by the
CLI, a notebook or the engine's ``fit_entries=``) builds the K priors; an entry's answer then depends
on the fit and on the entry alone, never on which entries are evaluated with it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from petool_utils.benchmark.data import Entry
from petool_utils.predictors.base import Predictor, parse_crossfit
from petool_utils.predictors.ranker.functionality import EmbeddingTable
from petool_utils.predictors.ranker.predictor import PersonalizedRanker, popularity_predictor
from petool_utils.predictors.ranker.prior import RankerPrior, fit_prior, read_prior

METHODS = ("ranker", "popularity")


def fold_of(entry: Any, folds: int) -> int:
    """The fold of an entry: a stable hash (sha256) of its functionality group, modulo ``folds``.

    An entry without a ``func`` is a group of its own (keyed by its ``entry_id``), as in
    :func:`petool_utils.evaluation.intervals.cluster_ids`.
    """
    func = getattr(entry, "func", None)
    key = f"func:{func}" if func not in (None, "") else f"entry:{entry.entry_id}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % folds


def split_folds(entries: Sequence[Entry], folds: int) -> list[list[Entry]]:
    out: list[list[Entry]] = [[] for _ in range(folds)]
    for e in entries:
        out[fold_of(e, folds)].append(e)
    return out


class CrossFitted(Predictor):
    """One ranker (or popularity baseline) per fold, each with the prior of the other folds.

    ``method``: ``ranker`` (``offline:ranker@crossfit:K``) or ``popularity`` (``offline:popularity``).
    Other keyword arguments go to every fold's :class:`PersonalizedRanker` (they share one embedding
    cache).
    """

    requires_fit = True
    """The engine must call ``fit(<all entries of the benchmark>)`` before any ``predict``."""

    def __init__(self, folds: int = 2, method: str = "ranker", **ranker_kwargs: Any):
        if int(folds) < 2:
            raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}")
        if method not in METHODS:
            raise ValueError(f"unknown cross-fitted method {method!r}; choose from {METHODS}")
        self.folds = int(folds)
        self.method = method
        self.name = f"offline-{method}-crossfit-{self.folds}"
        self._kwargs = dict(ranker_kwargs)
        self._kwargs.pop("name", None)
        self.table: EmbeddingTable | None = self._kwargs.pop("table", None)
        self.priors: list[RankerPrior] = []
        self.members: list[PersonalizedRanker] = []
        self.fold_sizes: list[int] = []

    def _member(self, prior: RankerPrior, k: int) -> PersonalizedRanker:
        kw = dict(self._kwargs, table=self.table, name=f"{self.name}-fold{k}")
        if self.method == "popularity":
            return popularity_predictor(prior=prior, **kw)
        return PersonalizedRanker(prior=prior, **kw)

    def fit(self, entries: Sequence[Entry]) -> "CrossFitted":
        """Fit one prior per fold on the other folds' histories (the entries are the whole benchmark)."""
        parts = split_folds(list(entries), self.folds)
        self.fold_sizes = [len(p) for p in parts]
        self.priors = [fit_prior([e for j, p in enumerate(parts) if j != k for e in p]) for k in range(self.folds)]
        self.members = []
        for k, prior in enumerate(self.priors):
            m = self._member(prior, k)
            self.table = m.table  # the first member makes the shared cache; the others reuse it
            self.members.append(m)
        return self

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "backend": "offline", "method": f"{self.method} (petool, no LLM)",
            "population": f"cross-fitted prior ({self.folds} folds by functionality group; each fold's prior from the "
                          "other folds' interaction histories)",
            "folds": self.folds, "fold_of": "sha256('func:<func>') mod folds", "fold_sizes": self.fold_sizes,
        }
        if self.members:
            m = self.members[0].describe()
            d.update({k: m[k] for k in ("use_history", "embedder", "components", "filler_rules")})
            d["priors"] = [p.summary() for p in self.priors]
        return d

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        if not self.members:
            raise RuntimeError(f"{self.name}: cross-fitting needs fit(<all entries of the benchmark>) before predict; "
                               "the evaluation engine passes them with fit_entries=")
        out: list[str | None] = [None] * len(entries)
        by_fold: dict[int, list[int]] = {}
        for i, e in enumerate(entries):
            by_fold.setdefault(fold_of(e, self.folds), []).append(i)
        for k, idx in by_fold.items():
            texts = self.members[k].predict([entries[i] for i in idx], setting)
            for i, t in zip(idx, texts):
                out[i] = t
        return [t if t is not None else "" for t in out]


class PopularityPredictor(CrossFitted):
    """``offline:popularity``: inside the chosen functionality group, the provider the prior likes most;
    the user's own history is ignored. Cross-fitted (``folds``, default 2) unless a prior is named:
    ``offline:popularity@prior.json``."""

    def __init__(self, folds: int = 2, **ranker_kwargs: Any):
        super().__init__(folds=folds, method="popularity", **ranker_kwargs)

    @classmethod
    def from_spec(cls, arg: str, **kwargs: Any) -> Predictor:
        folds = parse_crossfit(arg, kwargs.pop("folds", None))
        if folds is not None:
            return cls(folds=folds, **kwargs)
        stem = Path(arg).name.removesuffix(".json")
        return popularity_predictor(prior=read_prior(arg), prior_path=arg, name=f"offline-popularity-prior-{stem}", **kwargs)
