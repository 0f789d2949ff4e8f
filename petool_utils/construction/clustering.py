"""Stage 03: functionality groups. DBSCAN (cosine) on the functionality embeddings, then each cluster
is split by category and input format, and parts of at least two tools are kept as groups.

Why the split: DBSCAN puts together APIs whose descriptions read alike, but two tools are only
interchangeable for a user when a call to one can be made to the other: same category of service
and the same inputs. ``io_match`` says how strictly "same inputs" is read:
``exact`` (same required and optional parameter names and types), ``required`` (same required
parameter names and types; optional extras may differ), ``none``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from petool_utils.construction.toolbench import ToolRecord, signature
from petool_utils.io import atomic_write_json, read_json

IO_MATCH = ("exact", "required", "none")


def dbscan_labels(emb: np.ndarray, eps: float, min_samples: int = 2) -> np.ndarray:
    """DBSCAN labels with cosine distance (``-1`` = noise). Rows must be L2-normalised."""
    from sklearn.cluster import DBSCAN

    if len(emb) == 0:
        return np.zeros(0, dtype=int)
    return DBSCAN(eps=eps, min_samples=min_samples, metric="cosine").fit(emb).labels_


def io_key(t: ToolRecord, io_match: str) -> tuple:
    if io_match == "none":
        return ()
    req, opt = signature(t.required_parameters, t.optional_parameters)
    if io_match == "required":
        return (req,)
    if io_match == "exact":
        return (req, opt)
    raise ValueError(f"io_match must be one of {IO_MATCH}, got {io_match!r}")


def refine_groups(tools: Sequence[ToolRecord], labels: Sequence[int], io_match: str = "required",
                  same_category: bool = True) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Split DBSCAN clusters by (category, input format); keep parts with >= 2 tools.

    Returns the groups (ids ``g000``... in order of first member) and counts of what the split did.
    """
    parts: dict[tuple, list[str]] = defaultdict(list)
    n_clusters = len({lab for lab in labels if lab >= 0})
    for t, lab in zip(tools, labels):
        if lab < 0:
            continue
        parts[(int(lab), t.category if same_category else "", io_key(t, io_match))].append(t.full_name)
    order = {t.full_name: i for i, t in enumerate(tools)}
    kept = sorted((members for members in parts.values() if len(members) >= 2), key=lambda m: order[m[0]])
    groups = {f"g{i:03d}": m for i, m in enumerate(kept)}
    stats = {
        "n_tools": len(tools),
        "dbscan_noise": int(sum(1 for lab in labels if lab < 0)),
        "dbscan_clusters": n_clusters,
        "parts_after_category_io_split": len(parts),
        "singletons_dropped_by_split": sum(1 for m in parts.values() if len(m) < 2),
        "groups": len(groups),
        "tools_in_groups": sum(len(m) for m in groups.values()),
    }
    return groups, stats


def cluster_tools(tools: Sequence[ToolRecord], emb: np.ndarray, eps: float, min_samples: int = 2,
                  io_match: str = "required", same_category: bool = True) -> tuple[dict[str, list[str]], dict[str, int]]:
    return refine_groups(tools, dbscan_labels(emb, eps, min_samples), io_match, same_category)


class ClusterScore(BaseModel):
    """Agreement with reference labels over the labelled APIs present (ungrouped = own singleton)."""

    n_labelled: int
    n_present: int
    ari: float
    pair_precision: float
    pair_recall: float
    pair_f1: float


def score_groups(groups: Mapping[str, Iterable[str]], labels: Mapping[str, str],
                 corpus: Iterable[str] | None = None) -> ClusterScore:
    """ARI and pairwise precision/recall of ``groups`` against ``labels`` over the labelled APIs present.

    ``corpus`` is the set of API names that reached clustering (default: those in a group). A labelled
    API of the corpus that is in no group counts as a cluster of its own (it was grouped with nothing),
    so recall pays for it. Labelled APIs outside the corpus are left out; ``n_present`` says how many.
    """
    from sklearn.metrics import adjusted_rand_score

    pred: dict[str, str] = {m: gid for gid, members in groups.items() for m in members}
    universe = set(corpus) if corpus is not None else set(pred)
    present = sorted(k for k in labels if k in universe)
    truth = [labels[k] for k in present]
    guess = [pred.get(k, f"single:{k}") for k in present]
    tp = fp = fn = 0
    for i, j in combinations(range(len(present)), 2):
        same_t, same_p = truth[i] == truth[j], guess[i] == guess[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    ari = float(adjusted_rand_score(truth, guess)) if present else float("nan")
    return ClusterScore(n_labelled=len(labels), n_present=len(present), ari=ari, pair_precision=prec,
                        pair_recall=rec, pair_f1=f1)


def eps_sweep(tools: Sequence[ToolRecord], emb: np.ndarray, eps_values: Sequence[float], min_samples: int = 2,
              io_match: str = "required", labels: Mapping[str, str] | None = None) -> list[dict]:
    """Groups found (and, with reference labels, ARI/precision/recall) per eps: the sweep plot's data."""
    rows = []
    names = [t.full_name for t in tools]
    for eps in eps_values:
        groups, stats = cluster_tools(tools, emb, float(eps), min_samples, io_match)
        row = {"eps": round(float(eps), 4), **stats}
        if labels:
            row.update(score_groups(groups, labels, names).model_dump())
        rows.append(row)
    return rows


def write_groups(run_dir: str | os.PathLike[str], groups: Mapping[str, list[str]]) -> Path:
    """``groups.json``: ``{"<group id>": ["<Category>.<Tool>.<API>", ...]}`` (format fixed by the issue)."""
    return atomic_write_json(Path(run_dir) / "groups.json", dict(groups))


def read_groups(run_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    path = Path(run_dir) / "groups.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 03_tool_clustering first")
    return read_json(path)


def load_func_labels(path: str | os.PathLike[str]) -> dict[str, str]:
    """``func_labels_dev.json``: ``{"<Category>.<Tool>.<API>": "<group id>"}``."""
    return {k: str(v) for k, v in read_json(path).items()}
