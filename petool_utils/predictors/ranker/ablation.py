"""Ablations of the ranker: what each component adds, per setting, and which errors remain.

Scored exactly as the authors scored (``parse_reference``: exact tool name, exact parameter dict).
Error types follow the paper's Table 2; when ``petool_utils.evaluation.errors`` (the scoring area's module)
is importable it is used, otherwise :func:`simple_error_type` below, which applies the same definitions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Sequence

import pandas as pd

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.benchmark.data import Entry
from petool_utils.benchmark.parsing import parse_reference
from petool_utils.predictors.ranker.predictor import COMPONENTS, DEFAULT_COMPONENTS, PersonalizedRanker

FUNCTIONALITY_ONLY = ("semantic", "lexical", "parameter_fit", "group", "coverage")

VARIANTS: dict[str, dict[str, Any]] = {
    "functionality only": {"use_history": False, "components": FUNCTIONALITY_ONLY},
    "+ own history": {"components": tuple(c for c in DEFAULT_COMPONENTS if c != "population")},
    "+ population (full ranker)": {},
    **{f"full - {c}": {"components": tuple(x for x in DEFAULT_COMPONENTS if x != c)} for c in DEFAULT_COMPONENTS},
    "full + history_functionality": {"components": COMPONENTS},
}
"""Named configurations; the first three build the method up, the ``full - X`` rows take one part out."""


def score(entries: Sequence[Entry], responses: Sequence[str]) -> dict[str, float]:
    """Tool Acc and Param Acc (fractions) with the authors' parser; unparseable answers count 0."""
    n = len(entries)
    tool = param = 0
    for e, r in zip(entries, responses):
        p = parse_reference(r)
        tool += bool(p.ok and p.tool_name == e.reference.tool_name)
        param += bool(p.ok and p.parameters == e.reference.parameters)
    return {"n": n, "tool_acc": tool / n if n else 0.0, "param_acc": param / n if n else 0.0}


def simple_error_type(entry: Entry, response: str) -> str | None:
    """The paper's error types: IF invalid format, TH tool hallucination (not a candidate), TFM wrong
    functionality, TPM right functionality but not the preferred provider, PNM wrong parameter names,
    PVM wrong parameter values; ``None`` when the call is fully correct."""
    p = parse_reference(response)
    if not p.ok:
        return "IF"
    ref = entry.reference
    if p.tool_name != ref.tool_name:
        if p.tool_name not in entry.candidate_names:
            return "TH"
        return "TPM" if p.tool_name in entry.same_func_names else "TFM"
    if set(p.parameters or {}) != set(ref.parameters):
        return "PNM"
    if p.parameters != ref.parameters:
        return "PVM"
    return None


def _classifier():
    try:  # the scoring area's implementation, when merged
        from petool_utils.evaluation.errors import classify_error  # type: ignore[import-not-found]

        return lambda e, r: classify_error(e, r, parser="reference"), "petool_utils.evaluation.errors"
    except ImportError:
        return simple_error_type, "petool_utils.predictors.ranker.ablation.simple_error_type"


def error_counts(entries: Sequence[Entry], responses: Sequence[str]) -> dict[str, int]:
    classify, _ = _classifier()
    out = {k: 0 for k in ("IF", "TH", "TFM", "TPM", "PNM", "PVM")}
    for e, r in zip(entries, responses):
        t = classify(e, r)
        if t:
            out[t] = out.get(t, 0) + 1
    return out


def run_ablations(
    entries: Sequence[Entry],
    variants: Iterable[str] | None = None,
    settings: Sequence[str] = ALL_SETTINGS,
    embedder: str | object = "minilm",
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (variant, setting): n, tool_acc, param_acc, and the count of each error type.

    All variants share one embedding table, so the ablation costs one embedding pass.
    """
    base = PersonalizedRanker(embedder=embedder)
    names = list(variants) if variants is not None else list(VARIANTS)
    rows = []
    it: Iterable[str] = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="ablations")
    for name in it:
        cfg = VARIANTS[name]
        r = replace(base, table=base._table, **cfg)
        for s in settings:
            resp = r.predict(entries, s)
            rows.append({"variant": name, "setting": s, **score(entries, resp), **error_counts(entries, resp)})
    return pd.DataFrame(rows)


def summary_table(df: pd.DataFrame, metric: str = "tool_acc") -> pd.DataFrame:
    """Variants x settings for one metric (in %), with the mean over the three personalized settings."""
    t = df.pivot(index="variant", columns="setting", values=metric).reindex(df["variant"].unique()) * 100
    cols = [s for s in ALL_SETTINGS if s in t.columns]
    t = t[cols]
    present = [s for s in SETTINGS if s in t.columns]
    if present:
        t["mean (3 settings)"] = t[present].mean(axis=1)
    return t.round(1)


def split_by_func(entries: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """Two halves by functionality group (even / odd numeric ``func``, else a stable string hash):
    design on one half, confirm on the other; no group is in both."""
    import zlib

    def key(e: Entry) -> int:
        f = str(e.func)
        return int(f) % 2 if f.isdigit() else zlib.crc32(f.encode()) % 2

    a = [e for e in entries if key(e) == 0]
    b = [e for e in entries if key(e) == 1]
    return a, b


def halves_check(entries: Sequence[Entry], embedder: str | object = "minilm") -> pd.DataFrame:
    """The design/confirm check: the full ranker on each half of :func:`split_by_func`, with its
    population prior taken (a) from the other half's histories only (``population="fit"``: no user and
    no functionality group of the scored half is in it) and (b) from the scored half itself ("batch")."""
    a, b = split_by_func(entries)
    base = PersonalizedRanker(embedder=embedder)
    rows = []
    for half, mine, other in (("A (design)", a, b), ("B (confirm)", b, a)):
        for pop in ("fit", "batch"):
            r = replace(base, table=base._table, population=pop)
            if pop == "fit":
                r.fit(other)
            for s in SETTINGS:
                rows.append({"half": half, "population": "other half" if pop == "fit" else "same half",
                             "setting": s, **score(mine, r.predict(mine, s))})
    return pd.DataFrame(rows)
