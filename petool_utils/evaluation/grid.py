"""Notebook 07's work: every model on every benchmark found, scored, saved for the report.

The grid is benchmarks (the released PEToolBench when the one search order of
:mod:`petool_utils.paths` finds it, and the constructed test split of this run when 05 wrote one) x
models (specs) x settings. Predictions go through the evaluation engine
(``petool_utils.evaluation.engine``); they are read back by the one reader
(:func:`petool_utils.evaluation.reader.read_predictions`) and scored by the one scorer
(:func:`petool_utils.evaluation.scoring.score_prediction_set`), so Table 1 counts failed and missing
entries exactly as ``petool score`` does. This module only orders the work, keeps going when one model
cannot run (reported as skipped, with the reason), and writes ``<run_dir>/metrics.json`` and the
report fragments of Table 1 and Figures 5 and 6 (built from the result by :mod:`.grid_report`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Sequence

import pandas as pd
from pydantic import BaseModel, Field, NonNegativeInt, PositiveInt, PrivateAttr

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_benchmark
from petool_utils.benchmark.locate import NO_RELEASED_NOTE, constructed_split, find_released_benchmark, require_input
from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.reader import PredictionSet, read_predictions
from petool_utils.evaluation.scoring import accuracy_by_history_length, score_prediction_set
from petool_utils.io import atomic_write_json, read_json
from petool_utils.models.spec import ModelSpec
from petool_utils.params import NotebookParameters, ProjectPath

METRICS_FILE = "metrics.json"
NOTEBOOK = "07_evaluation"


class ModelsFailedError(RuntimeError):
    """A model of the grid failed: raised once the tables of the others are written."""


class EvaluationParameters(NotebookParameters):
    """Notebook 07's parameters cell, checked (see :class:`~petool_utils.params.NotebookParameters`)."""

    NOTEBOOK = NOTEBOOK
    run_dir: ProjectPath
    data: ProjectPath | None = None
    seed: int = 0
    models: list[str]
    settings: list[Literal["preferred", "ratings", "chronological", "none"]]
    limit: NonNegativeInt | None = None
    concurrency: PositiveInt = 16
    parser: Literal["reference", "robust"] = "reference"
    gen_opts: dict[str, Any] | None = None
    n_boot: NonNegativeInt = 1000
    fail_on_model_errors: bool = True
    """A model that failed (not one skipped for a missing package) fails the notebook once everything is written."""


class BenchmarkSource(BaseModel):
    """A benchmark the grid evaluates; ``key`` names its predictions folder."""

    key: Literal["released", "constructed"]
    label: str
    path: str


class ModelRun(BaseModel):
    spec: str
    label: str
    status: Literal["ok", "skipped", "failed"]
    reason: str | None = None
    predictions: dict[str, str] = Field(default_factory=dict)
    """setting -> prediction file, relative to run_dir"""
    scores: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """setting -> SettingScore as a dict (fractions 0..1; n_failed, n_missing; group-clustered intervals)"""
    problems: list[str] = Field(default_factory=list)
    """prediction lines that were skipped (file: line N: why)"""


class BenchmarkRun(BaseModel):
    source: BenchmarkSource
    n: int
    limit: int | None = None
    models: list[ModelRun] = Field(default_factory=list)


class GridResult(BaseModel):
    """Everything notebook 07 found; written as ``metrics.json`` and read back by notebook 10."""

    parser: str
    seed: int
    settings: list[str]
    benchmarks: list[BenchmarkRun] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    """What the data was and why (e.g. no released PEToolBench found: the constructed split only)."""
    _entries: dict[str, list[Any]] = PrivateAttr(default_factory=dict)
    _predictions: dict[tuple[str, str], Any] = PrivateAttr(default_factory=dict)
    """What :func:`run_grid` loaded and read, kept for Figure 6 so neither is done twice in one run."""

    def scores(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """``{benchmark label: {spec: {setting: score}}}`` of the models that ran (Table 1's input)."""
        return {f"{b.source.label}, {b.n} entries": {m.spec: m.scores for m in b.models if m.status == "ok"}
                for b in self.benchmarks}

    def failures(self) -> list[str]:
        """``"<benchmark>: <spec>: <reason>"`` for every model that failed (not one skipped for a missing import).

        A failed model is a fault of the run (a path, a server, an option), and its row is absent from Table 1,
        so a table can look complete while the model it was run for is not in it."""
        return [f"{b.source.label}: {m.spec}: {m.reason}" for b in self.benchmarks for m in b.models
                if m.status == "failed"]

    def raise_if_failed(self) -> None:
        """Fails the notebook (and so ``petool run``) after everything was written, naming each failed model."""
        failed = self.failures()
        if failed:
            raise ModelsFailedError(f"{len(failed)} model run(s) failed (metrics.json and the report show the rest):\n"
                                    + "\n".join(f"  {f}" for f in failed))

    def status_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"benchmark": b.source.label, "model": m.spec, "label": m.label, "status": m.status,
                              "reason": m.reason or ""} for b in self.benchmarks for m in b.models])


# ----------------------------------------------------------------------------- benchmarks

def _generator_of(run_dir: Path) -> str | None:
    """The generator the construction stages recorded (e.g. the offline stand-in), if they did."""
    for p in (run_dir / "benchmark" / "manifest.json", run_dir / "manifest.json"):
        if p.exists():
            try:
                m = read_json(p)
            except ValueError:
                continue
            for k in ("generator", "llm", "model"):
                if isinstance(m, dict) and isinstance(m.get(k), str):
                    return m[k]
    return None


def find_benchmarks(data: str | os.PathLike[str] | None, run_dir: str | os.PathLike[str]) -> list[BenchmarkSource]:
    """The released benchmark (the one search order, :func:`petool_utils.paths.find_released_benchmark`)
    and this run's constructed test split ``<run_dir>/benchmark/test.json``, whichever exist.

    An explicit ``data`` that holds no benchmark is an error (the user asked for it); the fallbacks
    are only looked at.
    """

    found: list[BenchmarkSource] = []
    released = find_released_benchmark(data)
    if released is not None:
        what = "released PEToolBench dev slice" if "dev" in released.name else "released PEToolBench"
        found.append(BenchmarkSource(key="released", label=what, path=str(released)))
    test = constructed_split(run_dir)
    if test is not None:
        gen = _generator_of(Path(run_dir))
        label = f"constructed test split (generator: {gen})" if gen else "constructed test split (this run)"
        found.append(BenchmarkSource(key="constructed", label=label, path=str(test)))
    return found


def data_notes(sources: Sequence[BenchmarkSource]) -> list[str]:
    """What the notebook says first and the report repeats: which data the rows were measured on."""
    if not sources:
        return ["no benchmark found: no released PEToolBench (`petool download` or PETOOL_DATA_DIR adds it) and "
                "no constructed split (run notebook 05 first)"]
    notes = [f"{s.label}: {s.path}" for s in sources]
    if not any(s.key == "released" for s in sources):
        notes.insert(0, NO_RELEASED_NOTE)
    return notes


def benchmarks_table(sources: Sequence[BenchmarkSource]) -> pd.DataFrame:
    return pd.DataFrame([s.model_dump() for s in sources], columns=["key", "label", "path"])


# ----------------------------------------------------------------------------- running

def _prediction_files(returned: Any, settings: Sequence[str]) -> dict[str, Path]:
    """``{setting: file}`` from what ``evaluate`` returned, in the order of ``settings``."""
    files = {str(k): Path(v) for k, v in dict(returned).items()}
    return {s: files[s] for s in settings if s in files}


def score_model(entries: Sequence[Any], files: dict[str, Path] | PredictionSet, parser: str, seed: int,
                n_boot: int = 1000) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Scores of one model's prediction files (every setting, and "all") and the lines skipped on the way.

    Through the one reader and the one scorer, so failed and missing entries count as in ``petool score``.
    """
    predictions = files if isinstance(files, PredictionSet) else read_predictions(files.values())
    scores = score_prediction_set(entries, predictions, parser=parser, n_boot=n_boot, seed=seed)
    return {s: sc.model_dump(mode="json") for s, sc in scores.items()}, [str(p) for p in predictions.problems]


def _caused_by_import_error(exc: BaseException) -> bool:
    """An ImportError anywhere in the chain (the engine wraps it: "needs X which cannot be imported")
    means the model's code is not installed or not merged: skipped, as opposed to failed."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, ImportError):
            return True
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return False


def run_grid(sources: Sequence[BenchmarkSource], models: Sequence[str], settings: Sequence[str],
             run_dir: str | os.PathLike[str], *, limit: int | None = None, concurrency: int = 16,
             parser: str = "reference", seed: int = 0, gen_opts: dict[str, Any] | None = None,
             n_boot: int = 1000) -> GridResult:
    """Evaluate and score every model on every benchmark; a model that cannot be imported or fails is
    recorded as skipped/failed with its reason and the others go on."""
    run_dir = Path(run_dir)
    result = GridResult(parser=parser, seed=seed, settings=list(settings), notes=data_notes(sources))
    for src in sources:
        # the whole benchmark goes to the engine with the limit: a cross-fitted predictor is fitted on all of it
        benchmark = load_benchmark(src.path)
        entries = benchmark[:limit] if limit is not None else benchmark
        result._entries[src.key] = entries
        brun = BenchmarkRun(source=src, n=len(entries), limit=limit)
        out_dir = run_dir / "predictions" / src.key
        for spec in models:
            parsed = ModelSpec.parse(spec)
            mr = ModelRun(spec=spec, label=parsed.label, status="ok")
            try:
                # generation options are the LLMs' (an offline predictor refuses them): a grid of both, as the
                # small-llm profile's offline:history beside hf:smollm2, gives them to the LLMs only
                returned = evaluate(spec, benchmark, list(settings), out_dir, concurrency=concurrency, limit=limit,
                                    gen_opts=None if parsed.kind == "offline" else gen_opts, cache_path=run_dir / "cache" / "responses.sqlite",
                                    progress=True, data_path=src.path)
                files = _prediction_files(returned, settings)
                mr.predictions = {s: os.path.relpath(p, run_dir) for s, p in files.items()}
                predictions = result._predictions[src.key, spec] = read_predictions(files.values())
                mr.scores, mr.problems = score_model(entries, predictions, parser, seed, n_boot=n_boot)
            except Exception as exc:  # one model's failure must not sink the table of the others
                if _caused_by_import_error(exc):
                    mr.status, mr.reason = "skipped", f"cannot import what {spec} needs ({exc})"
                else:
                    mr.status, mr.reason = "failed", f"{type(exc).__name__}: {exc}"
            brun.models.append(mr)
        result.benchmarks.append(brun)
    return result


def write_metrics(result: GridResult, run_dir: str | os.PathLike[str]) -> Path:
    return atomic_write_json(Path(run_dir) / METRICS_FILE, result.model_dump(mode="json"))


def read_metrics(run_dir: str | os.PathLike[str]) -> GridResult:
    return GridResult.model_validate(read_json(require_input(Path(run_dir) / METRICS_FILE)))


# ----------------------------------------------------------------------------- by history length

def by_history_length(result: GridResult, run_dir: str | os.PathLike[str], benchmark_key: str) -> pd.DataFrame:
    """Accuracy by history length for every model and setting of one benchmark (Figure 6's input)."""
    brun = next((b for b in result.benchmarks if b.source.key == benchmark_key), None)
    if brun is None or not any(m.predictions for m in brun.models):
        return pd.DataFrame()
    entries = result._entries.get(benchmark_key) or load_benchmark(brun.source.path, limit=brun.limit)
    parts = []
    for m in brun.models:
        if m.status != "ok":
            continue
        predictions = (result._predictions.get((benchmark_key, m.spec))
                       or read_predictions(Path(run_dir) / rel for rel in m.predictions.values()))
        for setting, answers in predictions.settings.items():
            if setting not in SETTINGS:
                continue
            df = accuracy_by_history_length(entries, answers.responses(), setting, parser=result.parser)
            df = df.reset_index() if df.index.name or isinstance(df.index, pd.MultiIndex) else df.copy()
            df["model"], df["setting"] = m.spec, setting
            parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
