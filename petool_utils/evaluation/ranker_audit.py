"""The popularity audit: how much of PEToolBench a model can solve without reading the user at all.

PEToolBench's users draw their histories from few providers, and in most functionality groups every
entry has the same preferred provider, so "the provider most users like" is a strong shortcut. This
module measures it, for any model's predictions:

* **popularity's pick** of an entry in a setting: among the providers of the entry's functionality
  group (the reference's group, ``apis_same_func``, restricted to the listed candidates), the one
  with the most net votes (likes minus dislikes) in a prior fitted on *other* groups' histories
  (cross-fitted by :func:`~.crossfit.fold_of`); ties go to the first listed.
* **the personalization-critical subset**: the (entry, setting) pairs where the user's own history,
  read by the ranker's preference rules (:func:`~.preference.group_preference`), ranks some provider
  of the group strictly above popularity's pick. There, following popularity is wrong *according to
  the user*; a model that reads the user must beat popularity there. Entries whose history is silent
  about the group, or agrees with popularity, are in the complement. ``none`` has no history, so no
  entry is critical in it.
* **popularity solves** an entry when its pick is the reference provider: the share of a setting the
  shortcut alone gets right with a perfect functionality choice.
* **the request was seen** when the entry's query, as a request (:func:`~.conventions.norm_request`),
  is the instruction of some history item in the prior (the other folds' histories) or in the user's
  own history of the setting: the second shortcut of this benchmark, whose instructions recur across
  users, so that a past call for the same request gives the arguments.

:func:`subset_accuracy` reports any model's Tool / Param / Call Acc on the subset and its complement
from run-store files, so notebook 11 can audit every model notebook 07 evaluated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry
from petool_utils.evaluation.scoring import judge_responses
from petool_utils.predictors.ranker.conventions import norm_request
from petool_utils.predictors.ranker.crossfit import fold_of, split_folds
from petool_utils.predictors.ranker.preference import PreferenceWeights, group_preference, provider_evidence
from petool_utils.predictors.ranker.prior import RankerPrior, fit_prior
from petool_utils.predictors.ranker.text import tool_part
from petool_utils.evaluation.reader import read_predictions
from petool_utils.evaluation.ranker_ablation import accuracy_rows
from petool_utils.evaluation.grid import read_metrics
from petool_utils.evaluation.reader import setting_files, setting_from_name
from petool_utils.benchmark.data import load_benchmark

SUBSETS = ("critical", "rest", "all")


def group_members(entry: Entry) -> list[str]:
    """The listed candidates of the reference's functionality group, in list order."""
    same = set(entry.same_func_names) | {entry.reference.tool_name}
    return [n for n in entry.candidate_names if n in same]


def popularity_pick(entry: Entry, setting: str, prior: RankerPrior) -> str | None:
    """The group member whose provider the prior likes most in this setting (first listed on ties)."""
    members = group_members(entry)
    if not members:
        return None
    votes = prior.net_votes(setting)
    return max(enumerate(members), key=lambda im: (votes.get(tool_part(im[1]), 0), -im[0]))[1]


def history_overrules(entry: Entry, setting: str, pick: str | None, w: PreferenceWeights = PreferenceWeights()) -> bool:
    """Whether the user's own history ranks some member of the group strictly above ``pick``."""
    hist = entry.history(setting) if setting in SETTINGS else []
    members = group_members(entry)
    if not hist or pick is None or len(members) < 2:
        return False
    ev = provider_evidence(hist, setting, w)
    prefs = group_preference([tool_part(m) for m in members], ev, setting, w)
    mine = prefs[members.index(pick)]
    return max(prefs) > mine


def audit_entries(entries: Sequence[Entry], folds: int = 2, settings: Sequence[str] = ALL_SETTINGS) -> pd.DataFrame:
    """One row per (entry, setting): ``entry_id, func, fold, setting, popularity_pick, popularity_solves,
    critical``, popularity from a prior fitted on the other folds (cross-fitted, as ``offline:popularity``)."""
    parts = split_folds(list(entries), folds)
    priors = [fit_prior([e for j, p in enumerate(parts) if j != k for e in p]) for k in range(folds)]
    seen = [{norm_request(c.instruction) for c in prior.calls} for prior in priors]
    rows = []
    for e in entries:
        k = fold_of(e, folds)
        q = norm_request(e.query)
        for s in settings:
            pick = popularity_pick(e, s, priors[k]) if s in SETTINGS else None
            own = any(norm_request(h.instruction) == q for h in e.history(s))
            rows.append({"entry_id": e.entry_id, "func": e.func, "fold": k, "setting": s, "popularity_pick": pick,
                         "popularity_solves": pick == e.reference.tool_name,
                         "critical": history_overrules(e, s, pick),
                         "request_seen": own or q in seen[k]})
    return pd.DataFrame(rows)


def subset_masks(entries: Sequence[Entry], audit: pd.DataFrame, column: str = "critical") -> dict[str, dict[str, np.ndarray]]:
    """``{subset: {setting: bool mask aligned with entries}}``: the entries where ``column`` is true
    (``critical``), the others (``rest``) and ``all``."""
    index = {str(e.entry_id): i for i, e in enumerate(entries)}
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in SUBSETS}
    for s, part in audit.groupby("setting", sort=False):
        crit = np.zeros(len(entries), dtype=bool)
        for eid, c in zip(part["entry_id"], part[column]):
            if str(eid) in index and c:
                crit[index[str(eid)]] = True
        out["critical"][s] = crit
        out["rest"][s] = ~crit
        out["all"][s] = np.ones(len(entries), dtype=bool)
    return out


def audit_summary(audit: pd.DataFrame) -> pd.DataFrame:
    """Per setting: entries, the critical subset's size and share, and the share popularity alone solves."""
    rows = []
    for s in [s for s in ALL_SETTINGS if s in set(audit["setting"])]:
        part = audit[audit["setting"] == s]
        rows.append({"setting": s, "n": len(part), "critical": int(part["critical"].sum()),
                     "critical_share": float(part["critical"].mean()),
                     "popularity_solves": float(part["popularity_solves"].mean()) if s in SETTINGS else float("nan"),
                     "request_seen_share": float(part["request_seen"].mean())})
    return pd.DataFrame(rows)


def read_responses(files: Mapping[str, str | os.PathLike[str]]) -> dict[str, dict[str, str | None]]:
    """``{setting: {str(entry_id): response}}`` from one model's run-store files (the one reader)."""

    return read_predictions(files.values()).responses()


def subset_accuracy(entries: Sequence[Entry], audit: pd.DataFrame,
                    models: Mapping[str, Mapping[str, str | os.PathLike[str]] | Mapping[str, Mapping[Any, str | None]]],
                    n_boot: int = 1000, seed: int = 0, column: str = "critical") -> pd.DataFrame:
    """Every model's Tool / Param / Call Acc on the critical subset, its complement and all entries
    (``column="request_seen"``: on the entries whose request was made before, see :func:`audit_entries`).

    ``models``: ``{label: {setting: run-store file}}`` or ``{label: {setting: {entry_id: response}}}``.
    Rows: ``model, subset, setting, n, n_groups, tool_acc, param_acc, call_acc`` and their 95%
    group-clustered intervals; per setting, and ``pooled (3 settings)`` over every (entry, setting)
    pair of the subset.
    """

    masks = subset_masks(entries, audit, column)
    rows = []
    for label, by_setting in models.items():
        if by_setting and all(isinstance(v, (str, os.PathLike)) for v in by_setting.values()):
            responses: Mapping[str, Mapping[Any, str | None]] = read_responses(by_setting)  # type: ignore[arg-type]
        else:
            responses = by_setting  # type: ignore[assignment]
        judged = {s: judge_responses(entries, responses[s]) for s in ALL_SETTINGS if s in responses and s in masks["all"]}
        for subset in SUBSETS:
            for r in accuracy_rows(entries, judged, n_boot=n_boot, seed=seed, mask={s: masks[subset][s] for s in judged}):
                rows.append({"model": label, "subset": subset, **r})
    return pd.DataFrame(rows)


def models_from_metrics(run_dir: str | os.PathLike[str], benchmark_key: str = "released") -> tuple[str | None, dict[str, dict[str, Path]]]:
    """Notebook 07's predictions: ``(benchmark path, {spec: {setting: file}})`` for one benchmark of
    ``<run_dir>/metrics.json`` (models that ran); ``(None, {})`` when 07 has not run or lacks it."""

    try:
        result = read_metrics(run_dir)
    except FileNotFoundError:
        return None, {}
    for b in result.benchmarks:
        if b.source.key == benchmark_key:
            return b.source.path, {m.spec: {s: Path(run_dir) / rel for s, rel in m.predictions.items()}
                                   for m in b.models if m.status == "ok" and m.predictions}
    return None, {}


def models_from_dir(pred_root: str | os.PathLike[str]) -> dict[str, dict[str, Path]]:
    """``{model folder: {setting: file}}`` of a run-store root (``DIR/<model folder>/<setting>.jsonl``)."""

    out: dict[str, dict[str, Path]] = {}
    root = Path(pred_root)
    for d in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        files = {setting_from_name(f): f for f in setting_files(d)}
        if files:
            out[d.name] = {s: f for s, f in files.items() if s is not None}
    return out


def audit_grid(run_dir: str | os.PathLike[str], folds: int = 2, n_boot: int = 1000, seed: int = 0) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """The audit of every model notebook 07 evaluated: ``{benchmark label: (audit summary, subset
    accuracies)}``, each benchmark reloaded as 07 read it (its path and limit) and its popularity
    cross-fitted on its own entries. Empty when 07 has not run."""

    try:
        result = read_metrics(run_dir)
    except FileNotFoundError:
        return {}
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for b in result.benchmarks:
        models = {m.spec: {s: Path(run_dir) / rel for s, rel in m.predictions.items()}
                  for m in b.models if m.status == "ok" and m.predictions}
        if not models:
            continue
        entries = load_benchmark(b.source.path, limit=b.limit)
        a = audit_entries(entries, folds=folds)
        out[f"{b.source.label}, {len(entries)} entries"] = (audit_summary(a), subset_accuracy(entries, a, models, n_boot=n_boot, seed=seed))
    return out
