"""The predictor contract: what the evaluation engine asks of anything that answers benchmark entries.

Modelled on scikit-learn's estimators: ``__init__`` stores plain parameters, :meth:`Predictor.fit`
returns ``self`` (a no-op unless a predictor learns something, e.g. a fitted prior read from training
data), :meth:`Predictor.predict` is pure. The engine calls only :meth:`Predictor.answer_jobs`, which every
predictor inherits, so it never probes for optional methods.

A predictor returns raw text, one per entry, in the models' output format; the same parser scores
every predictor, which is what makes the comparison fair.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from petool_utils.benchmark.data import Entry


def parse_crossfit(arg: str, folds: int | None = None) -> int | None:
    """``crossfit`` -> ``folds`` (default 2); ``crossfit:K`` -> K; anything else -> None (a prior path).

    Here, beside the contract, because both the registry (which picks the cross-fitted class for
    ``offline:<name>@crossfit:K``) and the cross-fitted predictors read it."""
    if arg == "crossfit":
        return int(folds) if folds is not None else 2
    if arg.startswith("crossfit:"):
        k = arg.split(":", 1)[1]
        if not k.isdigit() or int(k) < 2:
            raise ValueError(f"bad cross-fitting spec {arg!r}: expected crossfit:K with K >= 2 folds")
        return int(k)
    return None


@dataclass
class Answer:
    """One entry's outcome: ``text`` (the raw response), or ``error`` when no answer could be had
    (a request that failed after all retries); ``info`` rides along into the run store's line
    (``history_dropped``, ``prompt_tokens``, ``attempts``, ``cached``, ``latency_s``...)."""

    text: str | None
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Predictor(ABC):
    """Base class of every predictor (LLM-backed or offline).

    ``name`` identifies it in file names, manifests and reports; an offline method's name starts with
    ``offline-`` so no artifact can mistake it for a model.
    """

    name: str = "predictor"
    chunk_size: int = 64
    """How many entries :meth:`answer_jobs` hands to :meth:`predict` at a time: the unit a killed run can
    lose for a predictor that answers in bulk. Predictors that answer one request at a time (the
    LLM predictor) stream instead."""

    requires_fit: bool = False
    """True for a predictor that cannot answer before :meth:`fit` has seen the benchmark (the cross-fitted
    ranker); the engine then fits it on the whole benchmark it was given."""

    @classmethod
    def from_spec(cls, arg: str, **kwargs: Any) -> "Predictor":
        """``offline:<name>@<arg>``: a predictor that takes an argument (the ranker's prior file or
        ``crossfit:K``) overrides this; the others refuse one."""
        raise ValueError(f"offline predictor {cls.__name__} takes no '@' argument (got @{arg})")

    def describe(self) -> dict[str, Any]:
        """The settings that produced the answers, for the run manifest (never a secret)."""
        return {"name": self.name}

    def fit(self, entries: Sequence[Entry]) -> "Predictor":
        """Learn from training entries (inputs and references of *training* data only); no-op by default."""
        return self

    @abstractmethod
    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        """One raw response per entry, in order. ``setting``: preferred, ratings, chronological or none."""

    def answer_jobs(self, jobs: Sequence[tuple[Entry, str]]) -> Iterator[tuple[int, Answer]]:
        """``(index into jobs, answer)`` for (entry, setting) jobs, as answers become available, in any order.

        The default answers each setting's entries a chunk at a time through :meth:`predict`; the engine
        writes each answer as it arrives, so a kill loses at most the chunk in flight. The LLM predictor
        overrides it to send every request at once and stream the answers back.
        """
        by_setting: dict[str, list[int]] = {}
        for j, (_, setting) in enumerate(jobs):
            by_setting.setdefault(setting, []).append(j)
        step = max(1, self.chunk_size)
        for setting, idx in by_setting.items():
            for start in range(0, len(idx), step):
                part = idx[start : start + step]
                texts = self.predict([jobs[j][0] for j in part], setting)
                if len(texts) != len(part):
                    raise RuntimeError(f"{self.name}: predict returned {len(texts)} responses for {len(part)} entries")
                for j, text in zip(part, texts):
                    yield j, Answer(text)

    def close(self) -> None:
        """Release what the predictor holds (clients, models); the engine calls it once at the end."""
