"""Notebook 07's work: every model on every benchmark found, scored, saved for the report.

The grid is benchmarks (the released PEToolBench when one is found, and the constructed test split of
this run when 05 wrote one) x models (specs) x settings. Predictions go through the evaluation engine
(``petool_utils.evaluation.engine``), scores through ``petool_utils.evaluation.scoring``; this module only orders the work,
keeps going when one model cannot run (reported as skipped, with the reason), and writes
``<run_dir>/metrics.json`` and the report fragments of Table 1 and Figures 5 and 6.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, Literal, Sequence

import pandas as pd
from pydantic import BaseModel, Field

from petool_utils import SETTINGS
from petool_utils.io import atomic_write_json, iter_jsonl, read_json

METRICS_FILE = "metrics.json"


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
    """setting -> SettingScore as a dict (fractions 0..1)"""


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

    def scores(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """``{benchmark label: {spec: {setting: score}}}`` of the models that ran (Table 1's input)."""
        return {f"{b.source.label}, {b.n} entries": {m.spec: m.scores for m in b.models if m.status == "ok"}
                for b in self.benchmarks}

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
    """The released benchmark (``data``, then PETOOL_DATA_DIR, then ``data/``, then ../shared/petoolbench)
    and this run's constructed test split ``<run_dir>/benchmark/test.json``, whichever exist.

    An explicit ``data`` that holds no benchmark is an error (the user asked for it); the fallbacks
    are only looked at.
    """
    from petool_utils.paths import find_benchmark_file, resolve_data_dir, shared_petoolbench_dir

    found: list[BenchmarkSource] = []
    released: Path | None = None
    if data:
        p = resolve_data_dir(data)
        try:
            released = find_benchmark_file(p)
        except FileNotFoundError:
            if not (p.is_dir() and any(p.glob("user_entries_test_[prc].json"))):
                raise
            released = p  # the per-setting layout: load_benchmark merges the three files
    else:
        try:
            released = find_benchmark_file(None)
        except FileNotFoundError:
            shared = shared_petoolbench_dir()
            released = find_benchmark_file(shared) if shared else None
    if released is not None:
        what = "released PEToolBench dev slice" if "dev" in released.name else "released PEToolBench"
        found.append(BenchmarkSource(key="released", label=what, path=str(released)))
    test = Path(run_dir) / "benchmark" / "test.json"
    if test.exists():
        gen = _generator_of(Path(run_dir))
        label = f"constructed test split (generator: {gen})" if gen else "constructed test split (this run)"
        found.append(BenchmarkSource(key="constructed", label=label, path=str(test)))
    return found


def benchmarks_table(sources: Sequence[BenchmarkSource]) -> pd.DataFrame:
    return pd.DataFrame([s.model_dump() for s in sources], columns=["key", "label", "path"])


# ----------------------------------------------------------------------------- running

def read_responses(path: str | os.PathLike[str]) -> dict[Any, str]:
    """``{entry_id: response}`` from a run-store file; a line with an error and no response counts as
    an empty answer (scored as invalid format, never silently dropped)."""
    out: dict[Any, str] = {}
    for rec in iter_jsonl(path):
        out[rec["entry_id"]] = rec.get("response") or ""
    return out


def _prediction_files(returned: Any, settings: Sequence[str]) -> dict[str, Path]:
    """Map what ``evaluate`` returned to ``{setting: file}`` whichever way it keys its result."""
    files: dict[str, Path] = {}
    items = returned.items() if isinstance(returned, dict) else []
    for k, v in items:
        p = Path(v)
        for cand in (str(k), p.stem):
            if cand in settings and p.suffix == ".jsonl":
                files[cand] = p
                break
    return files


def score_model(entries: Sequence[Any], files: dict[str, Path], parser: str, seed: int, n_boot: int = 1000) -> dict[str, dict[str, Any]]:
    from petool_utils.evaluation.scoring import score_responses

    scores: dict[str, dict[str, Any]] = {}
    for setting, path in files.items():
        got = read_responses(path)
        responses = {e.entry_id: got.get(e.entry_id, "") for e in entries}
        sc = score_responses(entries, responses, parser=parser, n_boot=n_boot, seed=seed)
        scores[setting] = sc.model_dump() if hasattr(sc, "model_dump") else dict(sc)
    return scores


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
    from petool_utils.benchmark.data import load_benchmark
    from petool_utils.report.tables import model_label

    run_dir = Path(run_dir)
    result = GridResult(parser=parser, seed=seed, settings=list(settings))
    try:
        from petool_utils.evaluation.engine import evaluate
    except ImportError as exc:
        evaluate, missing = None, f"evaluation engine unavailable ({exc})"
    for src in sources:
        entries = load_benchmark(src.path, limit=limit)
        brun = BenchmarkRun(source=src, n=len(entries), limit=limit)
        out_dir = run_dir / "predictions" / src.key
        for spec in models:
            mr = ModelRun(spec=spec, label=model_label(spec), status="ok")
            if evaluate is None:
                mr.status, mr.reason = "skipped", missing
                brun.models.append(mr)
                continue
            try:
                extra = {"data_path": src.path} if "data_path" in inspect.signature(evaluate).parameters else {}
                returned = evaluate(spec, entries, list(settings), out_dir, concurrency=concurrency, limit=None,
                                    gen_opts=gen_opts, cache_path=run_dir / "cache" / "responses.sqlite",
                                    progress=True, **extra)
                files = _prediction_files(returned, settings)
                mr.predictions = {s: os.path.relpath(p, run_dir) for s, p in files.items()}
                mr.scores = score_model(entries, files, parser, seed, n_boot=n_boot)
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
    p = Path(run_dir) / METRICS_FILE
    if not p.exists():
        raise FileNotFoundError(f"{p} not found: run notebook 07_evaluation first")
    return GridResult.model_validate(read_json(p))


# ----------------------------------------------------------------------------- by history length

def by_history_length(result: GridResult, run_dir: str | os.PathLike[str], benchmark_key: str) -> pd.DataFrame:
    """Accuracy by history length for every model and setting of one benchmark (Figure 6's input)."""
    brun = next((b for b in result.benchmarks if b.source.key == benchmark_key), None)
    if brun is None or not any(m.predictions for m in brun.models):
        return pd.DataFrame()
    from petool_utils.benchmark.data import load_benchmark
    from petool_utils.evaluation.scoring import accuracy_by_history_length

    entries = load_benchmark(brun.source.path, limit=brun.limit)
    parts = []
    for m in brun.models:
        for setting, rel in m.predictions.items():
            if setting not in SETTINGS:
                continue
            got = read_responses(Path(run_dir) / rel)
            responses = {e.entry_id: got.get(e.entry_id, "") for e in entries}
            df = accuracy_by_history_length(entries, responses, setting, parser=result.parser)
            df = df.reset_index() if df.index.name or isinstance(df.index, pd.MultiIndex) else df.copy()
            df["model"], df["setting"] = m.spec, setting
            parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# ----------------------------------------------------------------------------- figures and fragments

def figures5(result: GridResult) -> list[Any]:
    """Figure 5 for each benchmark that has scored models."""
    from petool_utils.report import tables as rp

    figs = []
    for b in result.benchmarks:
        sc = {m.spec: m.scores for m in b.models if m.status == "ok"}
        if sc:
            figs.append(rp.figure5(sc, title=f"With vs. without history: {b.source.label}"))
    return figs


def figures6(result: GridResult, by_length: dict[str, pd.DataFrame], metric: str = "tool_acc",
             kinds: Sequence[str] = ("history_length_bin", "history_items"), min_n: int = 5) -> list[Any]:
    """Figure 6 for each benchmark with an accuracy-by-length table (``{benchmark key: frame}``):
    by the released ``history_length`` (the paper's axis) and by the items the prompt really holds."""
    from petool_utils.report import tables as rp

    figs = []
    what = "Tool" if metric == "tool_acc" else "Param"
    for b in result.benchmarks:
        df = by_length.get(b.source.key)
        if df is None or df.empty:
            continue
        for kind in kinds if "kind" in df.columns else kinds[:1]:
            if "kind" in df.columns and not (df["kind"] == kind).any():
                continue
            figs.append(rp.figure6(df, metric=metric, kind=kind, min_n=min_n,
                                   title=f"{what} Acc by {rp.LENGTH_KINDS[kind]}: {b.source.label} "
                                         f"(points with n ≥ {min_n})"))
    return figs


def write_evaluation_fragments(result: GridResult, run_dir: str | os.PathLike[str],
                               by_length: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Table 1 (order 10), Figure 5 (20) and Figure 6 (30) as report fragments of the index."""
    from petool_utils.report import tables as rp
    from petool_utils.report.fragments import figure_block, table_block, text_block, write_fragment

    written = []
    t1 = rp.table1(result.scores())
    skipped = [f"{m.spec} on {b.source.label}: {m.status} ({m.reason})" for b in result.benchmarks
               for m in b.models if m.status != "ok"]
    n_note = "; ".join(f"{b.source.label}: {b.n} entries" + (f" (limit {b.limit})" if b.limit else "")
                       for b in result.benchmarks)
    blocks = [text_block(
        "Tool Acc and Param Acc in percent. Paper rows: the published Table 1 on the full 1,000-entry test split "
        "(empty where the text does not give the number). petool rows: measured here with the "
        f"'{result.parser}' parser on {n_note or 'no benchmark (none found)'}. Offline baselines and petool's "
        "ranker use no LLM."),
        table_block(rp.table1_display(t1), caption="Table 1: personalized tool-calling accuracy",
                    row_classes=t1["row_class"].tolist())]
    if skipped:
        blocks.append(text_block("Not in the table: " + "; ".join(skipped)))
    written.append(write_fragment(run_dir, "07_table1", "Table 1: accuracy per setting, ours beside the paper",
                                  blocks, order=10, notebook="07_evaluation"))
    fig5 = figures5(result)
    if fig5:
        written.append(write_fragment(run_dir, "07_figure5", "Figure 5: with vs. without interaction history",
                                      [figure_block(f) for f in fig5], order=20, notebook="07_evaluation"))
    fig6 = figures6(result, by_length or {})
    if fig6:
        written.append(write_fragment(run_dir, "07_figure6", "Figure 6: accuracy by length of the history",
                                      [figure_block(f) for f in fig6], order=30, notebook="07_evaluation"))
    return written
