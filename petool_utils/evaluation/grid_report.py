"""What notebook 07 shows and writes from a :class:`~petool_utils.evaluation.grid.GridResult`: Table 1
(built once, by :func:`table1_of`, for the notebook and the report alike), Figures 5 and 6, and the
report fragments. The formatting itself is :mod:`petool_utils.report.tables`; this module gives it the
numbers and the labels (:attr:`~petool_utils.models.spec.ModelSpec.label`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from petool_utils.evaluation.grid import NOTEBOOK, GridResult
from petool_utils.evaluation.scoring import CI_METHODS
from petool_utils.models.spec import spec_labels
from petool_utils.report import tables as rp
from petool_utils.report.fragments import figure_block, table_block, text_block, write_fragment


@dataclass(frozen=True)
class Table1:
    """Table 1 of one grid: ``frame`` (``rp.table1``: paper rows, then ours, with ``row_class``),
    ``display`` (human column names) and ``intervals`` (our rows with their 95% intervals)."""

    frame: pd.DataFrame
    display: pd.DataFrame
    intervals: pd.DataFrame


def labels_of(result: GridResult) -> dict[str, dict[str, str]]:
    """How the report names every model of the grid (from :class:`~petool_utils.models.spec.ModelSpec`)."""
    return spec_labels([m.spec for b in result.benchmarks for m in b.models])


def table1_of(result: GridResult) -> Table1:
    """Table 1 of the result: the one place it is built (notebook 07 displays it, the fragment writes it)."""
    scores, labels = result.scores(), labels_of(result)
    frame = rp.table1(scores, labels=labels)
    return Table1(frame, rp.table1_display(frame), rp.table1_intervals(scores, labels=labels))


def figures5(result: GridResult) -> list[Any]:
    """Figure 5 for each benchmark that has scored models."""
    figs = []
    for b in result.benchmarks:
        sc = {m.spec: m.scores for m in b.models if m.status == "ok"}
        if sc:
            figs.append(rp.figure5(sc, title=f"With vs. without history: {b.source.label}", labels=labels_of(result)))
    return figs


def figures6(result: GridResult, by_length: dict[str, pd.DataFrame], metric: str = "tool_acc",
             kinds: Sequence[str] = ("history_length_bin", "history_items"), min_n: int = 5) -> list[Any]:
    """Figure 6 for each benchmark with an accuracy-by-length table (``{benchmark key: frame}``):
    by the released ``history_length`` (the paper's axis) and by the items the prompt really holds."""
    figs = []
    what = "Tool" if metric == "tool_acc" else "Param"
    for b in result.benchmarks:
        df = by_length.get(b.source.key)
        if df is None or df.empty:
            continue
        for kind in kinds if "kind" in df.columns else kinds[:1]:
            if "kind" in df.columns and not (df["kind"] == kind).any():
                continue
            fig = rp.figure6(df, metric=metric, kind=kind, min_n=min_n, min_lengths=2, labels=labels_of(result),
                             title=f"{what} Acc by {rp.LENGTH_KINDS[kind]}: {b.source.label} (points with n ≥ {min_n})")
            if fig is not None:  # one length only (every prompt holds 20 items): no panel to draw
                figs.append(fig)
    return figs


def write_evaluation_fragments(result: GridResult, run_dir: str | os.PathLike[str],
                               by_length: dict[str, pd.DataFrame] | None = None,
                               table1: Table1 | None = None) -> list[Path]:
    """Table 1 (with its intervals, and the failed and missing entries), Figure 5 and Figure 6 as
    report sections, placed by notebook 07's number. ``table1``: the one the notebook showed."""
    written = []
    table1 = table1 or table1_of(result)
    t1 = table1.frame
    skipped = [f"{m.spec} on {b.source.label}: {m.status} ({m.reason})" for b in result.benchmarks
               for m in b.models if m.status != "ok"]
    n_note = "; ".join(f"{b.source.label}: {b.n} entries" + (f" (limit {b.limit})" if b.limit else "")
                       for b in result.benchmarks)
    blocks = [text_block("Data: " + "; ".join(result.notes)) if result.notes else None, text_block(
        "Tool Acc and Param Acc in percent. Paper rows: the published Table 1 on the full 1,000-entry test split "
        "(empty where the text does not give the number). petool rows: measured here with the "
        f"'{result.parser}' parser on {n_note or 'no benchmark (none found)'}; each row's 'Evaluated on' names "
        "its data, and rows on the released PEToolBench appear only when it is found. Offline baselines and "
        "petool's ranker use no LLM. Failed requests (only error lines) and missing entries (no line at all) "
        "score 0 and are counted over every setting scored."),
        table_block(table1.display, caption="Table 1: personalized tool-calling accuracy",
                    row_classes=t1["row_class"].tolist())]
    intervals = table1.intervals
    if not intervals.empty:
        blocks.append(table_block(intervals, caption="Our rows with 95% intervals (percent; Call Acc = tool and "
                                  f"parameters both right). 'group': {CI_METHODS['group']}, so entries of one "
                                  "group, which share candidates and answers, are never treated as independent."))
    if skipped:
        blocks.append(text_block("Not in the table: " + "; ".join(skipped)))
    problems = [f"{m.spec}: {p}" for b in result.benchmarks for m in b.models for p in m.problems]
    if problems:
        blocks.append(text_block(f"Prediction lines skipped ({len(problems)}): " + "; ".join(problems[:20])
                                 + (" ..." if len(problems) > 20 else "")))
    written.append(write_fragment(run_dir, NOTEBOOK, "Table 1: accuracy per setting, ours beside the paper",
                                  [b for b in blocks if b is not None], key="table1", part=0))
    fig5 = figures5(result)
    if fig5:
        written.append(write_fragment(run_dir, NOTEBOOK, "Figure 5: with vs. without interaction history",
                                      [figure_block(f) for f in fig5], key="figure5", part=1))
    fig6 = figures6(result, by_length or {})
    if fig6 or any(df is not None and not df.empty for df in (by_length or {}).values()):
        blocks6 = [figure_block(f) for f in fig6] or [text_block(
            "Not drawn: in every setting the entries with enough support (n ≥ 5 per point) share one history length, "
            "so there is no trend to show (more entries, or a benchmark with varied histories, give one).")]
        written.append(write_fragment(run_dir, NOTEBOOK, "Figure 6: accuracy by length of the history", blocks6,
                                      key="figure6", part=2))
    return written
