"""Stage 06: the paper's Table 3 (instances and history lengths per setting and split), Figure 4
(category distribution) and the fidelity table (how the histories are built: issue 15's comparison) for any
benchmark in the release layout, constructed or released."""

from __future__ import annotations

import json
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, HistoryItem, split_api_name


def table3(splits: Mapping[str, Sequence[Entry]]) -> pd.DataFrame:
    """One row per (split, setting): instances, history length (mean/min/max), tools, groups, categories."""
    rows = []
    for split, entries in splits.items():
        for s in SETTINGS:
            have = [e for e in entries if getattr(e, f"instruction_{s}", None) is not None]
            lengths = [len(e.history(s)) for e in have]
            tools = {e.reference.tool_name for e in have}
            rows.append({
                "split": split,
                "setting": s,
                "instances": len(have),
                "avg_history_length": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
                "min_history_length": min(lengths, default=0),
                "max_history_length": max(lengths, default=0),
                "reference_tools": len(tools),
                "functionality_groups": len({e.func for e in have if e.func is not None}),
                "categories": len({split_api_name(t)[0] for t in tools}),
                "avg_candidates": round(sum(len(e.candidates) for e in have) / len(have), 2) if have else 0.0,
            })
    return pd.DataFrame(rows)


def category_distribution(entries: Sequence[Entry]) -> pd.DataFrame:
    """Entries per category of the reference tool, largest first (Figure 4's data)."""
    counts = pd.Series([split_api_name(e.reference.tool_name)[0] for e in entries], dtype="object").value_counts()
    df = counts.rename_axis("category").reset_index(name="entries")
    df = df.sort_values(["entries", "category"], ascending=[False, True]).reset_index(drop=True)
    df["share"] = (df["entries"] / max(1, len(entries))).round(4)
    return df


def figure4(dist: pd.DataFrame, title: str):
    """A plotly pie of the category distribution (the paper draws Figure 4 as a pie)."""
    import plotly.express as px

    return px.pie(dist, names="category", values="entries", title=title, hole=0.3)


def _item_key(it: HistoryItem) -> str:
    return json.dumps([it.instruction, it.tool_call.tool_name, it.tool_call.parameters], sort_keys=True, ensure_ascii=False)


FIDELITY_ROWS = {
    "ref_api_in_preferred_history": "the reference API appears in the user's preferred history (share of entries)",
    "ref_tool_in_preferred_history": "the reference's tool appears in the preferred history (share of entries)",
    "liked_share_ratings": "liked share in rating-integrated histories (mean)",
    "disliked_per_entry": "non-preferred (disliked) items per rating-integrated history (mean)",
    "chronological_disliked_first": "chronological: every non-preferred item before every preferred one (share)",
    "ratings_chronological_same_items": "ratings and chronological histories hold the same items (share)",
    "distinct_apis_preferred_history": "distinct APIs in the preferred history (mean)",
    "history_length_min": "history_length (full history): min",
    "history_length_median": "history_length: median",
    "history_length_max": "history_length: max",
    "history_length_std": "history_length: standard deviation",
    "preferred_items_shown_mean": "items shown in the preferred-only prompt (mean)",
    "empty_reference_parameters": "reference call with empty parameters (share)",
    "reference_params_as_history": "reference call names the parameters its API's history calls name most often "
                                   "(share of entries whose API is in some history)",
}
"""The statistics of issue 15's comparison table, by key, with what each measures."""


def fidelity(entries: Sequence[Entry]) -> dict[str, float]:
    """How a benchmark's histories are built (the statistics in :data:`FIDELITY_ROWS`), for any benchmark in
    the release layout. The non-preferred items of an entry are the items rated 0 in its rating-integrated
    history; the chronological history is matched to them item by item."""
    n = len(entries)
    if n == 0:
        return {k: float("nan") for k in FIDELITY_ROWS}
    ref_api = ref_tool = disliked_first = same = empty = 0
    liked, n_disliked, distinct, shown = [], [], [], []
    for e in entries:
        pref = e.history("preferred")
        ref = e.reference.tool_name
        ref_api += any(it.tool_call.tool_name == ref for it in pref)
        ref_tool += any(split_api_name(it.tool_call.tool_name)[:2] == split_api_name(ref)[:2] for it in pref)
        distinct.append(len({it.tool_call.tool_name for it in pref}))
        shown.append(len(pref))
        empty += e.reference.parameters == {}
        rat, chrono = e.history("ratings"), e.history("chronological")
        if rat:
            liked.append(sum(it.rating == 1 for it in rat) / len(rat))
        bad = {_item_key(it) for it in rat if it.rating == 0}
        n_disliked.append(len(bad))
        flags = [_item_key(it) in bad for it in chrono]
        disliked_first += flags == sorted(flags, reverse=True)
        same += sorted(_item_key(it) for it in rat) == sorted(_item_key(it) for it in chrono)
    lengths = np.array([e.history_length if e.history_length is not None else len(e.history("preferred"))
                        for e in entries], dtype=float)
    return {
        "ref_api_in_preferred_history": ref_api / n,
        "ref_tool_in_preferred_history": ref_tool / n,
        "liked_share_ratings": float(np.mean(liked)) if liked else float("nan"),
        "disliked_per_entry": float(np.mean(n_disliked)),
        "chronological_disliked_first": disliked_first / n,
        "ratings_chronological_same_items": same / n,
        "distinct_apis_preferred_history": float(np.mean(distinct)),
        "history_length_min": float(lengths.min()),
        "history_length_median": float(np.median(lengths)),
        "history_length_max": float(lengths.max()),
        "history_length_std": float(lengths.std()),
        "preferred_items_shown_mean": float(np.mean(shown)),
        "empty_reference_parameters": empty / n,
        "reference_params_as_history": _params_as_history(entries),
    }


def _params_as_history(entries: Sequence[Entry]) -> float:
    """The parameter convention of the reference calls: the release writes a new request's call with the
    parameters of the API's tool-use example (the history items), so the reference names the same
    parameters as that API's most frequent history call; a benchmark whose references drop the optional
    ones teaches a different convention."""
    seen: dict[str, dict[frozenset[str], int]] = {}
    for e in entries:
        for it in e.history("ratings") or e.history("preferred"):
            counts = seen.setdefault(it.tool_call.tool_name, {})
            key = frozenset(it.tool_call.parameters)
            counts[key] = counts.get(key, 0) + 1
    hits = total = 0
    for e in entries:
        counts = seen.get(e.reference.tool_name)
        if counts:
            total += 1
            hits += frozenset(e.reference.parameters) == max(counts, key=lambda k: (counts[k], sorted(k)))
    return hits / total if total else float("nan")


def fidelity_table(benchmarks: Mapping[str, Sequence[Entry]]) -> pd.DataFrame:
    """One row per statistic, one column per benchmark (e.g. the released dev slice beside a constructed split)."""
    cols = {name: fidelity(entries) for name, entries in benchmarks.items()}
    df = pd.DataFrame({"statistic": list(FIDELITY_ROWS.values()), "key": list(FIDELITY_ROWS)})
    for name, stats in cols.items():
        df[name] = [round(stats[k], 4) for k in FIDELITY_ROWS]
    return df
