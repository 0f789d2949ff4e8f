"""Figures of the construction notebooks (plotly, interactive in JupyterLab and in the HTML reports)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd


def eps_sweep_figure(sweep: Sequence[dict], chosen_eps: float | None = None, rule: str | None = None,
                     rule_curve: Sequence[dict] = ()):
    """Groups found per eps, ARI / pairwise precision / recall when the sweep was scored, the radius in use
    (``rule``: how it was chosen) and the label-free rule's estimated share of false links per radius."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = pd.DataFrame(sweep)
    scored = "ari" in df.columns
    second = scored or bool(rule_curve)
    fig = make_subplots(specs=[[{"secondary_y": second}]])
    fig.add_trace(go.Scatter(x=df["eps"], y=df["groups"], name="groups", mode="lines+markers"), secondary_y=False)
    if scored:
        for col in ("ari", "pair_precision", "pair_recall"):
            fig.add_trace(go.Scatter(x=df["eps"], y=df[col], name=col, mode="lines+markers", line={"dash": "dot"}),
                          secondary_y=True)
    if rule_curve:
        rc = pd.DataFrame(rule_curve)
        rc = rc[rc["eps"] <= max(df["eps"].max() if len(df) else 0, chosen_eps or 0) * 1.25]
        fig.add_trace(go.Scatter(x=rc["eps"], y=rc["est_false_link_share"], name="rule: est. false-link share",
                                 mode="lines", line={"dash": "dash", "color": "grey"}), secondary_y=True)
    if second:
        fig.update_yaxes(title_text="share / score vs. labels", range=[0, 1.05], secondary_y=True)
    if chosen_eps is not None:
        label = f"eps={chosen_eps}" + (f" ({rule})" if rule else "")
        fig.add_vline(x=chosen_eps, line_dash="dash", annotation_text=label)
    fig.update_layout(title="DBSCAN eps: the radius in use beside the sweep", xaxis_title="eps (cosine distance)")
    fig.update_yaxes(title_text="functionality groups", secondary_y=False)
    return fig


def eps_rule_figure(targets: np.ndarray, decoys: np.ndarray, chosen_eps: float | None = None):
    """What the radius rule reads: each API's distance to its nearest API of another tool (links) and to
    the nearest other endpoint of its own tool (decoys: never the same functionality)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    bins = {"start": 0.0, "end": float(max([*targets, *decoys, 0.1])) + 0.02, "size": 0.02}
    fig.add_trace(go.Histogram(x=list(targets), name="nearest API of another tool", xbins=bins, opacity=0.6))
    fig.add_trace(go.Histogram(x=list(decoys), name="nearest endpoint of its own tool (decoy)", xbins=bins,
                               opacity=0.6))
    if chosen_eps is not None:
        fig.add_vline(x=chosen_eps, line_dash="dash", annotation_text=f"eps={chosen_eps}")
    fig.update_layout(barmode="overlay", title="Nearest-neighbour distances the radius rule reads",
                      xaxis_title="distance", yaxis_title="APIs")
    return fig


def project_2d(emb: np.ndarray, method: str = "umap", seed: int = 0) -> np.ndarray:
    """2-D coordinates: UMAP (cosine) or PCA (fast, for smoke runs)."""
    if len(emb) < 4 or method == "pca":
        from sklearn.decomposition import PCA

        k = min(2, emb.shape[0], emb.shape[1])
        xy = PCA(n_components=k, random_state=seed).fit_transform(emb) if k else np.zeros((len(emb), 2))
        return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1])))
    if method != "umap":
        raise ValueError(f"projection must be 'umap' or 'pca', got {method!r}")
    import umap

    return umap.UMAP(n_neighbors=min(15, len(emb) - 1), metric="cosine", random_state=seed).fit_transform(emb)


def group_map_figure(xy: np.ndarray, names: Sequence[str], groups: Mapping[str, Sequence[str]], title: str):
    """Scatter of the APIs coloured by functionality group (ungrouped in grey), full name on hover."""
    import plotly.express as px

    gid = {m: g for g, ms in groups.items() for m in ms}
    df = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "api": list(names),
                       "group": [gid.get(n, "ungrouped") for n in names]})
    df["category"] = df["api"].str.extract(r"^<([^>]*)>", expand=False)
    fig = px.scatter(df, x="x", y="y", color="group", hover_name="api", hover_data={"category": True, "x": False, "y": False},
                     title=title, color_discrete_map={"ungrouped": "lightgrey"},
                     render_mode="svg")  # not WebGL past 1,000 points: the report's cartesian plotly.js draws it
    fig.update_layout(showlegend=len(groups) <= 30)
    return fig
