"""Intervals that respect the benchmark's structure: resample whole functionality groups.

PEToolBench entries are not independent draws: one functionality group can hold dozens of entries that
share their candidates and their answer's provider, so a per-entry bootstrap understates the
uncertainty of an accuracy several times over. The cluster bootstrap draws groups with replacement
(every entry of a drawn group comes along), and the paired comparison of two prediction sets on the
same entries flips the sign of whole groups' differences for its p-value (a randomisation test whose
exchangeable unit is the group).

Outcomes are per-entry arrays aligned with one entry list; ``clusters`` gives each entry's group
(``Entry.func``; an entry without one is its own group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

CI_LEVEL = 0.95


def cluster_ids(entries: Sequence[Any]) -> np.ndarray:
    """Integer group index per entry: its ``func``, else a group of its own."""
    labels: dict[str, int] = {}
    out = np.empty(len(entries), dtype=np.int64)
    for i, e in enumerate(entries):
        key = f"func:{e.func}" if getattr(e, "func", None) not in (None, "") else f"entry:{e.entry_id}"
        out[i] = labels.setdefault(key, len(labels))
    return out


def _group_sums(values: np.ndarray, clusters: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(clusters, weights=values, minlength=n_groups)


def cluster_bootstrap_ci(columns: Sequence[np.ndarray], clusters: np.ndarray, n_boot: int = 1000, seed: int = 0,
                         level: float = CI_LEVEL) -> tuple[float, float] | None:
    """Percentile interval of the mean over ``columns`` (e.g. one per setting) of each column's mean,
    resampling whole clusters with replacement. Every column is aligned with ``clusters``.

    One draw of groups serves all columns (the settings of one entry are correlated). A resample's
    mean is the sum over drawn groups divided by the number of entries drawn (a ratio estimator: groups
    differ in size).
    """
    if n_boot <= 0 or not len(columns) or len(clusters) == 0:
        return None
    clusters = np.asarray(clusters)
    n_groups = int(clusters.max()) + 1
    sizes = np.bincount(clusters, minlength=n_groups).astype(np.float64)
    sums = np.stack([_group_sums(np.asarray(c, dtype=np.float64), clusters, n_groups) for c in columns])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    weights = np.stack([np.bincount(row, minlength=n_groups) for row in draws]).astype(np.float64)
    n_drawn = weights @ sizes
    reps = (weights @ sums.T) / n_drawn[:, None]  # (n_boot, columns)
    stat = reps.mean(axis=1)
    alpha = (1 - level) / 2 * 100
    lo, hi = np.percentile(stat, [alpha, 100 - alpha])
    return float(lo), float(hi)


@dataclass(frozen=True)
class PairedComparison:
    """B minus A on the same entries: the difference, its cluster-bootstrap interval, a p-value."""

    n: int
    n_groups: int
    mean_a: float
    mean_b: float
    diff: float
    ci: tuple[float, float] | None
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "n_groups": self.n_groups, "a": self.mean_a, "b": self.mean_b, "diff": self.diff,
                "ci": list(self.ci) if self.ci else None, "p_value": self.p_value}


def paired_comparison(a: Sequence[np.ndarray], b: Sequence[np.ndarray], clusters: np.ndarray, n_boot: int = 2000,
                      n_perm: int = 10000, seed: int = 0, level: float = CI_LEVEL) -> PairedComparison:
    """Compare two prediction sets' per-entry outcomes (``a[s][i]``, ``b[s][i]`` for column ``s``).

    The p-value is two-sided, from flipping the sign of each group's summed difference at random
    (``n_perm`` times, seeded): under "no difference", a group's difference is as likely negated.
    """
    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
        raise ValueError("paired comparison needs the same entries and settings on both sides")
    clusters = np.asarray(clusters)
    d = [np.asarray(y, dtype=np.float64) - np.asarray(x, dtype=np.float64) for x, y in zip(a, b)]
    n = len(clusters)
    mean_a = float(np.mean([np.mean(x) for x in a])) if n else 0.0
    mean_b = float(np.mean([np.mean(y) for y in b])) if n else 0.0
    diff = mean_b - mean_a
    ci = cluster_bootstrap_ci(d, clusters, n_boot=n_boot, seed=seed, level=level)
    n_groups = int(clusters.max()) + 1 if n else 0
    if n == 0:
        return PairedComparison(0, 0, 0.0, 0.0, 0.0, None, 1.0)
    g = np.mean([_group_sums(x, clusters, n_groups) for x in d], axis=0)  # per-group summed difference
    observed = abs(g.sum())
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n_perm, n_groups))
    null = np.abs(signs @ g)
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (n_perm + 1)
    return PairedComparison(n=n, n_groups=n_groups, mean_a=mean_a, mean_b=mean_b, diff=diff, ci=ci, p_value=float(p))
