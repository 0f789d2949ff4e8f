"""The paper's tables and figures, built from plain data (dicts and DataFrames).

Everything here takes already-computed scores or error labels, never a model or a file, so each
table can be checked against hand-made numbers, and so notebooks 07 and 10 stay a few calls long.

* Table 1: Tool/Param accuracy per setting and "All", our rows beside the paper's (reference data in
  ``resources/paper_table1.csv``), in percent, with the failed and missing entries of our rows and a
  companion table of group-clustered 95% intervals (Tool, Param and Call Acc).
* Figure 5: accuracy with vs. without interaction history, per model and setting (grouped bars).
* Figure 6: accuracy by history length (lines).
* Table 2: the six error types, counts and shares, with a few examples of each.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from petool_utils import ALL_SETTINGS, SETTINGS
from petool_utils.evaluation.errors import ERROR_TYPE_MEANINGS as ERROR_TYPES

METRICS = ("tool", "param")
SETTING_TITLES = {"preferred": "Preferred-only", "ratings": "Rating-integrated", "chronological": "Chronological",
                  "none": "No history", "all": "All"}
_PAPER_CSV = "paper_table1.csv"
PAPER_METHOD_NAMES = {"best_baseline": "best baseline (per column, of the six above)"}


# ----------------------------------------------------------------------------- labels

def model_label(spec: str) -> str:
    """How a model spec is named in every table and figure; offline predictors say that they are."""
    kind, _, name = spec.partition(":")
    if kind == "offline":
        base, _, prior = name.partition("@")
        if base in ("ranker", "popularity"):
            return f"{_OFFLINE_OURS[base]}; {_prior_words(base, prior)}"
        return f"{name} baseline (offline, no LLM)"
    if kind == "openai":
        return f"{name} (OpenAI-compatible API)"
    if kind == "hf":
        from petool_utils.models.fetch import fetched_label

        path, _, adapter = name.partition("@")
        real = fetched_label(path) if path else None
        if real and not adapter:
            return f"{real} (real LLM, HF, local)"
        base = real or Path(path).name or path
        return f"{base} + adapter {Path(adapter).name} (HF, local)" if adapter else f"{base} (HF, local)"
    return spec


_OFFLINE_OURS = {"ranker": "petool ranker (ours, offline, no LLM",
                 "popularity": "popularity baseline (offline, no LLM; ignores the user's history"}


def _prior_words(base: str, arg: str) -> str:
    """Which prior a ranker or popularity row used, in words (the end of its label)."""
    if arg.startswith("crossfit"):
        k = arg.partition(":")[2] or "2"
        return f"cross-fitted prior, {k} folds by functionality group)"
    if arg:
        return f"prior fitted on training histories: {Path(arg).name})"
    if base == "popularity":
        return "cross-fitted prior, 2 folds by functionality group)"
    return "no population: one prompt at a time)"


def short_label(spec: str) -> str:
    """A compact label for crowded figure axes, still marking offline and our own method."""
    kind, _, name = spec.partition(":")
    if kind == "offline":
        base, _, arg = name.partition("@")
        if base in ("ranker", "popularity"):
            what = "ranker (ours, offline" if base == "ranker" else "popularity (offline"
            prior = (f", cross-fit {arg.partition(':')[2] or 2}" if arg.startswith("crossfit")
                     else f", prior {Path(arg).name}" if arg else (", cross-fit 2" if base == "popularity" else ", no population"))
            return f"{what}{prior})"
        return f"{name} (offline)"
    if kind == "hf":
        path, _, adapter = name.partition("@")
        return f"{Path(path).name}+{Path(adapter).name}" if adapter else Path(path).name
    return name or spec


def row_class(spec: str) -> str:
    """CSS class of a Table 1 row: ``ours`` for petool's own method, ``baseline`` for offline
    baselines, ``measured`` for any other model we ran."""
    if spec == "offline:ranker" or spec.startswith("offline:ranker@"):
        return "ours"
    if spec.startswith("offline:"):
        return "baseline"
    return "measured"


# ----------------------------------------------------------------------------- Table 1

def load_paper_table1() -> pd.DataFrame:
    """The paper's Table 1 (percent; empty cells are not recoverable from the published text)."""
    return pd.read_csv(Path(__file__).resolve().parent.parent / "resources" / _PAPER_CSV, comment="#")


def _as_dict(score: Any) -> dict[str, Any]:
    if hasattr(score, "model_dump"):
        return score.model_dump()
    return dict(score)


def score_row(per_setting: Mapping[str, Any]) -> dict[str, float]:
    """One model's Table 1 cells in percent. "All" is the mean over the three settings, as in the
    paper, and only when all three were run (a mean of two would not be the paper's column).
    ``failed`` and ``missing`` count entries without a usable answer, over every setting scored."""
    row: dict[str, float] = {}
    for s in SETTINGS:
        if s in per_setting:
            d = _as_dict(per_setting[s])
            row[f"{s}_tool"] = 100.0 * float(d["tool_acc"])
            row[f"{s}_param"] = 100.0 * float(d["param_acc"])
    for m in METRICS:
        vals = [row.get(f"{s}_{m}") for s in SETTINGS]
        row[f"all_{m}"] = sum(vals) / 3 if all(v is not None for v in vals) else float("nan")
    scored = [_as_dict(per_setting[s]) for s in ALL_SETTINGS if s in per_setting]
    row["failed"] = float(sum(int(d.get("n_failed", 0)) for d in scored))
    row["missing"] = float(sum(int(d.get("n_missing", 0)) for d in scored))
    return row


TABLE1_COLUMNS = [f"{s}_{m}" for s in (*SETTINGS, "all") for m in METRICS]
COUNT_COLUMNS = ["failed", "missing"]


def table1(scores: Mapping[str, Mapping[str, Mapping[str, Any]]], include_paper: bool = True) -> pd.DataFrame:
    """Table 1 as a DataFrame: the paper's rows, then ours.

    ``scores`` is ``{benchmark label: {model spec: {setting: SettingScore or dict with tool_acc,
    param_acc as fractions}}}``. Columns: method, source, row_class, then ``<setting>_<tool|param>``
    in percent.
    """
    rows: list[dict[str, Any]] = []
    if include_paper:
        for rec in load_paper_table1().to_dict("records"):
            method = PAPER_METHOD_NAMES.get(rec["method"], rec["method"])
            rows.append({"method": method, "source": "paper (1,000 test entries)", "row_class": "paper",
                         **{c: rec.get(c) for c in TABLE1_COLUMNS}})
    for bench, by_model in scores.items():
        for spec, per_setting in by_model.items():
            rows.append({"method": model_label(spec), "source": f"petool: {bench}", "row_class": row_class(spec),
                         **score_row(per_setting)})
    cols = [*TABLE1_COLUMNS, *COUNT_COLUMNS]
    df = pd.DataFrame(rows, columns=["method", "source", "row_class", *cols])
    df[cols] = df[cols].astype(float)
    return df


def table1_display(df: pd.DataFrame) -> pd.DataFrame:
    """Human column names (``Preferred-only Tool``...), whole counts, and no styling column."""
    out = df.drop(columns=["row_class"]).copy()
    counts = [c for c in COUNT_COLUMNS if c in out.columns]
    for c in counts:
        out[c] = out[c].astype("Int64")  # counts, not percentages; empty for the paper's rows
    out.columns = (["Method", "Evaluated on"]
                   + [f"{SETTING_TITLES[c.rsplit('_', 1)[0]]} {c.rsplit('_', 1)[1].title()}" for c in TABLE1_COLUMNS]
                   + [{"failed": "Failed requests", "missing": "Missing entries"}[c] for c in counts])
    return out


def _interval(d: Mapping[str, Any], metric: str) -> str:
    acc, ci = d.get(f"{metric}_acc"), d.get(f"{metric}_ci")
    if acc is None:
        return ""
    return f"{100 * float(acc):.1f} [{100 * float(ci[0]):.1f}, {100 * float(ci[1]):.1f}]" if ci else f"{100 * float(acc):.1f}"


def table1_intervals(scores: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """Our rows of Table 1 with their 95% intervals, Call Acc included: ``acc [lo, hi]`` in percent per
    setting and "All" (the paper gives no intervals). Intervals are whatever the scores carry: the
    scorer's default resamples whole functionality groups (column ``Intervals`` says which)."""
    rows = []
    for bench, by_model in scores.items():
        for spec, per_setting in by_model.items():
            row: dict[str, Any] = {"Method": model_label(spec), "Evaluated on": f"petool: {bench}"}
            for s in (*SETTINGS, "all"):
                if s in per_setting:
                    d = _as_dict(per_setting[s])
                    for metric in ("tool", "param", "call"):
                        row[f"{SETTING_TITLES[s]} {metric.title()}"] = _interval(d, metric)
            methods = {_as_dict(v).get("ci_method", "group") for v in per_setting.values()}
            row["Intervals"] = ", ".join(sorted(methods))
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- Figure 5

def figure5(scores: Mapping[str, Mapping[str, Any]], title: str = "Figure 5: with vs. without interaction history"):
    """Grouped bars per (model, setting): accuracy with the setting's history vs. the no-history prompt.

    ``scores`` is ``{model spec: {setting: score}}`` for one benchmark; the ``none`` setting is the
    no-history prompt (the same for every setting, so its bar repeats across the three).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Tool Acc (%)", "Param Acc (%)"))
    models = [m for m in scores if any(s in scores[m] for s in SETTINGS)]
    x = [[short_label(m) for m in models for s in SETTINGS if s in scores[m]],
         [SETTING_TITLES[s] for m in models for s in SETTINGS if s in scores[m]]]
    for row, metric in enumerate(("tool_acc", "param_acc"), start=1):
        with_h = [100 * float(_as_dict(scores[m][s])[metric]) for m in models for s in SETTINGS if s in scores[m]]
        without = [100 * float(_as_dict(scores[m]["none"])[metric]) if "none" in scores[m] else None
                   for m in models for s in SETTINGS if s in scores[m]]
        fig.add_trace(go.Bar(name="with history", x=x, y=with_h, marker_color="#3366cc", legendgroup="with",
                             showlegend=row == 1, texttemplate="%{y:.0f}", textposition="outside"), row=row, col=1)
        if any(v is not None for v in without):
            fig.add_trace(go.Bar(name="without history", x=x, y=without, marker_color="#ff9900", legendgroup="without",
                                 showlegend=row == 1, texttemplate="%{y:.0f}", textposition="outside"), row=row, col=1)
        fig.update_yaxes(range=[0, 110], row=row, col=1)
    fig.update_layout(title=title, barmode="group", height=640, margin=dict(t=80, b=40), template="plotly_white",
                      legend=dict(orientation="h", y=1.08, x=1, xanchor="right"))
    return fig


# ----------------------------------------------------------------------------- Figure 6

_X_CANDIDATES = ("lo", "n_history", "history_items", "history_length", "length")
LENGTH_KINDS = {
    "history_length_bin": "released history_length (bins of ten)",
    "history_items": "history items in the prompt",
}


def tidy_by_length(df: pd.DataFrame, kind: str = "history_length_bin") -> tuple[pd.DataFrame, str]:
    """Bring an accuracy-by-history-length table into long form and name its x column.

    The scorer's table (``petool_utils.evaluation.scoring.accuracy_by_history_length``) holds two views told apart
    by ``kind``: ``history_items`` (items in the prompt) and ``history_length_bin`` (the released
    ``history_length`` by tens, ``lo`` its lower edge, ``bucket`` its label); ``kind`` picks one. A
    plain table with the length in its index or a ``n_history``-like column works too. Accuracies
    come out in percent.
    """
    d = df.reset_index() if df.index.name or isinstance(df.index, pd.MultiIndex) else df.copy()
    if "kind" in d.columns:
        d = d[d["kind"] == kind].copy()
    x = next((c for c in _X_CANDIDATES if c in d.columns), None)
    if x is None:
        raise ValueError(f"accuracy-by-length table has no history-length column (columns: {list(d.columns)})")
    for c in ("tool_acc", "param_acc", "call_acc"):
        if c in d.columns and len(d) and d[c].max() <= 1.0:
            d[c] = 100.0 * d[c]
    return d, x


def figure6(df: pd.DataFrame, metric: str = "tool_acc", kind: str = "history_length_bin",
            title: str = "Figure 6: accuracy by length of the interaction history", min_n: int = 1):
    """Lines of accuracy against history length, one panel per setting, one line per model.

    ``df`` has columns ``model`` (spec), ``setting``, the scorer's length columns (see
    :func:`tidy_by_length`) and ``tool_acc``/``param_acc`` (fractions or percent), optionally ``n``
    and ``bucket`` (shown on hover). Points with fewer than ``min_n`` entries are left out.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d, x = tidy_by_length(df, kind)
    if min_n > 1 and "n" in d.columns:
        d = d[d["n"] >= min_n]  # a point from two entries is noise, not a trend
    settings = [s for s in SETTINGS if s in set(d["setting"])]
    fig = make_subplots(rows=1, cols=max(1, len(settings)), shared_yaxes=True,
                        subplot_titles=[SETTING_TITLES[s] for s in settings])
    palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00"]
    for k, model in enumerate(dict.fromkeys(d["model"])):
        for col, s in enumerate(settings, start=1):
            part = d[(d["model"] == model) & (d["setting"] == s)].sort_values(x)
            if part.empty:
                continue
            label = part["bucket"].astype(str).tolist() if "bucket" in part.columns else part[x].astype(str).tolist()
            n = part["n"].tolist() if "n" in part.columns else [""] * len(part)
            fig.add_trace(go.Scatter(x=part[x].tolist(), y=part[metric].tolist(), mode="lines+markers",
                                     name=short_label(model), legendgroup=model, showlegend=col == 1,
                                     line=dict(color=palette[k % len(palette)]),
                                     customdata=list(zip(label, n)),
                                     hovertemplate="%{customdata[0]}: %{y:.1f}% (n=%{customdata[1]})"),
                          row=1, col=col)
    fig.update_xaxes(title_text=LENGTH_KINDS.get(kind, x) if x == "lo" else x)
    fig.update_yaxes(title_text=f"{'Tool' if metric == 'tool_acc' else 'Param'} Acc (%)", range=[0, 105], col=1)
    fig.update_layout(title=title, height=420, template="plotly_white", margin=dict(t=80))
    return fig


# ----------------------------------------------------------------------------- Table 2

def table2(errors: pd.DataFrame) -> pd.DataFrame:
    """Error-type counts and shares per model (and setting "all").

    ``errors`` has one row per evaluated response: ``model``, ``setting``, ``error_type`` (one of
    IF/TH/TFM/TPM/PNM/PVM, or None/NaN when the call is right). Share = count / wrong answers, as
    the paper reports the distribution of errors. Returns rows ``model`` x type with ``count``,
    ``share`` (percent) and ``wrong``/``n`` totals.
    """
    rows: list[dict[str, Any]] = []
    for model, part in errors.groupby("model", sort=False):
        n = len(part)
        wrong = int(part["error_type"].notna().sum())
        for t in ERROR_TYPES:
            c = int((part["error_type"] == t).sum())
            rows.append({"model": model, "error_type": t, "count": c,
                         "share": 100.0 * c / wrong if wrong else 0.0, "wrong": wrong, "n": n})
    return pd.DataFrame(rows, columns=["model", "error_type", "count", "share", "wrong", "n"])


def table2_wide(t2: pd.DataFrame) -> pd.DataFrame:
    """One row per model, one ``count (share%)`` column per error type: the paper's layout."""
    out = []
    for model, part in t2.groupby("model", sort=False):
        row: dict[str, Any] = {"Method": model_label(model)}
        for _, r in part.iterrows():
            row[r["error_type"]] = f"{int(r['count'])} ({r['share']:.1f}%)"
        row["wrong / n"] = f"{int(part['wrong'].iloc[0])} / {int(part['n'].iloc[0])}"
        out.append(row)
    return pd.DataFrame(out)


def _clip(s: Any, n: int) -> str:
    s = "" if s is None else str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def error_examples(errors: pd.DataFrame, per_type: int = 3, seed: int = 0, width: int = 240) -> pd.DataFrame:
    """A few examples of each error type (seeded sample, so the report is stable across reruns)."""
    rng = random.Random(seed)
    picked = []
    for t in ERROR_TYPES:
        part = errors[errors["error_type"] == t]
        idx = sorted(rng.sample(range(len(part)), min(per_type, len(part))))
        for i in idx:
            r = part.iloc[i]
            picked.append({"type": t, **({"benchmark": r["benchmark"]} if "benchmark" in r.index else {}),
                           "model": short_label(str(r["model"])), "setting": r["setting"],
                           "entry_id": r.get("entry_id"), "query": _clip(r.get("query"), width),
                           "reference": _clip(r.get("reference"), width), "response": _clip(r.get("response"), width)})
    cols = ["type", *(["benchmark"] if "benchmark" in errors.columns else []),
            "model", "setting", "entry_id", "query", "reference", "response"]
    return pd.DataFrame(picked, columns=cols)


def error_type_legend() -> pd.DataFrame:
    return pd.DataFrame([{"type": k, "meaning": v} for k, v in ERROR_TYPES.items()])
