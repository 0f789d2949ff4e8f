"""The ranker study: every table of docs/ranker.md and notebook 11, computed in one run.

``benchmarks/ranker_tables.py`` runs :func:`run_study` on the dev slice and writes the markdown tables
into docs/ranker.md between markers; notebook 11 runs it on whatever benchmark it is given and puts
the same tables in the report. Nothing in the docs is typed by hand.

Protocol: group-disjoint K-fold cross-fitting (:mod:`.crossfit`); every interval a 95% cluster
bootstrap over functionality groups; scores from the shared scorer, error types from the shared
classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry
from petool_utils.evaluation.error_classes import ERROR_CLASSES, error_class_counts
from petool_utils.evaluation.errors import ERROR_TYPES
from petool_utils.evaluation import ranker_ablation as ablation, ranker_audit as audit
from petool_utils.predictors.ranker.crossfit import fold_of
from petool_utils.predictors.ranker.functionality import EmbeddingTable, FunctionalityWeights
from petool_utils.predictors.ranker.predictor import COMPONENTS, DEFAULT_COMPONENTS
from petool_utils.predictors.ranker.preference import PreferenceWeights
from petool_utils.evaluation.intervals import cluster_ids
from petool_utils.report.fragments import table_block, text_block
from petool_utils.predictors.ranker.prior import benchmark_sources
from petool_utils.predictors.ranker.text import tool_part

METRIC_NAMES = {"tool_acc": "Tool Acc", "param_acc": "Param Acc", "call_acc": "Call Acc"}

DESIGN_CHOICES: dict[str, dict[str, Any]] = {
    "MiniLM similarity in the functionality score": {"components": (*DEFAULT_COMPONENTS, "semantic")},
    "the prior's votes pooled over the three settings": {"pooled_votes": True},
    "within the group, functionality decides before coverage and list order": {
        "fweights": FunctionalityWeights(within_group_functionality=True)},
    "chronological: judge providers one by one (no group-relative reading)": {
        "pweights": PreferenceWeights(group_relative=False)},
    "chronological, a lone provider: abandoned before 1/3 (not 1/2) of the history": {
        "pweights": PreferenceWeights(lone_abandoned_before=1 / 3)},
    "same-named APIs of a category always one group (their descriptions not compared)": {
        "fweights": FunctionalityWeights(same_name_cosine=0.0)},
    "same-named APIs one group from a cosine of 0.6 (not 0.75)": {
        "fweights": FunctionalityWeights(same_name_cosine=0.6)},
    "groups split by IO schema (parameter names' Jaccard >= 0.5 within a group)": {
        "fweights": FunctionalityWeights(group_schema=0.5)},
    "look-alike groups: no bonus per listed member beyond the second": {
        "fweights": FunctionalityWeights(member_bonus=0.0)},
    "inside the group, the non-functional score before provider coverage": {
        "components": (*DEFAULT_COMPONENTS, "nonfunctional")},
}
"""Alternatives to the shipped design, each checked on every held-out fold (:func:`design_table`)."""


@dataclass
class Study:
    """What :func:`run_study` computed (all accuracies are fractions)."""

    n_entries: int
    n_groups: int
    folds: int
    fold_sizes: list[int]
    results: pd.DataFrame
    """:func:`.ablation.run_ablations` rows of every variant."""
    per_fold: pd.DataFrame
    audit: pd.DataFrame
    audit_summary: pd.DataFrame
    critical: pd.DataFrame
    reuse: pd.DataFrame
    rules: pd.DataFrame
    design: pd.DataFrame
    classes: pd.DataFrame = field(default_factory=pd.DataFrame)
    """:func:`~petool_utils.evaluation.error_classes.error_class_counts` of the main variants."""
    silent: pd.DataFrame = field(default_factory=pd.DataFrame)
    binder: pd.DataFrame = field(default_factory=pd.DataFrame)
    """:func:`.ablation.select_binder`: the span binder's numbers, chosen on the training folds."""
    """:func:`silent_history_table`: the non-functional score where the history is silent on the group."""
    responses: dict[str, dict[str, dict[Any, str]]] = field(default_factory=dict, repr=False)


def run_study(entries: Sequence[Entry], folds: int = 2, embedder: str | object = "minilm", n_boot: int = 1000,
              seed: int = 0, variants: Sequence[str] | None = None, progress: bool = False,
              table: EmbeddingTable | None = None) -> Study:
    """Run every variant (cross-fitted where it uses a prior), the popularity audit, the filler's rule
    selection and the design checks, on one benchmark."""
    entries = list(entries)
    names = list(variants) if variants is not None else list(ablation.VARIANTS)
    for must in ablation.MAIN_VARIANTS:
        if must not in names:
            names.insert(0, must)
    rows, responses = [], {}
    it: Sequence[str] = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="ranker variants")
    for name in it:
        pred = ablation.build_variant(name, folds=folds, table=table, embedder=embedder, entries=entries)
        table = getattr(pred, "table", table)
        resp = ablation.predict_all(pred, entries, ALL_SETTINGS)
        responses[name] = resp
        judged = ablation.judge_all(entries, resp)
        for r in ablation.accuracy_rows(entries, judged, n_boot=n_boot, seed=seed):
            errs = ablation.error_counts(entries, resp[r["setting"]]) if r["setting"] in resp else {}
            rows.append({"variant": name, **r, **errs})
    results = pd.DataFrame(rows)
    per_fold = _per_fold(entries, folds, {n: responses[n] for n in ablation.MAIN_VARIANTS})
    a = audit.audit_entries(entries, folds=folds)
    main = {n: responses[n] for n in ablation.MAIN_VARIANTS}
    critical = audit.subset_accuracy(entries, a, main, n_boot=n_boot, seed=seed)
    reuse = audit.subset_accuracy(entries, a, main, n_boot=n_boot, seed=seed, column="request_seen")
    rules = pd.concat([ablation.select_filler_rules(entries, folds=folds, embedder=embedder, table=table, use_prior=prior)
                       for prior in (False, True)], ignore_index=True)
    classes = pd.concat([error_class_counts(entries, {st: responses[n][st] for st in SETTINGS}).assign(variant=n)
                         for n in ablation.MAIN_VARIANTS], ignore_index=True)
    silent = silent_history_table(entries, folds, responses)
    binder = ablation.select_binder(entries, folds=folds)
    design = design_table(entries, folds=folds, embedder=embedder, table=table)

    return Study(n_entries=len(entries), n_groups=int(len(set(cluster_ids(entries).tolist()))), folds=folds,
                 fold_sizes=[sum(fold_of(e, folds) == k for e in entries) for k in range(folds)],
                 results=results, per_fold=per_fold, audit=a, audit_summary=audit.audit_summary(a),
                 critical=critical, reuse=reuse, rules=rules, design=design, responses=responses,
                 classes=classes, silent=silent, binder=binder)


SILENT_PAIRS = {"no population (offline:ranker)": "no population + nonfunctional",
                "cross-fitted prior (full ranker)": "full + nonfunctional"}
"""Each shipped variant and the same with the non-functional score on."""


def history_silent(entry: Entry, setting: str) -> bool:
    """Whether the setting's history names no provider of the reference's functionality group."""
    group = {tool_part(n) for n in entry.same_func_names}
    return not any(tool_part(h.tool_call.tool_name) in group for h in entry.history(setting))


def silent_history_table(entries: Sequence[Entry], folds: int,
                         responses: Mapping[str, Mapping[str, Mapping[Any, str]]]) -> pd.DataFrame:
    """Tool Acc on the (entry, setting) pairs whose history is silent on the group, per held-out fold,
    without and with the non-functional score (pairs of :data:`SILENT_PAIRS` present in ``responses``)."""
    rows = []
    for base, plus in SILENT_PAIRS.items():
        if base not in responses or plus not in responses:
            continue
        for k in range(folds):
            part = [e for e in entries if fold_of(e, folds) == k]
            n = ok_base = ok_plus = 0
            for st in SETTINGS:
                pairs = [e for e in part if history_silent(e, st)]
                jb = ablation.judge_all(pairs, {st: responses[base][st]})[st]
                jp = ablation.judge_all(pairs, {st: responses[plus][st]})[st]
                n += len(pairs)
                ok_base += int(jb.tool.sum())
                ok_plus += int(jp.tool.sum())
            rows.append({"variant": base, "held_out_fold": k, "n": n,
                         "shipped": ok_base / n if n else float("nan"), "nonfunctional": ok_plus / n if n else float("nan")})
    return pd.DataFrame(rows)


def _per_fold(entries: Sequence[Entry], folds: int, responses: Mapping[str, Mapping[str, Mapping[Any, str]]]) -> pd.DataFrame:
    rows = []
    for name, resp in responses.items():
        for k in range(folds):
            part = [e for e in entries if fold_of(e, folds) == k]
            judged = ablation.judge_all(part, {s: resp[s] for s in SETTINGS})
            for r in ablation.accuracy_rows(part, judged, n_boot=0):
                rows.append({"variant": name, "fold": k, **{c: r[c] for c in ("setting", "n", "n_groups", "tool_acc", "param_acc", "call_acc")}})
    return pd.DataFrame(rows)


def design_table(entries: Sequence[Entry], folds: int = 2, embedder: str | object = "minilm",
                 table: EmbeddingTable | None = None) -> pd.DataFrame:
    """Each shipped design choice against its alternative, on every held-out fold (Tool Acc, mean of the
    three settings), without a prior and with the cross-fitted one. A choice is kept only where no
    held-out fold prefers the alternative."""
    configs = {"shipped": {}, **DESIGN_CHOICES}
    scores: dict[tuple[str, str], dict[int, float]] = {}
    for label, kw in configs.items():
        for prior in (False, True):
            name = "cross-fitted prior (full ranker)" if prior else "no population (offline:ranker)"
            pred = ablation.build_variant(name, folds=folds, table=table, embedder=embedder, entries=entries, **kw)
            table = getattr(pred, "table", table)
            resp = ablation.predict_all(pred, entries, SETTINGS)
            for k in range(folds):
                part = [e for e in entries if fold_of(e, folds) == k]
                judged = ablation.judge_all(part, {s: resp[s] for s in SETTINGS})
                mean = float(np.mean([judged[s].tool.mean() for s in SETTINGS]))
                scores.setdefault((label, "prior" if prior else "no population"), {})[k] = mean
    rows = []
    for label in DESIGN_CHOICES:
        for pop in ("no population", "prior"):
            for k in range(folds):
                rows.append({"alternative": label, "population": pop, "held_out_fold": k,
                             "shipped": scores[("shipped", pop)][k], "alternative_score": scores[(label, pop)][k]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- presentation

def pct_cell(value: float, ci: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if ci is None or (isinstance(ci, float) and np.isnan(ci)):
        return f"{100 * value:.1f}"
    return f"{100 * value:.1f} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def method_table(results: pd.DataFrame, metric: str, variants: Sequence[str] = ablation.MAIN_VARIANTS,
                 settings: Sequence[str] = (*SETTINGS, "mean of 3", "none")) -> pd.DataFrame:
    """Rows: variants; columns: settings; cells: ``acc [lo, hi]`` in % (95% group-clustered)."""
    ci = metric.replace("_acc", "_ci")
    out = []
    for v in variants:
        part = results[results["variant"] == v].set_index("setting")
        row = {"method": v}
        for s in settings:
            row[s] = pct_cell(part.loc[s, metric], part.loc[s, ci]) if s in part.index else ""
        out.append(row)
    return pd.DataFrame(out)


def ablation_table(results: pd.DataFrame) -> pd.DataFrame:
    """Every variant's Tool / Param / Call Acc, mean of the three settings, in %, with intervals."""
    part = results[results["setting"] == "mean of 3"]
    return pd.DataFrame([{"variant": r["variant"], "Tool Acc": pct_cell(r["tool_acc"], r["tool_ci"]),
                          "Param Acc": pct_cell(r["param_acc"], r["param_ci"]),
                          "Call Acc": pct_cell(r["call_acc"], r["call_ci"])} for _, r in part.iterrows()])


def per_fold_table(per_fold: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (v, k), part in per_fold.groupby(["variant", "fold"], sort=False):
        p = part.set_index("setting")
        rows.append({"method": v, "held-out fold": k, "entries": int(p.loc["mean of 3", "n"]),
                     "groups": int(p.loc["mean of 3", "n_groups"]),
                     **{s: " / ".join(f"{100 * p.loc[s, m]:.1f}" for m in ("tool_acc", "param_acc", "call_acc"))
                        for s in (*SETTINGS, "mean of 3")}})
    return pd.DataFrame(rows)


def audit_table(summary: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"setting": r["setting"], "entries": int(r["n"]), "critical subset": int(r["critical"]),
                          "critical share %": f"{100 * r['critical_share']:.1f}",
                          "popularity alone solves %": "" if np.isnan(r["popularity_solves"]) else f"{100 * r['popularity_solves']:.1f}",
                          "request seen before %": f"{100 * r['request_seen_share']:.1f}"}
                         for _, r in summary.iterrows()])


def subset_table(df: pd.DataFrame, subset_names: Mapping[str, str], settings: Sequence[str] = (*SETTINGS, "pooled (3 settings)")) -> pd.DataFrame:
    """Rows: model x subset; columns: settings; cells: ``Tool / Param / Call`` in %, and the pooled
    Tool Acc interval."""
    rows = []
    for (model, subset), part in df.groupby(["model", "subset"], sort=False):
        if subset not in subset_names:
            continue
        p = part.set_index("setting")
        row = {"method": model, "subset": subset_names[subset]}
        for s in settings:
            if s in p.index:
                row[s] = (f"n={int(p.loc[s, 'n'])}: " + " / ".join(
                    "" if np.isnan(p.loc[s, m]) else f"{100 * p.loc[s, m]:.1f}" for m in ("tool_acc", "param_acc", "call_acc")))
        pooled = p.loc["pooled (3 settings)"] if "pooled (3 settings)" in p.index else None
        row["pooled Tool Acc, 95% CI"] = pct_cell(pooled["tool_acc"], pooled["tool_ci"]) if pooled is not None and pooled["n"] else ""
        rows.append(row)
    return pd.DataFrame(rows)


def error_table(results: pd.DataFrame, variants: Sequence[str] = ablation.MAIN_VARIANTS) -> pd.DataFrame:
    part = results[results["variant"].isin(variants) & results["setting"].isin([*SETTINGS, "none"])]
    out = part[["variant", "setting", *ERROR_TYPES]].reset_index(drop=True)
    out[list(ERROR_TYPES)] = out[list(ERROR_TYPES)].astype(int)
    return out


def classes_table(classes: pd.DataFrame) -> pd.DataFrame:
    """The finer error classes (counts per setting), one row per variant and setting; empty classes
    are left out of the columns."""
    cols = [c for c in ERROR_CLASSES if c in classes and classes[c].sum() > 0]
    return pd.DataFrame([{"variant": r["variant"], "setting": r["setting"], **{c: int(r[c]) for c in cols}}
                         for _, r in classes.iterrows()])


def binder_table(binder: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"held-out fold": int(r["held_out_fold"]), "pairs (train / held out)": f"{int(r['n_train'])} / {int(r['n_held_out'])}",
                          "chosen on the other folds": r["chosen"], "training folds": f"{100 * r['train_acc']:.1f}",
                          "held-out, chosen": f"{100 * r['held_out_acc']:.1f}", "held-out, shipped": f"{100 * r['held_out_shipped']:.1f}",
                          "held-out, learned pair model": f"{100 * r['held_out_learned']:.1f}",
                          "held-out, before the binder": f"{100 * r['held_out_before']:.1f}"} for _, r in binder.iterrows()])


def silent_table(silent: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"variant": r["variant"], "held-out fold": int(r["held_out_fold"]),
                          "(entry, setting) pairs": int(r["n"]), "shipped Tool Acc": f"{100 * r['shipped']:.1f}",
                          "with the non-functional score": f"{100 * r['nonfunctional']:.1f}"} for _, r in silent.iterrows()])


def rules_table(rules: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"population": r.get("population", "prior"), "held-out fold": int(r["held_out_fold"]), "entries": int(r["n_held_out"]),
                          "switches turned off (chosen on the other folds)": r["switches_off"],
                          "Param Acc, training folds": f"{100 * r['train_param_acc']:.1f}",
                          "Param Acc, held-out fold": f"{100 * r['held_out_param_acc']:.1f}",
                          "held-out, every rule on": f"{100 * r['held_out_param_acc_all_on']:.1f}"} for _, r in rules.iterrows()])


def design_view(design: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"alternative to the shipped design": r["alternative"], "population": r["population"],
                          "held-out fold": int(r["held_out_fold"]), "shipped Tool Acc": f"{100 * r['shipped']:.1f}",
                          "alternative Tool Acc": f"{100 * r['alternative_score']:.1f}"} for _, r in design.iterrows()])


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub table (no dependency on tabulate)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join("" if pd.isna(v) else str(v).replace("|", "\\|") for v in r.tolist()) + " |")
    return "\n".join(lines)


CRITICAL_NAMES = {"critical": "personalization-critical", "rest": "the rest"}
REUSE_NAMES = {"critical": "request seen before", "rest": "new request"}


def fragment_blocks(study: Study, source: str, grid: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None) -> list[dict[str, Any]]:
    """The report section of notebook 11: the three rows, the audit, every 07 model on the critical
    subset, the ablation (blocks for :func:`petool_utils.report.fragments.write_fragment`)."""

    blocks = [text_block(
        f"petool's ranker is our own method (offline, no LLM). Rows on {source}: {study.n_entries} entries, "
        f"{study.n_groups} functionality groups, {study.folds} folds by group. 'no population' answers one prompt at a "
        "time; 'cross-fitted prior' answers each fold with a prior fitted on the other folds' interaction histories "
        "(other users' liked providers and past calls, information an LLM reading one prompt does not have); "
        "'popularity only' ignores the user's history. Cells in %; brackets: 95% intervals resampling whole "
        "functionality groups.")]
    for metric, title in METRIC_NAMES.items():
        blocks.append(table_block(method_table(study.results, metric), caption=f"{title}, group-disjoint cross-fitting"))
    blocks.append(text_block(
        "Popularity audit. Popularity's pick: the member of the reference's functionality group whose provider most "
        "training users (other folds) like. Personalization-critical: the user's own history ranks another member "
        "strictly above popularity's pick. Popularity alone solves: its pick is the reference. Request seen before: "
        "the request is the instruction of a history item in the prior or in the user's own history."))
    blocks.append(table_block(audit_table(study.audit_summary), caption="The critical subset and the two shortcuts"))
    blocks.append(table_block(subset_table(study.critical, CRITICAL_NAMES),
                              caption="Tool / Param / Call Acc (%) on the critical subset and the rest"))
    for label, (summary, subsets) in (grid or {}).items():
        blocks.append(table_block(audit_table(summary), caption=f"Notebook 07's benchmark: {label}"))
        blocks.append(table_block(subset_table(subsets, CRITICAL_NAMES),
                                  caption=f"Every model of notebook 07 on the critical subset and the rest ({label})"))
    blocks.append(table_block(subset_table(study.reuse, REUSE_NAMES),
                              caption="Tool / Param / Call Acc (%) by whether the request was seen before"))
    blocks.append(table_block(ablation_table(study.results), caption="What each part adds (mean of the three settings)"))
    if len(study.classes):
        blocks.append(table_block(classes_table(study.classes),
                                  caption="Remaining errors by class (petool_utils.evaluation.error_classes), per setting"))
    return blocks


def benchmark_label(data: Any) -> str:
    """How a benchmark is named in the report (never a local path): the released dev slice, the
    released benchmark, or the file's name."""

    try:
        files = benchmark_sources(data)
    except FileNotFoundError:
        return str(data)
    names = [f.name for f in files]
    if any("dev" in n for n in names):
        return "the released PEToolBench dev slice"
    if any(n.startswith("user_entries_test") for n in names):
        return "the released PEToolBench"
    return ", ".join(names)


