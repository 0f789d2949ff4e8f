"""Stage 06: the paper's Table 3 (instances and history lengths per setting and split) and Figure 4
(category distribution) for any benchmark in the release layout, constructed or released."""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, split_api_name


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
