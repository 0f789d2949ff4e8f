"""Ablations of the ranker and the tables of docs/ranker.md: what each part adds, under cross-fitting.

Everything is scored by the one scorer (:func:`petool_utils.evaluation.scoring.judge_responses`, the
authors' parser: exact tool name, exact parameter dict, Call Acc = both) and labelled by the one error
classifier (:func:`petool_utils.evaluation.errors.classify_error`). Every interval is a 95% cluster
bootstrap over functionality groups (:mod:`petool_utils.evaluation.intervals`).

A variant that uses a prior is cross-fitted (:mod:`.crossfit`): each fold of functionality groups is
answered with a prior fitted on the other folds' histories, so no number here comes from a prior that
saw the scored group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry
from petool_utils.evaluation.errors import ERROR_TYPES, classify_error
from petool_utils.evaluation.intervals import cluster_ids
from petool_utils.evaluation.scoring import OVERALL, Judged, judge_responses, pooled, score_judged
from petool_utils.predictors.base import Predictor
from petool_utils.predictors.ranker.binder import PairModel
from petool_utils.predictors.ranker.conventions import api_key
from petool_utils.predictors.ranker.crossfit import CrossFitted, fold_of, split_folds
from petool_utils.predictors.ranker.functionality import EmbeddingTable
from petool_utils.predictors.ranker.parameters import FillerRules, fill_parameters
from petool_utils.predictors.ranker.predictor import COMPONENTS, DEFAULT_COMPONENTS, PersonalizedRanker
from petool_utils.predictors.ranker.prior import fit_prior

FUNCTIONALITY = ("lexical", "parameter_fit", "group", "coverage")
PRIOR_PARTS = ("population", "request_memory", "population_calls")

VARIANTS: dict[str, dict[str, Any]] = {
    "functionality only": {"use_history": False, "components": FUNCTIONALITY, "prior": False},
    "no population (offline:ranker)": {"prior": False},
    "cross-fitted prior (full ranker)": {"prior": True},
    "popularity only": {"prior": True, "method": "popularity"},
    **{f"full - {c}": {"prior": True, "components": tuple(x for x in DEFAULT_COMPONENTS if x != c)} for c in DEFAULT_COMPONENTS},
    **{f"full + {c}": {"prior": True, "components": (*DEFAULT_COMPONENTS, c)} for c in COMPONENTS if c not in DEFAULT_COMPONENTS},
    **{f"no population - {c}": {"prior": False, "components": tuple(x for x in DEFAULT_COMPONENTS if x != c)}
       for c in DEFAULT_COMPONENTS if c not in PRIOR_PARTS},
    **{f"no population + {c}": {"prior": False, "components": (*DEFAULT_COMPONENTS, c)} for c in COMPONENTS if c not in DEFAULT_COMPONENTS},
}
"""Named configurations: the first three build the method up, ``popularity only`` is the shortcut
baseline, each ``full - X`` takes one part out of the cross-fitted ranker and ``full + X`` adds one that
is off by default; ``no population - X`` / ``+ X`` do the same without a prior."""

MAIN_VARIANTS = ("no population (offline:ranker)", "cross-fitted prior (full ranker)", "popularity only")


def build_variant(name: str, folds: int = 2, table: EmbeddingTable | None = None, embedder: str | object = "minilm",
                  entries: Sequence[Entry] | None = None, **overrides: Any) -> Predictor:
    """The predictor of one named variant; a variant with a prior is cross-fitted on ``entries``."""
    cfg = dict(VARIANTS[name])
    cfg.update(overrides)
    uses_prior = cfg.pop("prior")
    method = cfg.pop("method", "ranker")
    if uses_prior:
        pred = CrossFitted(folds=folds, method=method, embedder=embedder, table=table, **cfg)
        if entries is not None:
            pred.fit(entries)
        return pred
    return PersonalizedRanker(embedder=embedder, table=table, **cfg)


def predict_all(predictor: Predictor, entries: Sequence[Entry], settings: Sequence[str]) -> dict[str, dict[Any, str]]:
    """``{setting: {entry_id: response}}``, in memory (the engine writes files; ablations need none)."""
    return {s: dict(zip((e.entry_id for e in entries), predictor.predict(entries, s))) for s in settings}


def judge_all(entries: Sequence[Entry], responses: Mapping[str, Mapping[Any, str | None]]) -> dict[str, Judged]:
    return {s: judge_responses(entries, r) for s, r in responses.items()}


def error_counts(entries: Sequence[Entry], responses: Mapping[Any, str | None]) -> dict[str, int]:
    """How many entries carry each of the paper's six error types (the shared classifier)."""
    out = {k: 0 for k in ERROR_TYPES}
    for e in entries:
        t = classify_error(e, responses.get(e.entry_id))
        if t:
            out[t] += 1
    return out


def accuracy_rows(entries: Sequence[Entry], judged: Mapping[str, Judged], n_boot: int = 1000, seed: int = 0,
                  mask: Mapping[str, np.ndarray] | None = None) -> list[dict[str, Any]]:
    """The one scorer's Tool / Param / Call Acc (fractions, 95% intervals resampling functionality groups)
    as the study's rows: one per setting, then ``mean of 3`` (the scorer's "all"), or with ``mask`` (per
    setting, aligned with ``entries``) ``pooled (3 settings)``: the share over every (entry, setting) pair
    kept (:func:`~petool_utils.evaluation.scoring.score_judged`)."""
    scores = score_judged(judged, n_boot=n_boot, seed=seed, mask=mask)
    rows: list[dict[str, Any]] = []
    for s in [s for s in ALL_SETTINGS if s in judged]:
        sub = judged[s].subset(mask[s]) if mask is not None else judged[s]
        rows.append(_row(s, scores[s], len(sub), len(set(sub.clusters.tolist()))))
    if OVERALL in scores:
        if mask is None:
            rows.append(_row("mean of 3", scores[OVERALL], len(entries), len(set(cluster_ids(entries).tolist()))))
        else:
            personal = [s for s in SETTINGS if s in judged]
            pool = pooled([judged[s] for s in personal], [mask[s] for s in personal])
            rows.append(_row("pooled (3 settings)", scores[OVERALL], len(pool), len(set(pool.clusters.tolist()))))
    return rows


def _row(setting: str, sc: Any, n: int, n_groups: int) -> dict[str, Any]:
    row: dict[str, Any] = {"setting": setting, "n": n, "n_groups": n_groups}
    for metric in ("tool", "param", "call"):
        row[f"{metric}_acc"] = getattr(sc, f"{metric}_acc") if n else float("nan")
        row[f"{metric}_ci"] = getattr(sc, f"{metric}_ci") if n else None
    return row


def run_ablations(entries: Sequence[Entry], variants: Iterable[str] | None = None,
                  settings: Sequence[str] = ALL_SETTINGS, folds: int = 2, embedder: str | object = "minilm",
                  n_boot: int = 1000, seed: int = 0, progress: bool = False) -> pd.DataFrame:
    """One row per (variant, setting) plus each variant's ``mean of 3``: n, Tool/Param/Call Acc with
    their group-clustered intervals, and the count of each error type (per setting rows).

    All variants share one embedding cache, so the whole ablation costs one embedding pass.
    """
    names = list(variants) if variants is not None else list(VARIANTS)
    table: EmbeddingTable | None = None
    rows = []
    it: Iterable[str] = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="ablations")
    for name in it:
        pred = build_variant(name, folds=folds, table=table, embedder=embedder, entries=entries)
        table = _table_of(pred)
        responses = predict_all(pred, entries, settings)
        judged = judge_all(entries, responses)
        for r in accuracy_rows(entries, judged, n_boot=n_boot, seed=seed):
            errs = error_counts(entries, responses[r["setting"]]) if r["setting"] in responses else {}
            rows.append({"variant": name, **r, **errs})
    return pd.DataFrame(rows)


def _table_of(pred: Predictor) -> EmbeddingTable | None:
    return getattr(pred, "table", None)


def summary_table(df: pd.DataFrame, metric: str = "tool_acc", with_ci: bool = False) -> pd.DataFrame:
    """Variants x settings for one metric in %, the last column the mean of the three settings.
    ``with_ci``: cells are ``"91.2 [85.0, 95.1]"`` strings."""
    ci_col = metric.replace("_acc", "_ci")
    d = df.copy()
    if with_ci:
        d["cell"] = [_cell(v, ci) for v, ci in zip(d[metric], d[ci_col])]
        t = d.pivot(index="variant", columns="setting", values="cell")
    else:
        d["cell"] = (100 * d[metric]).round(1)
        t = d.pivot(index="variant", columns="setting", values="cell")
    t = t.reindex(d["variant"].unique())
    cols = [c for c in (*ALL_SETTINGS, "mean of 3") if c in t.columns]
    return t[cols]


def _cell(value: float, ci: Any) -> str:
    if ci is None or (isinstance(ci, float) and np.isnan(ci)):
        return f"{100 * value:.1f}"
    return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


# ----------------------------------------------------------------------------- choosing filler rules

RULE_SWITCHES = ("same_request", "paraphrase", "code_lists", "documented_codes", "learned_inclusion",
                 "learned_types", "own_habits", "span_binding", "example_formats", "consumed_words")


def select_filler_rules(entries: Sequence[Entry], folds: int = 2, embedder: str | object = "minilm",
                        settings: Sequence[str] = SETTINGS, use_prior: bool = True,
                        table: EmbeddingTable | None = None) -> pd.DataFrame:
    """Choose the filler's switches by group-disjoint cross-validation, never on the whole slice.

    For each fold k (the held-out fold), the rules are chosen on the *other* folds' entries (each of
    those answered with a prior from outside its own fold) by one pass of backward elimination from
    "all on": a switch is turned off when that raises Param Acc (mean of the settings) on the
    training folds. The chosen rules are then scored on fold k with a prior fitted outside fold k.
    Returns one row per held-out fold: the switches chosen, training and held-out Param Acc, and the
    held-out Param Acc with every switch on (for comparison).
    """
    parts = split_folds(list(entries), folds)
    priors = [fit_prior([e for j, p in enumerate(parts) if j != k for e in p]) if use_prior else None
              for k in range(folds)]
    decided: dict[int, list[tuple[str, Entry, Any]]] = {}
    members: dict[int, PersonalizedRanker] = {}
    for k in range(folds):
        r = PersonalizedRanker(embedder=embedder, table=table, prior=priors[k])
        table = r.table
        members[k] = r
        r._prepare(parts[k])
        decided[k] = [(s, e, e.candidates[r.decide(e, s).index]) for s in settings for e in parts[k] if e.candidates]

    def param_acc(rules: FillerRules, fold_ids: Sequence[int]) -> float:
        ok = n = 0
        for k in fold_ids:
            r = members[k]
            pop = r._book if "population_calls" in r.components else None
            for s, e, cand in decided[k]:
                ok += fill_parameters(e.query, cand, e.history(s), True, pop, rules) == e.reference.parameters
                n += 1
        return ok / n if n else 0.0

    rows = []
    for k in range(folds):
        train = [j for j in range(folds) if j != k]
        rules = FillerRules()
        best = param_acc(rules, train)
        for switch in RULE_SWITCHES:
            trial = replace(rules, **{switch: False})
            acc = param_acc(trial, train)
            if acc > best:
                rules, best = trial, acc
        rows.append({"population": "prior" if use_prior else "no population", "held_out_fold": k, "n_held_out": len(parts[k]),
                     "switches_off": ", ".join(s for s in RULE_SWITCHES if not getattr(rules, s)) or "none",
                     "train_param_acc": best, "held_out_param_acc": param_acc(rules, [k]),
                     "held_out_param_acc_all_on": param_acc(FillerRules(), [k])})
    return pd.DataFrame(rows)


def fold_table(entries: Sequence[Entry], folds: int = 2, metric: str = "tool_acc", embedder: str | object = "minilm",
               variants: Sequence[str] = MAIN_VARIANTS, table: EmbeddingTable | None = None) -> pd.DataFrame:
    """Each held-out fold on its own: the main variants' scores (in %) per setting on the entries of one
    fold of functionality groups (their prior, if any, fitted on the other folds)."""

    rows = []
    for name in variants:
        pred = build_variant(name, folds=folds, table=table, embedder=embedder, entries=entries)
        table = _table_of(pred)
        responses = predict_all(pred, entries, SETTINGS)
        for k in range(folds):
            part = [e for e in entries if fold_of(e, folds) == k]
            judged = judge_all(part, {s: responses[s] for s in SETTINGS})
            row: dict[str, Any] = {"variant": name, "fold": k, "n": len(part)}
            for r in accuracy_rows(part, judged, n_boot=0):
                row[r["setting"]] = round(100 * r[metric], 1)
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- choosing the binder's weights

BINDER_GRID = {"span_min_score": (0.4, 0.5, 0.6, 0.8), "span_description_weight": (0.0, 0.25, 0.5)}
"""The span binder's two numbers, searched on the training folds only (:func:`select_binder`)."""


@dataclass(frozen=True)
class BindingCase:
    """One (request, call) pair with the called API's documentation: a text-only test of the filler."""

    text: str
    cand: Any
    parameters: Mapping[str, Any]
    fold: int


def binding_cases(entries: Sequence[Entry], folds: int = 2) -> list[BindingCase]:
    """The distinct (request, call) pairs of a benchmark whose API's documentation it lists: every
    entry's request with its reference call, and every history pair whose API is a candidate of some
    entry. A pair's fold is its functionality group's (:func:`~.crossfit.fold_of`): an entry's own, or
    for a history pair the group of an entry whose reference is that API, else a hash of the API name."""
    docs = {c.tool_name: c for e in entries for c in e.candidates}
    fold_of_api = {e.reference.tool_name: fold_of(e, folds) for e in entries}
    out: dict[tuple[str, str, str], BindingCase] = {}

    class _Api:  # fold_of reads ``func`` and ``entry_id``
        def __init__(self, name: str):
            self.func, self.entry_id = f"api:{api_key(name)}", name

    def add(text: str, tool: str, params: Mapping[str, Any], fold: int) -> None:
        key = (text, tool, json.dumps(params, sort_keys=True, default=str))
        if key not in out and tool in docs:
            out[key] = BindingCase(text, docs[tool], dict(params), fold)

    for e in entries:
        add(e.query, e.reference.tool_name, e.reference.parameters, fold_of(e, folds))
    for e in entries:
        for s in SETTINGS:
            for item in e.history(s):
                tool = item.tool_call.tool_name
                add(item.instruction, tool, item.tool_call.parameters, fold_of_api.get(tool, fold_of(_Api(tool), folds)))
    return list(out.values())


def binding_accuracy(cases: Sequence[BindingCase], rules: FillerRules, pair_model: Any = None) -> float:
    """Share of the cases whose call the filler writes from the text alone (no past call read)."""
    if not cases:
        return float("nan")
    return sum(fill_parameters(c.text, c.cand, [], rules=rules, pair_model=pair_model) == c.parameters
               for c in cases) / len(cases)


def fit_pair_model(cases: Sequence[BindingCase], seed: int = 0):
    """A :class:`~.binder.PairModel` fitted on the (parameter, span) pairs of these cases."""
    examples = [(c.text, p, c.parameters.get(p.name))
                for c in cases for p in (*c.cand.required_parameters, *c.cand.optional_parameters)]
    return PairModel(seed=seed).fit(examples)


def select_binder(entries: Sequence[Entry], folds: int = 2) -> pd.DataFrame:
    """The binder's numbers chosen by group-disjoint cross-validation on :func:`binding_cases`: for each
    held-out fold, the grid point (:data:`BINDER_GRID`) with the best accuracy on the other folds (ties:
    the shipped values, then the grid order), scored on the held-out fold beside the shipped rules,
    the shipped rules with a logistic pair model fitted on the other folds in place of the hand-set
    pair scores (:class:`~.binder.PairModel`), and the rules before the binder (``span_binding``,
    ``example_formats`` and ``consumed_words`` off)."""
    import itertools

    cases = binding_cases(entries, folds)
    shipped = FillerRules()
    before = FillerRules(span_binding=False, example_formats=False, consumed_words=False)
    grid = [dict(zip(BINDER_GRID, v)) for v in itertools.product(*BINDER_GRID.values())]
    rows = []
    for k in range(folds):
        train = [c for c in cases if c.fold != k]
        held = [c for c in cases if c.fold == k]

        def key(g: dict[str, float]) -> tuple[float, bool]:
            return (binding_accuracy(train, replace(shipped, **g)),
                    all(getattr(shipped, n) == v for n, v in g.items()))

        best = max(grid, key=key)
        rows.append({"held_out_fold": k, "n_train": len(train), "n_held_out": len(held),
                     "chosen": ", ".join(f"{n.removeprefix('span_')}={v}" for n, v in best.items()),
                     "train_acc": binding_accuracy(train, replace(shipped, **best)),
                     "held_out_acc": binding_accuracy(held, replace(shipped, **best)),
                     "held_out_shipped": binding_accuracy(held, shipped),
                     "held_out_learned": binding_accuracy(held, shipped, fit_pair_model(train)),
                     "held_out_before": binding_accuracy(held, before)})
    return pd.DataFrame(rows)
