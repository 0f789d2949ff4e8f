"""Metrics for PEToolBench predictions: Tool Acc, Param Acc, Call Acc, with group-clustered intervals.

The numbers are the authors' numbers: a response is parsed once (``reference`` parser by default,
their regular expression and ``json.loads``), Tool Acc compares the parsed ``tool_name`` with the
reference one, Param Acc compares the parsed ``parameters`` with the reference ones using Python's
``==`` *independently of the tool* (so ``1 == 1.0 == True``, and a wrong tool with the right
arguments still earns Param Acc), and every entry without a usable response counts as 0. Call Acc
(both right) and the invalid-format share are ours; they are what error analysis needs.

An entry without a usable response is either *failed* (its request failed on every try: the run store
has only error lines for it) or *missing* (no line at all); both score 0 and are counted apart.

Intervals are 95% cluster-bootstrap intervals that resample whole functionality groups
(``Entry.func``; :mod:`petool_utils.evaluation.intervals`): entries of one group share candidates and
answers, so a per-entry bootstrap would understate the uncertainty several times over. The per-entry
bootstrap stays available (``ci="entry"``).

"all" is the mean of the *personalized* settings present (preferred, ratings, chronological; never
the ``none`` ablation), as the paper's "All" column is the mean of its three settings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry, canonical_id
from petool_utils.benchmark.locate import missing_input_hint
from petool_utils.benchmark.parsing import ParsedCall, get_parser, parse_reference, parse_robust
from petool_utils.evaluation.intervals import PairedComparison, cluster_bootstrap_ci, cluster_ids, paired_comparison
from petool_utils.evaluation.reader import PredictionSet, read_predictions, setting_files
from petool_utils.io import atomic_write_json, read_json

__all__ = [
    "ParsedCall",
    "SettingScore",
    "accuracy_by_history_length",
    "compare_predictions",
    "get_parser",
    "judge_responses",
    "load_scores",
    "parse_cached",
    "parse_reference",
    "parse_robust",
    "response_for",
    "score_files",
    "score_settings",
    "score_prediction_dir",
    "score_prediction_set",
    "score_responses",
    "scores_to_json",
]

OVERALL = "all"
OVERALL_MIN_SETTINGS = 2
"""The one rule for "all" (the mean over the personalized settings scored): reported when at least two are
there, for Table 1, notebook 10 and ``petool score`` alike (``petool score`` used 2, the grid 1: a one-setting
"all" is that setting again, not a mean). Table 1's own "All" column still needs all three, as in the paper."""
CI_LEVEL = 0.95
CIMethod = Literal["group", "entry"]
CI_METHODS: dict[str, str] = {
    "group": "95% cluster bootstrap over functionality groups (whole groups resampled)",
    "entry": "95% bootstrap over entries",
}


class PredictionLinesSkipped(UserWarning):
    """Lines of a predictions file that could not be used (the message lists them with line numbers)."""


class SettingScore(BaseModel):
    """One setting's scores; accuracies are fractions in [0, 1], intervals are 95% percentile intervals.

    ``n`` is the number of entries scored (for "all": summed over its settings). Of them, ``n_failed``
    had only failed requests (error lines) and ``n_missing`` had no line at all; both count as 0.
    ``ci_method`` says how the intervals were drawn (:data:`CI_METHODS`); they are ``None`` when
    ``n_boot`` is 0 or nothing was scored.
    """

    n: int
    tool_acc: float
    param_acc: float
    call_acc: float
    invalid_format: float
    tool_ci: tuple[float, float] | None = None
    param_ci: tuple[float, float] | None = None
    call_ci: tuple[float, float] | None = None
    n_missing: int = 0
    n_failed: int = 0
    ci_method: CIMethod = "group"
    parser: str = "reference"
    settings: list[str] | None = None
    """For "all": the settings it averages."""


@lru_cache(maxsize=1 << 16)
def parse_cached(parser: str, text: str | None) -> ParsedCall:
    """Parse a response once per (parser, text): the same text recurs across settings and re-scorings.

    Callers must not mutate the returned call's ``parameters``.
    """
    return get_parser(parser)(text)


@dataclass(frozen=True)
class Judged:
    """Per-entry outcomes of one setting, aligned with the entries they were judged on."""

    entry_ids: list[Any]
    tool: np.ndarray  # bool: parsed tool_name == reference tool_name
    param: np.ndarray  # bool: parsed parameters == reference parameters (Python ==)
    parsed: np.ndarray  # bool: the parser found a call
    missing: np.ndarray  # bool: no line at all
    failed: np.ndarray  # bool: only failed requests (error lines)
    clusters: np.ndarray  # int: functionality group of each entry (intervals.cluster_ids)

    @property
    def call(self) -> np.ndarray:
        return self.tool & self.param

    def __len__(self) -> int:
        return len(self.entry_ids)

    def subset(self, mask: np.ndarray) -> "Judged":
        """The entries where ``mask`` is true, functionality groups renumbered 0..k-1 (the bootstrap draws
        among the groups present)."""
        m = np.asarray(mask, dtype=bool)
        return Judged([i for i, keep in zip(self.entry_ids, m) if keep], self.tool[m], self.param[m], self.parsed[m],
                      self.missing[m], self.failed[m], _dense(self.clusters[m]))


def _dense(clusters: np.ndarray) -> np.ndarray:
    if len(clusters) == 0:
        return np.asarray(clusters, dtype=np.int64)
    return np.unique(clusters, return_inverse=True)[1].astype(np.int64)


def pooled(judged: Sequence[Judged], masks: Sequence[np.ndarray]) -> Judged:
    """Every (entry, setting) pair the masks keep, as one list judged together: when the settings are
    restricted to different subsets, "all" is the share over those pairs (one entry's pairs stay in one
    functionality group for the bootstrap), not a mean of means over unequal subsets."""
    ms = [np.asarray(m, dtype=bool) for m in masks]
    cat = lambda attr: np.concatenate([getattr(j, attr)[m] for j, m in zip(judged, ms)])  # noqa: E731
    ids = [i for j, m in zip(judged, ms) for i, keep in zip(j.entry_ids, m) if keep]
    return Judged(ids, cat("tool"), cat("param"), cat("parsed"), cat("missing"), cat("failed"), _dense(cat("clusters")))


def response_for(responses: Mapping[Any, str | None], entry_id: Any) -> str | None:
    """An entry's response, keyed by its id or by the id's canonical text form.

    Ids read back from JSON lines or typed on a command line may be strings where the benchmark has ints.
    """
    if entry_id in responses:
        return responses[entry_id]
    return responses.get(canonical_id(entry_id))


def _id_set(ids: Iterable[Any]) -> set[str]:
    return {canonical_id(i) for i in ids}


def judge_responses(entries: Sequence[Entry], responses: Mapping[Any, str | None], parser: str = "reference",
                    failed: Iterable[Any] = ()) -> Judged:
    """Judge every entry against its reference call; an entry without a response is wrong on all counts.

    ``failed`` names the entries whose request failed (scored 0, counted as failed); any other entry
    without a response in ``responses`` is missing.
    """
    get_parser(parser)  # fail early on an unknown parser name
    failed_ids = _id_set(failed)
    n = len(entries)
    tool, param, parsed, missing, fail = (np.zeros(n, dtype=bool) for _ in range(5))
    for i, e in enumerate(entries):
        if canonical_id(e.entry_id) in failed_ids:
            fail[i] = True
            continue
        text = response_for(responses, e.entry_id)
        if text is None:
            missing[i] = True
            continue
        call = parse_cached(parser, text)
        if not call.ok:
            continue
        parsed[i] = True
        ref = e.api_call_ground_truth
        tool[i] = call.tool_name == ref.tool_name
        param[i] = call.parameters == ref.parameters
    return Judged([e.entry_id for e in entries], tool, param, parsed, missing, fail, cluster_ids(entries))


def _entry_bootstrap_cis(columns: Sequence[Sequence[np.ndarray]], n_boot: int, seed: int) -> list[tuple[float, float]] | None:
    """Per-entry percentile intervals for the mean over settings of each metric's per-entry mean.

    ``columns[s][m]`` is setting ``s``'s per-entry outcome for metric ``m``. When every setting has the
    same number of entries (always so when they are scored on one entry list) the same resampled
    entries are used for every setting: a paired bootstrap, since one entry's settings are correlated.
    """
    if n_boot <= 0 or not columns or any(len(c[0]) == 0 for c in columns):
        return None
    rng = np.random.default_rng(seed)
    sizes = {len(c[0]) for c in columns}
    n0 = len(columns[0][0])
    shared_idx = rng.integers(0, n0, size=(n_boot, n0)) if len(sizes) == 1 else None
    reps = np.zeros((n_boot, len(columns[0])))
    for cols in columns:
        n = len(cols[0])
        idx = shared_idx if shared_idx is not None else rng.integers(0, n, size=(n_boot, n))
        for m, col in enumerate(cols):
            # one contiguous gather per metric: ~15x faster than gathering an (n, metrics) matrix
            reps[:, m] += np.asarray(col, dtype=np.float64)[idx].sum(axis=1) / n
    reps /= len(columns)
    alpha = (1 - CI_LEVEL) / 2 * 100
    lo, hi = np.percentile(reps, [alpha, 100 - alpha], axis=0)
    return [(float(a), float(b)) for a, b in zip(lo, hi)]


def _group_cis(judged: Sequence[Judged], n_boot: int, seed: int) -> list[tuple[float, float]] | None:
    """Cluster-bootstrap intervals (whole functionality groups resampled, one draw for all settings and
    metrics), or None when the settings were not judged on one entry list."""
    if n_boot <= 0 or not judged or any(len(j) == 0 for j in judged):
        return None
    first = judged[0]
    if any(j.entry_ids != first.entry_ids for j in judged[1:]):
        return None
    out = []
    for metric in ("tool", "param", "call"):
        ci = cluster_bootstrap_ci([getattr(j, metric) for j in judged], first.clusters, n_boot=n_boot, seed=seed,
                                  level=CI_LEVEL)
        out.append(ci if ci is not None else (float("nan"), float("nan")))
    return out


def summarize(judged: Sequence[Judged], n_boot: int = 1000, seed: int = 0, parser: str = "reference",
              settings: list[str] | None = None, ci: CIMethod = "group") -> SettingScore:
    """One score from one or more settings' outcomes: each metric is the mean of the settings' means."""
    if not judged:
        raise ValueError("nothing to summarize")
    if ci not in CI_METHODS:
        raise ValueError(f"unknown interval method {ci!r}; choose one of {', '.join(CI_METHODS)}")

    def mean(attr: str) -> float:
        vals = [float(getattr(j, attr).mean()) if len(j) else 0.0 for j in judged]
        return float(np.mean(vals))

    cis = _group_cis(judged, n_boot, seed) if ci == "group" else None
    method = ci
    if ci == "entry" or (cis is None and n_boot > 0):
        cis, method = _entry_bootstrap_cis([(j.tool, j.param, j.call) for j in judged], n_boot, seed), "entry"
    invalid = float(np.mean([float((~j.parsed).mean()) if len(j) else 0.0 for j in judged]))
    return SettingScore(
        n=sum(len(j) for j in judged),
        tool_acc=mean("tool"),
        param_acc=mean("param"),
        call_acc=mean("call"),
        invalid_format=invalid,
        tool_ci=cis[0] if cis else None,
        param_ci=cis[1] if cis else None,
        call_ci=cis[2] if cis else None,
        n_missing=int(sum(int(j.missing.sum()) for j in judged)),
        n_failed=int(sum(int(j.failed.sum()) for j in judged)),
        ci_method=method,
        parser=parser,
        settings=settings,
    )


def score_responses(entries: Sequence[Entry], responses: Mapping[Any, str | None], parser: str = "reference",
                    n_boot: int = 1000, seed: int = 0, failed: Iterable[Any] = (), ci: CIMethod = "group") -> SettingScore:
    """Score one setting's responses (``entry_id -> raw text``) over ``entries``, as the authors score."""
    return summarize([judge_responses(entries, responses, parser, failed)], n_boot=n_boot, seed=seed, parser=parser,
                     ci=ci)


def _setting_order(names: Iterable[str]) -> list[str]:
    known = (*SETTINGS, "none")
    names = list(names)
    return [s for s in known if s in names] + sorted(s for s in names if s not in known)


def score_settings(entries: Sequence[Entry], by_setting: Mapping[str, Mapping[Any, str | None]],
                   parser: str = "reference", n_boot: int = 1000, seed: int = 0,
                   failed: Mapping[str, Iterable[Any]] | None = None,
                   ci: CIMethod = "group") -> dict[str, SettingScore]:
    """Score several settings' responses; add "all" when at least :data:`OVERALL_MIN_SETTINGS` personalized
    settings are present (the ``none`` ablation never enters "all"). ``failed`` gives, per setting,
    the entries whose request failed."""
    failed = failed or {}
    order = _setting_order(by_setting)
    judged = {s: judge_responses(entries, by_setting[s], parser, failed.get(s, ())) for s in order}
    return _scores_from_judged(judged, n_boot, seed, parser, ci)


def _scores_from_judged(judged: Mapping[str, Judged], n_boot: int, seed: int, parser: str,
                        ci: CIMethod) -> dict[str, SettingScore]:
    personal = [s for s in SETTINGS if s in judged]
    out: dict[str, SettingScore] = {}
    for s in personal:
        out[s] = summarize([judged[s]], n_boot=n_boot, seed=seed, parser=parser, ci=ci)
    if len(personal) >= OVERALL_MIN_SETTINGS:
        out[OVERALL] = summarize([judged[s] for s in personal], n_boot=n_boot, seed=seed, parser=parser,
                                 settings=personal, ci=ci)
    for s in judged:
        if s not in out:
            out[s] = summarize([judged[s]], n_boot=n_boot, seed=seed, parser=parser, ci=ci)
    return out


def score_judged(judged: Mapping[str, Judged], n_boot: int = 1000, seed: int = 0, parser: str = "reference",
                 mask: Mapping[str, np.ndarray] | None = None, ci: CIMethod = "group") -> dict[str, SettingScore]:
    """Scores of judged settings, every setting and "all" by the one rule; ``mask`` (per setting, aligned
    with its entries) restricts each setting to a subset (the ranker audit's popularity subsets), and "all"
    is then :func:`pooled` over the pairs kept."""
    if mask is None:
        return _scores_from_judged(judged, n_boot, seed, parser, ci)
    out = {s: summarize([judged[s].subset(mask[s])], n_boot=n_boot, seed=seed, parser=parser, ci=ci)
           for s in _setting_order(judged)}
    personal = [s for s in SETTINGS if s in judged]
    if len(personal) >= OVERALL_MIN_SETTINGS:
        out[OVERALL] = summarize([pooled([judged[s] for s in personal], [mask[s] for s in personal])],
                                 n_boot=n_boot, seed=seed, parser=parser, settings=personal, ci=ci)
    return out


def judge_prediction_set(entries: Sequence[Entry], predictions: PredictionSet,
                         parser: str = "reference") -> dict[str, Judged]:
    """Every setting of a :class:`PredictionSet` judged over ``entries`` (failed and missing apart)."""
    return {s: judge_responses(entries, a.responses(), parser, a.failed())
            for s, a in predictions.settings.items()}


def score_prediction_set(entries: Sequence[Entry], predictions: PredictionSet, parser: str = "reference",
                         n_boot: int = 1000, seed: int = 0, ci: CIMethod = "group") -> dict[str, SettingScore]:
    """Score what :func:`~petool_utils.evaluation.reader.read_predictions` read: the one path from
    prediction files to scores, for Table 1, notebook 10 and ``petool score`` alike."""
    judged = judge_prediction_set(entries, predictions, parser)
    return _scores_from_judged(judged, n_boot, seed, parser, ci)


def _warn_skipped(predictions: PredictionSet) -> None:
    if predictions.problems:
        shown = "; ".join(str(p) for p in predictions.problems[:10])
        more = f" (and {len(predictions.problems) - 10} more)" if len(predictions.problems) > 10 else ""
        warnings.warn(f"{len(predictions.problems)} prediction line(s) skipped: {shown}{more}",
                      PredictionLinesSkipped, stacklevel=3)


def score_files(paths: Iterable[str | os.PathLike[str]], entries: Sequence[Entry], parser: str = "reference",
                n_boot: int = 1000, seed: int = 0,
                ci: CIMethod = "group") -> dict[str, SettingScore]:
    """Score arbitrary predictions files (run-store lines); each line's setting comes from its ``setting``
    field, else from the file name (``preferred.jsonl``). Lines are resolved by
    :func:`~petool_utils.evaluation.store.resolve_lines`; skipped lines raise a
    :class:`PredictionLinesSkipped` warning that lists them."""
    predictions = read_predictions(paths)
    _warn_skipped(predictions)
    return score_prediction_set(entries, predictions, parser, n_boot, seed, ci)


def score_prediction_dir(pred_dir: str | os.PathLike[str], entries: Sequence[Entry], parser: str = "reference",
                         n_boot: int = 1000, seed: int = 0, ci: CIMethod = "group") -> dict[str, SettingScore]:
    """Score one model's run-store folder (``<pred_dir>/<setting>.jsonl``): every setting found, plus "all"."""
    files = setting_files(pred_dir)
    if not files:
        raise FileNotFoundError(f"{pred_dir}: no <setting>.jsonl predictions files "
                                f"({missing_input_hint(Path(pred_dir) / '<setting>.jsonl')})")
    return score_files(files, entries, parser, n_boot, seed, ci=ci)


METRIC_NAMES = {"tool_acc": "tool", "param_acc": "param", "call_acc": "call"}


def compare_predictions(entries: Sequence[Entry], a: PredictionSet, b: PredictionSet, parser: str = "reference",
                        n_boot: int = 2000, n_perm: int = 10000,
                        seed: int = 0) -> dict[str, dict[str, PairedComparison]]:
    """B minus A on the same entries, per setting both have and for "all" (the personalized settings
    both have): ``{setting: {"tool_acc" | "param_acc" | "call_acc": PairedComparison}}``, each with a
    cluster-bootstrap 95% interval and a paired p-value that flips whole functionality groups."""
    ja, jb = judge_prediction_set(entries, a, parser), judge_prediction_set(entries, b, parser)
    common = _setting_order(s for s in ja if s in jb)
    clusters = cluster_ids(entries)
    out: dict[str, dict[str, PairedComparison]] = {}
    groups: list[tuple[str, list[str]]] = [(s, [s]) for s in common if s in SETTINGS]
    personal = [s for s in SETTINGS if s in common]
    if personal:
        groups.append((OVERALL, personal))
    groups += [(s, [s]) for s in common if s not in SETTINGS]
    for name, members in groups:
        out[name] = {metric: paired_comparison([getattr(ja[s], attr) for s in members],
                                               [getattr(jb[s], attr) for s in members], clusters,
                                               n_boot=n_boot, n_perm=n_perm, seed=seed)
                     for metric, attr in METRIC_NAMES.items()}
    return out


def scores_to_json(scores: Mapping[str, SettingScore]) -> dict[str, dict[str, Any]]:
    """The ``{setting: {n, tool_acc, ...}}`` object of ``petool score --json`` (fractions, CIs as pairs)."""
    return {s: sc.model_dump(mode="json", exclude_none=True) for s, sc in scores.items()}


def save_scores(path: str | os.PathLike[str], scores: Mapping[str, SettingScore]) -> Path:
    """Write scores as ``metrics.json`` (the ``--json`` object), atomically: a report never reads half a file."""
    return atomic_write_json(path, scores_to_json(scores))


def load_scores(path: str | os.PathLike[str]) -> dict[str, SettingScore]:
    """Read back what :func:`save_scores` wrote; a malformed file names itself and the setting."""
    raw = read_json(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object {{setting: scores}}")
    out = {}
    for setting, obj in raw.items():
        try:
            out[setting] = SettingScore.model_validate(obj)
        except ValueError as exc:
            raise ValueError(f"{path}: setting {setting!r}: {exc}") from exc
    return out


def _history_bin(length: int | None) -> tuple[int, str]:
    if length is None:
        return (-1, "unknown")
    lo = (length // 10) * 10
    return (lo, f"{lo}-{lo + 9}")


def accuracy_by_history_length(entries: Sequence[Entry], responses: Mapping[Any, str | None], setting: str,
                               parser: str = "reference") -> pd.DataFrame:
    """Accuracy by history length, two views in one long table told apart by ``kind``:

    * ``kind == "history_items"``: by the number of history items in this setting's prompt (what the
      model actually saw; 0 for ``none``), one row per count;
    * ``kind == "history_length_bin"``: by the released ``history_length`` binned by tens
      (``bucket`` "0-9", "10-19", ...), the paper's Figure 6 axis.

    Columns: ``setting, kind, bucket, lo, n, tool_acc, param_acc, call_acc`` (fractions), rows sorted
    by kind then ``lo``.
    """
    if setting not in ALL_SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose one of {', '.join(ALL_SETTINGS)}")
    j = judge_responses(entries, responses, parser)
    rows = []
    for i, e in enumerate(entries):
        items = len(e.history(setting))
        lo, label = _history_bin(e.history_length)
        base = {"tool": j.tool[i], "param": j.param[i], "call": j.call[i]}
        rows.append({"kind": "history_items", "lo": items, "bucket": str(items), **base})
        rows.append({"kind": "history_length_bin", "lo": lo, "bucket": label, **base})
    cols = ["setting", "kind", "bucket", "lo", "n", "tool_acc", "param_acc", "call_acc"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    out = (
        df.groupby(["kind", "lo", "bucket"], sort=True)
        .agg(n=("tool", "size"), tool_acc=("tool", "mean"), param_acc=("param", "mean"), call_acc=("call", "mean"))
        .reset_index()
    )
    out.insert(0, "setting", setting)
    return out[cols].sort_values(["kind", "lo"], kind="stable").reset_index(drop=True)
