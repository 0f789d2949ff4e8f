"""Notebook 10's work: label every wrong prediction with the paper's six error types (Table 2).

It reads only files: ``<run_dir>/metrics.json`` (which benchmarks and models 07 ran, where their
predictions are) and the prediction files themselves, through the one reader
(:func:`petool_utils.evaluation.reader.read_predictions`), so it can be rerun alone (``--only 10``)
and counts failed and missing entries as Table 1 and ``petool score`` do. The labelling is
``petool_utils.evaluation.errors.classify_error``; this module gathers and reports.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import NonNegativeInt

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_benchmark
from petool_utils.evaluation.errors import ERROR_TYPE_MEANINGS, classify_error
from petool_utils.evaluation.grid import GridResult
from petool_utils.evaluation.reader import read_predictions
from petool_utils.io import atomic_write_jsonl
from petool_utils.models.spec import spec_labels
from petool_utils.params import NotebookParameters, ProjectPath
from petool_utils.report import tables as rp
from petool_utils.report.fragments import table_block, text_block, write_fragment

NOTEBOOK = "10_error_analysis"
COLUMNS = ["benchmark", "model", "setting", "entry_id", "answer", "error_type", "query", "reference", "response"]


class ErrorAnalysisParameters(NotebookParameters):
    """Notebook 10's parameters cell, checked."""

    NOTEBOOK = NOTEBOOK
    run_dir: ProjectPath
    report_dir: ProjectPath
    seed: int = 0
    parser: Literal["reference", "robust"] | None = None
    examples_per_type: NonNegativeInt = 3


def collect_errors(result: GridResult, run_dir: str | os.PathLike[str],
                   settings: tuple[str, ...] = SETTINGS) -> pd.DataFrame:
    """One row per (benchmark, model, setting, entry): its error type, or None when the call is right.

    ``answer`` is ``ok``, ``failed`` (the request failed on every try) or ``missing`` (no line); the last
    two have no response and are labelled IF, as they score 0. Only the three personalized settings by
    default: the paper's Table 2 analyses those, and the no-history ablation would count the same
    query a fourth time.
    """
    rows = []
    for b in result.benchmarks:
        models = [m for m in b.models if m.status == "ok" and m.predictions]
        if not models:
            continue
        entries = load_benchmark(b.source.path, limit=b.limit)
        for m in models:
            predictions = read_predictions(Path(run_dir) / rel for rel in m.predictions.values())
            for setting, answers in predictions.settings.items():
                if setting not in settings:
                    continue
                responses, errors = answers.responses(), answers.errors()
                for e in entries:
                    key = e.key
                    answer = "failed" if key in errors else ("missing" if key not in responses else "ok")
                    resp = responses.get(key)
                    shown = {"failed": f"<request failed: {errors.get(key)}>", "missing": "<no response>"}.get(answer, resp)
                    rows.append({"benchmark": b.source.label, "model": m.spec, "setting": setting,
                                 "entry_id": e.entry_id, "answer": answer,
                                 "error_type": classify_error(e, resp, parser=result.parser),
                                 "query": e.query, "reference": e.reference.to_json(), "response": shown})
    return pd.DataFrame(rows, columns=COLUMNS)


def _labels(errors: pd.DataFrame) -> dict[str, dict[str, str]]:
    return spec_labels(list(dict.fromkeys(errors["model"]))) if "model" in errors.columns else {}


def legend() -> pd.DataFrame:
    """The six error types and what each means (the paper's order)."""
    return rp.error_type_legend(ERROR_TYPE_MEANINGS)


def table2(errors: pd.DataFrame) -> pd.DataFrame:
    """Table 2 in the paper's layout: one row per model (named by its spec's label), ``count (share%)``
    per error type."""
    return rp.table2_wide(rp.table2(errors, ERROR_TYPE_MEANINGS), labels=_labels(errors))


def examples(errors: pd.DataFrame, per_type: int = 3, seed: int = 0) -> pd.DataFrame:
    """A seeded few examples of each error type."""
    return rp.error_examples(errors, ERROR_TYPE_MEANINGS, per_type=per_type, seed=seed, labels=_labels(errors))


def write_error_fragment(errors: pd.DataFrame, run_dir: str | os.PathLike[str], per_type: int = 3,
                         seed: int = 0) -> Path | None:
    """Table 2 per benchmark, the legend of the types, and a few examples of each (notebook 10's section)."""
    if errors.empty:
        return write_fragment(run_dir, NOTEBOOK, "Table 2: error types",
                              [text_block("No predictions to analyse: run 07_evaluation first.")], key="table2")
    counts = errors["answer"].value_counts().to_dict() if "answer" in errors.columns else {}
    blocks = [text_block("One label per wrong answer, the first that applies, in this order. Share = count / wrong "
                         "answers over the three personalized settings. Failed requests "
                         f"({counts.get('failed', 0)}) and missing entries ({counts.get('missing', 0)}) have no "
                         "response and count as IF."),
              table_block(legend(), caption="The six error types")]
    for bench, part in errors.groupby("benchmark", sort=False):
        blocks.append(table_block(table2(part), caption=f"Table 2: error types on {bench}"))
        ex = examples(part, per_type=per_type, seed=seed).drop(columns=["benchmark"], errors="ignore")
        if not ex.empty:
            blocks.append(table_block(ex, caption=f"Examples ({per_type} per type, seed {seed}) on {bench}"))
    return write_fragment(run_dir, NOTEBOOK, "Table 2: error types, with examples", blocks, key="table2")


def save_errors(errors: pd.DataFrame, run_dir: str | os.PathLike[str]) -> Path:
    """Every label as ``<run_dir>/errors.jsonl``, for analyses beyond the report's table."""
    records = json.loads(errors.to_json(orient="records", force_ascii=False)) if not errors.empty else []
    return atomic_write_jsonl(Path(run_dir) / "errors.jsonl", records)
