"""Predictors: one interface, raw text out, every output scored by the same parser.

A predictor has a ``name`` and ``predict(entries, setting) -> list[str]`` (one raw response per entry,
in order). ``setting`` is one of ``preferred``, ``ratings``, ``chronological`` or ``none`` (no history).
The evaluation engine wraps predictors with the run store (resume, crash-safe lines) and the cache.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from petool_utils.benchmark.data import Entry


@runtime_checkable
class Predictor(Protocol):
    name: str

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]: ...
