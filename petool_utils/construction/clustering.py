"""Stage 03: functionality groups, found without labels.

1. **Features.** Each API is read as one text: its name in words, the functionality description
   (the LLM's, or the offline stand-in's), the API description where the functionality text does
   not already carry it, and optionally its inputs (parameter names and normalised types). The texts
   are embedded; the distance of two APIs is the cosine distance of their texts, blended with a
   schema distance (1 - Jaccard of their normalised parameters) by ``schema_weight``.
2. **DBSCAN** on that distance within each category (a group stays within a category; distances are
   only formed within a category, so memory grows with the largest category, not with the corpus).
3. **One API per tool.** A group lists alternative *providers* of one functionality, so two endpoints
   of one tool are never in one group (stage 01 removed aliases, so they do different things). A
   DBSCAN cluster that holds two endpoints of one tool is split by single linkage that refuses any
   merge joining two endpoints of a tool: the closest links are kept first, so "Daily Match
   List-Live" of four sports APIs stays apart from their "-Scheduled" endpoints.
4. Optionally a split by input format (``io_match``: ``exact`` same required and optional parameter
   names and types, ``required`` same required ones, ``none``). Parts of at least two APIs are the groups.

**The radius (``eps="auto"``).** The endpoints of one tool are, by construction, *different*
functionalities, written in the vocabulary of the same provider: the distance from an API to the
nearest other endpoint of its own tool is a label-free sample of how close two different
functionalities come in this corpus, with this embedder and this writer of descriptions (decoys, as
in target-decoy false-discovery control). The distance from an API to its nearest API of another tool
of its category is the link single linkage would use (targets). At radius ``t`` the expected number of
false links is ``n_targets * F_decoy(t)``; the rule takes the largest ``t`` at which that estimate is at
most ``fdr`` of the links within ``t``, and places eps halfway to the next distance (target or decoy).
With fewer than ``min_decoys`` decoys (corpora of one-endpoint tools), it splits the nearest-neighbour
distances in two by Otsu's criterion on the Euclidean scale (``sqrt(2 * cosine distance)``): the
gap between "has an equivalent" and "has none". Labels, when present, only score the result.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from petool_utils.construction.toolbench import ToolRecord
from petool_utils.construction.preferences import tool_id
from petool_utils.benchmark.locate import require_input
from petool_utils.io import atomic_write_json, read_json
from petool_utils.construction.standin import first_sentences, humanize

IO_MATCH = ("exact", "required", "none")
FEATURES = ("name_func", "name_func_inputs", "func")
"""Feature texts: name + functionality (+ API description when the functionality lacks it); the same
followed by the inputs; the functionality text alone (what stage 03 embedded before)."""


# -- features ---------------------------------------------------------------------------------------

_TYPES = (("NUMBER", "number"), ("INTEGER", "number"), ("INT", "number"), ("FLOAT", "number"), ("DOUBLE", "number"),
          ("BOOL", "boolean"), ("STRING", "string"), ("ENUM", "string"), ("ARRAY", "array"), ("LIST", "array"),
          ("OBJECT", "object"), ("DATE", "date"), ("GEOPOINT", "geopoint"))


def normalise_type(typ: str | None) -> str:
    """``NUMBER``/``integer``/``Float`` -> ``number``; ``ENUM`` -> ``string``; ``DATE (YYYY-MM-DD)`` -> ``date``.

    Providers spell one kind of input many ways; what a caller must supply is the kind, not the spelling.
    """
    t = (typ or "").strip().upper()
    for prefix, kind in _TYPES:
        if t.startswith(prefix):
            return kind
    return t.lower() or "string"


def name_words(name: str) -> str:
    """``getPetById`` -> ``get pet by id``; ``products/v2/detail`` -> ``products detail`` (version tags go)."""
    return humanize(name).lower()


def schema_tokens(t: ToolRecord) -> frozenset[str]:
    """The inputs as ``"<name words>:<kind>"``, required and optional together."""
    return frozenset(f"{name_words(p.name)}:{normalise_type(p.type)}" for p in t.parameters)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def feature_text(t: ToolRecord, features: str = "name_func") -> str:
    """What the embedder reads for one API (see the module docstring). Works on a stage-01 record too
    (no ``functionality`` yet: the API description stands in)."""
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    func = (getattr(t, "functionality", "") or "").strip()
    if features == "func":
        return func or first_sentences(t.api_description, n=2) or name_words(t.api_name)
    name = name_words(t.api_name)
    desc = first_sentences(t.api_description, n=2)
    parts = [name + "."]
    if func:
        parts.append(func)
    if desc and _squash(desc) not in _squash(func):
        parts.append(desc)
    if features == "name_func_inputs":
        req = ", ".join(f"{name_words(p.name)} ({normalise_type(p.type)})" for p in t.required_parameters)
        parts.append(f"Inputs: {req or 'none'}.")
    return " ".join(parts)


def schema_distance(tools: Sequence[ToolRecord]) -> np.ndarray:
    """``1 - Jaccard`` of the normalised inputs; two APIs without inputs are at 0."""
    toks = [schema_tokens(t) for t in tools]
    vocab = {tok: i for i, tok in enumerate(sorted(set().union(*toks)))} if toks else {}
    m = np.zeros((len(toks), max(1, len(vocab))), dtype=np.float64)
    for row, ts in enumerate(toks):
        m[row, [vocab[t] for t in ts]] = 1.0
    inter = m @ m.T
    size = m.sum(axis=1)
    union = size[:, None] + size[None, :] - inter
    out = 1.0 - np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
    np.fill_diagonal(out, 0.0)
    return out


def pair_distances(emb: np.ndarray, tools: Sequence[ToolRecord] | None = None,
                   schema_weight: float = 0.0) -> np.ndarray:
    """Cosine distance of the (L2-normalised) rows, blended with the schema distance by ``schema_weight``."""
    emb = np.asarray(emb)
    if emb.shape[1] > 1024:  # sparse features (TF-IDF over a vocabulary): columns of zeros add nothing
        emb = emb[:, np.any(emb != 0, axis=0)]
    dist = np.clip(1.0 - (emb @ emb.T).astype(np.float64), 0.0, 2.0)
    if schema_weight:
        if tools is None:
            raise ValueError("schema_weight needs the tools")
        dist = (1.0 - schema_weight) * dist + schema_weight * schema_distance(tools)
    np.fill_diagonal(dist, 0.0)
    return dist


def category_blocks(tools: Sequence[ToolRecord], same_category: bool = True) -> list[np.ndarray]:
    """Row indices that may be linked: one block per category (or one block of everything). Distances are
    only ever formed within a block, so memory grows with the largest category, not with the corpus."""
    if not same_category:
        return [np.arange(len(tools))] if len(tools) else []
    by: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(tools):
        by[t.category].append(i)
    return [np.array(v) for v in by.values()]


def _tool_ids(tools: Sequence[ToolRecord]) -> np.ndarray:
    ids: dict[tuple[str, str], int] = {}
    return np.array([ids.setdefault((t.category, t.tool_name), len(ids)) for t in tools], dtype=int)


# -- the radius --------------------------------------------------------------------------------------

class EpsChoice(BaseModel):
    """The radius the label-free rule chose, and what it saw (``curve``: the estimated share of false
    links per candidate radius, for the notebook's plot)."""

    eps: float
    rule: str  # "decoy_fdr" | "otsu_fallback" | "fixed"
    fdr: float | None = None
    n_targets: int = 0
    n_decoys: int = 0
    curve: list[dict] = Field(default_factory=list)


def nearest_distances(emb: np.ndarray, tools: Sequence[ToolRecord], schema_weight: float = 0.0,
                      same_category: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per API: the distance to its nearest API of another tool within reach (targets) and to its nearest
    other endpoint of its own tool (decoys); sorted. APIs with no such neighbour contribute nothing."""
    tid = _tool_ids(tools)
    targets, decoys = [], []
    for idx in category_blocks(tools, same_category):
        dist = pair_distances(emb[idx], [tools[i] for i in idx], schema_weight)
        same = tid[idx][:, None] == tid[idx][None, :]
        np.fill_diagonal(same, False)
        other = tid[idx][:, None] != tid[idx][None, :]
        targets.append(np.where(other, dist, np.inf).min(axis=1))
        decoys.append(np.where(same, dist, np.inf).min(axis=1))
    t = np.concatenate(targets) if targets else np.zeros(0)
    d = np.concatenate(decoys) if decoys else np.zeros(0)
    return np.sort(t[np.isfinite(t)]), np.sort(d[np.isfinite(d)])


def _otsu(x: np.ndarray) -> float:
    """The threshold that maximises the between-class variance of a two-way split of ``x``."""
    x = np.sort(x)
    best, thr = -1.0, float(x[0]) if len(x) else 0.0
    csum = np.cumsum(x)
    n = len(x)
    for k in range(1, n):
        if x[k] == x[k - 1]:
            continue
        w0, w1 = k / n, (n - k) / n
        m0, m1 = csum[k - 1] / k, (csum[-1] - csum[k - 1]) / (n - k)
        v = w0 * w1 * (m0 - m1) ** 2
        if v > best:
            best, thr = v, (x[k - 1] + x[k]) / 2
    return float(thr)


def choose_eps(emb: np.ndarray, tools: Sequence[ToolRecord], fdr: float = 0.1, schema_weight: float = 0.0,
               same_category: bool = True, min_decoys: int | None = None) -> EpsChoice:
    """The label-free radius (module docstring): decoy-calibrated false-link control, Otsu as fallback.

    ``min_decoys`` defaults to ``ceil(1 / fdr)``: with fewer decoys the estimate moves in steps coarser
    than the share it must resolve."""
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be in (0, 1), got {fdr}")
    min_decoys = int(np.ceil(1 / fdr - 1e-9)) if min_decoys is None else min_decoys
    targets, decoys = nearest_distances(emb, tools, schema_weight, same_category)
    if len(targets) < 2:
        return EpsChoice(eps=0.0, rule="decoy_fdr", fdr=fdr, n_targets=len(targets), n_decoys=len(decoys))
    ts = np.unique(targets)
    if len(decoys) >= min_decoys:
        n_links = np.searchsorted(targets, ts, side="right")
        est = len(targets) * np.searchsorted(decoys, ts, side="right") / len(decoys) / n_links
        ok = np.flatnonzero(est <= fdr)
        k = int(ok.max()) if len(ok) else -1
        if k < 0:
            eps = float(ts[0]) / 2
        else:  # halfway to the next distance at which anything happens: a further link, or a decoy
            nxt = [float(ts[k + 1])] if k + 1 < len(ts) else []
            nxt += [float(x) for x in decoys[decoys > ts[k]][:1]]
            eps = (float(ts[k]) + min(nxt)) / 2 if nxt else float(ts[k])
        step = max(1, len(ts) // 200)
        curve = [{"eps": round(float(t), 4), "est_false_link_share": round(float(min(e, 1.0)), 4), "links": int(n)}
                 for t, e, n in zip(ts[::step], est[::step], n_links[::step])]
        return EpsChoice(eps=round(eps, 4), rule="decoy_fdr", fdr=fdr, n_targets=len(targets), n_decoys=len(decoys),
                         curve=curve)
    eps = _otsu(np.sqrt(2.0 * targets)) ** 2 / 2.0
    return EpsChoice(eps=round(eps, 4), rule="otsu_fallback", n_targets=len(targets), n_decoys=len(decoys))


# -- grouping ----------------------------------------------------------------------------------------

def dbscan_labels(dist: np.ndarray, eps: float, min_samples: int = 2) -> np.ndarray:
    """DBSCAN labels on a precomputed distance matrix (``-1`` = noise)."""
    from sklearn.cluster import DBSCAN

    if len(dist) == 0:
        return np.zeros(0, dtype=int)
    return DBSCAN(eps=max(eps, 1e-9), min_samples=min_samples, metric="precomputed").fit(dist).labels_


def split_one_per_tool(dist: np.ndarray, labels: Sequence[int], tool_ids: Sequence[int], eps: float) -> np.ndarray:
    """Within each cluster, single linkage over the links <= eps, closest first, refusing a merge that
    would put two endpoints of one tool together. A cluster without such a conflict is left whole
    (its points are linked within eps: that is what put them in one DBSCAN cluster)."""
    labels = np.asarray(labels)
    tool_ids = np.asarray(tool_ids)
    out = labels.copy()
    next_label = int(labels.max()) + 1 if len(labels) else 0
    for lab in sorted(set(labels.tolist()) - {-1}):
        members = np.flatnonzero(labels == lab)
        if len(set(tool_ids[members].tolist())) == len(members):
            continue
        parent = {int(m): int(m) for m in members}
        tools_of = {int(m): {int(tool_ids[m])} for m in members}

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        sub = dist[np.ix_(members, members)]
        ii, jj = np.triu_indices(len(members), 1)
        d = sub[ii, jj]
        keep = d <= eps
        ii, jj, d = ii[keep], jj[keep], d[keep]
        for k in np.lexsort((jj, ii, d)):
            a, b = find(int(members[ii[k]])), find(int(members[jj[k]]))
            if a == b or tools_of[a] & tools_of[b]:
                continue
            parent[b] = a
            tools_of[a] |= tools_of.pop(b)
        roots: dict[int, int] = {}
        for m in members:
            r = find(int(m))
            roots.setdefault(r, next_label + len(roots))
            out[m] = roots[r]
        next_label += len(roots)
    return out


def io_key(t: ToolRecord, io_match: str) -> tuple:
    """The input format an API must share with its group (the paper keeps only groups whose members have the same
    input/output formats): ``exact`` the same required AND optional parameters, ``required`` the same required
    ones, ``none`` no check. Parameters compare by name in words and kind of type (``pageSize``/``page_size``,
    ``NUMBER``/``integer``), so a provider's spelling does not split a group. ToolBench documents no response
    schema, so the output side cannot be compared."""
    if io_match == "none":
        return ()
    if io_match not in IO_MATCH:
        raise ValueError(f"io_match must be one of {IO_MATCH}, got {io_match!r}")

    def key(ps: Iterable) -> tuple:
        return tuple(sorted({(name_words(p.name), normalise_type(p.type)) for p in ps}))

    req = key(t.required_parameters)
    return (req,) if io_match == "required" else (req, key(t.optional_parameters))


def refine_groups(tools: Sequence[ToolRecord], labels: Sequence[int], io_match: str = "none",
                  same_category: bool = True) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Split clusters by (category, input format); keep parts with >= 2 tools.

    Returns the groups (ids ``g000``... in order of first member) and counts of what the split did.
    """
    parts: dict[tuple, list[str]] = defaultdict(list)
    for t, lab in zip(tools, labels):
        if lab < 0:
            continue
        parts[(int(lab), t.category if same_category else "", io_key(t, io_match))].append(t.full_name)
    order = {t.full_name: i for i, t in enumerate(tools)}
    kept = sorted((members for members in parts.values() if len(members) >= 2), key=lambda m: order[m[0]])
    groups = {f"g{i:03d}": m for i, m in enumerate(kept)}
    cluster_size: dict[tuple, int] = defaultdict(int)
    for (lab, cat, _), members in parts.items():
        cluster_size[(lab, cat)] += len(members)
    stats = {
        "apis_removed_by_io_filter": sum(len(m) for (lab, cat, _), m in parts.items()
                                         if len(m) < 2 and cluster_size[(lab, cat)] >= 2),
        "parts_after_category_io_split": len(parts),
        "singletons_dropped_by_split": sum(1 for m in parts.values() if len(m) < 2),
        "groups": len(groups),
        "tools_in_groups": sum(len(m) for m in groups.values()),
    }
    return groups, stats


def group_tools(tools: Sequence[ToolRecord], emb: np.ndarray, eps: float, min_samples: int = 2,
                io_match: str = "none", one_per_tool: bool = True, same_category: bool = True,
                schema_weight: float = 0.0) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Steps 2-4 of the module docstring: DBSCAN per category block, the one-API-per-tool split, the
    input-format split. Returns the groups and counts of what each step did."""
    groups, _, stats = functionality_groups(tools, emb, eps, min_samples, io_match, one_per_tool, same_category,
                                            schema_weight)
    return groups, stats


def functionality_groups(tools: Sequence[ToolRecord], emb: np.ndarray, eps: float, min_samples: int = 2,
                         io_match: str = "none", one_per_tool: bool = True, same_category: bool = True,
                         schema_weight: float = 0.0) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, int]]:
    """:func:`group_tools`, plus the same clustering's parts before the input-format split (what stage 03 writes
    to :data:`FUNCTIONS_FILE`): the groups, those functionality clusters, and the counts of the groups' steps."""
    emb = np.asarray(emb)
    tid = _tool_ids(tools)
    labels = np.full(len(tools), -1, dtype=int)
    split = labels.copy()
    offset = 0
    for idx in category_blocks(tools, same_category):
        dist = pair_distances(emb[idx], [tools[i] for i in idx], schema_weight)
        lab = dbscan_labels(dist, eps, min_samples)
        sp = split_one_per_tool(dist, lab, tid[idx], eps) if one_per_tool else lab
        labels[idx] = np.where(lab >= 0, lab + offset, -1)
        split[idx] = np.where(sp >= 0, sp + offset, -1)
        offset += int(max(lab.max(initial=-1), sp.max(initial=-1))) + 1
    groups, stats = refine_groups(tools, split, io_match, same_category)
    functions = groups if io_match == "none" else refine_groups(tools, split, "none", same_category)[0]
    return groups, functions, {"n_tools": len(tools), "dbscan_noise": int((labels < 0).sum()),
                               "dbscan_clusters": len(set(labels.tolist()) - {-1}),
                               "clusters_after_one_per_tool": len(set(split.tolist()) - {-1}), **stats}


# -- scoring -----------------------------------------------------------------------------------------

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
              io_match: str = "none", labels: Mapping[str, str] | None = None, one_per_tool: bool = True,
              same_category: bool = True, schema_weight: float = 0.0) -> list[dict]:
    """Groups found (and, with reference labels, ARI/precision/recall) per eps: the sweep plot's data."""
    rows = []
    names = [t.full_name for t in tools]
    for eps in eps_values:
        groups, stats = group_tools(tools, emb, float(eps), min_samples, io_match, one_per_tool, same_category,
                                    schema_weight)
        row = {"eps": round(float(eps), 4), **stats}
        if labels:
            row.update(score_groups(groups, labels, names).model_dump())
        rows.append(row)
    return rows


# -- files -------------------------------------------------------------------------------------------

GROUPS_FILE = "groups.json"
FUNCTIONS_FILE = "functions.json"
"""The functionality clusters before the input-format split (``io_match``), in the layout of ``groups.json``:
two providers of one functionality whose parameters differ sit in two groups, or in none, but in one of these.
Stage 05 reads them so that a query never asks a user to choose between providers of a functionality the user
has used another provider of (``unambiguous_queries``)."""


def write_groups(run_dir: str | os.PathLike[str], groups: Mapping[str, list[str]], name: str = GROUPS_FILE) -> Path:
    """``groups.json``: ``{"<group id>": ["<Category>.<Tool>.<API>", ...]}`` (format fixed by the issue)."""
    return atomic_write_json(Path(run_dir) / name, dict(groups))


def read_groups(run_dir: str | os.PathLike[str], name: str = GROUPS_FILE) -> dict[str, list[str]]:
    return read_json(require_input(Path(run_dir) / name))


def function_tools(groups: Mapping[str, Sequence[str]], functions: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """Each group's functionality cluster (the one of ``functions`` that holds its members), as the set of tools
    offering it (``<Category>.<Tool>``): the group's own tools and those the input-format split left out."""
    cluster_of = {m: f for f, ms in functions.items() for m in ms}
    out: dict[str, set[str]] = {}
    for g, members in groups.items():
        tools = {tool_id(m) for m in members}
        for f in {cluster_of[m] for m in members if m in cluster_of}:
            tools |= {tool_id(m) for m in functions[f]}
        out[g] = tools
    return out


def load_func_labels(path: str | os.PathLike[str]) -> dict[str, str]:
    """``func_labels_dev.json``: ``{"<Category>.<Tool>.<API>": "<group id>"}``."""
    return {k: str(v) for k, v in read_json(path).items()}
