"""Two of stage 05's defaults, measured on the released dev slice and its corpus (never on a constructed build's
baselines): how often the release holds the reference tool's twin APIs out of the history (``hold_rival_groups``)
and how far the release's retrieved candidates agree with MiniLM's (``retriever_noise``). Each is measured on
the whole slice and on its two group-disjoint folds (``split_folds`` by functionality group), so the spread
across held-out groups is shown beside the value. Not part of `make test`; needs ../shared.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_release_rates.py [--no-docs]

Writes benchmarks/results/construction_release_rates.json and the ``release_rates`` block of
docs/construction.md.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from petool_utils.benchmark.data import Entry, load_entries
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.construction.candidates import api_document, top_similar
from petool_utils.construction.preferences import tool_id
from petool_utils.construction.statistics import twin_shown_rates
from petool_utils.construction.toolbench import ToolRecord, iter_tool_files, load_tool_file, tool_record
from petool_utils.io import atomic_write_json
from petool_utils.models.embeddings import get_embedder
from petool_utils.paths import REPO_ROOT
from petool_utils.predictors.ranker.crossfit import split_folds
from petool_utils.report.docblocks import provenance, write_block

DOC = REPO_ROOT / "docs" / "construction.md"
RESULTS = REPO_ROOT / "benchmarks" / "results" / "construction_release_rates.json"
COMMAND = "python benchmarks/construction_release_rates.py"
NOISE_GRID = tuple(round(0.0125 * i, 4) for i in range(17))  # 0 to 0.2
TOP = 5
SEEDS = (0, 1, 2)


def corpus_records(tools_dir: Path) -> list[ToolRecord]:
    """Every API of a ``toolenv/tools`` folder, unfiltered (the release's names must all be found)."""
    rows = [r for f in iter_tool_files(tools_dir) for r in load_tool_file(f, tools_dir)]
    return [tool_record(r, i) for i, r in enumerate(rows)]


def _top_outside(ranked: np.ndarray, names: Sequence[str], group: set[str], k: int) -> set[str]:
    return set([names[i] for i in ranked if names[i] not in group][:k])


DEPTH = 40
"""Ranks kept per query: enough to find ``TOP`` outside the largest group."""


def agreement(entries: Sequence[Entry], names: Sequence[str], clean: np.ndarray, q: np.ndarray, d: np.ndarray,
              noise: float | None, seed: int = 0) -> float:
    """Mean number of MiniLM's top ``TOP`` APIs outside the reference's group (``clean``: its noiseless ranking
    for the entries' queries) that are among a second list: the entry's released candidates (``noise`` None), or
    the top ``TOP`` of the same retriever with Gaussian noise of that standard deviation on its scores (what
    stage 05 does)."""
    other = None if noise is None else top_similar(q, d, DEPTH, noise=noise, rng=np.random.default_rng([seed, 5005]))
    hits = []
    for i, e in enumerate(entries):
        group = {m.full_name for m in e.apis_same_func}
        want = _top_outside(clean[i], names, group, TOP)
        got = ({c.tool_name for c in e.candidates} - group) if other is None else _top_outside(other[i], names, group, TOP)
        hits.append(len(want & got))
    return float(np.mean(hits)) if hits else float("nan")


def noise_fit(entries: Sequence[Entry], names: Sequence[str], q: np.ndarray, d: np.ndarray) -> dict:
    """The release's agreement and the noise whose agreement (mean over ``SEEDS``) comes closest to it."""
    clean = top_similar(q, d, DEPTH)
    target = agreement(entries, names, clean, q, d, None)
    curve = {s: float(np.mean([agreement(entries, names, clean, q, d, s, seed) for seed in SEEDS]))
             for s in NOISE_GRID}
    best = min(NOISE_GRID, key=lambda s: (abs(curve[s] - target), s))
    return {"release_agreement": target, "curve": curve, "noise": best}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    if shared is None:
        raise SystemExit("the released dev slice (../shared/petoolbench) is needed: nothing to measure")
    tools_dir = shared / "toolenv" / "tools"
    entries = load_entries(shared / DEV_SLICE_NAME)
    records = corpus_records(tools_dir)
    names = [r.full_name for r in records]
    apis: dict[str, list[str]] = defaultdict(list)
    for n in names:
        apis[tool_id(n)].append(n)
    emb = get_embedder("minilm")
    d = emb.embed([api_document(r) for r in records])
    parts = {"all": entries, **{f"fold {k}": f for k, f in enumerate(split_folds(entries, 2))}}
    result: dict = {"twins": {}, "retriever": {}}
    for name, part in parts.items():
        result["twins"][name] = twin_shown_rates(part, apis)
        result["retriever"][name] = noise_fit(part, names, emb.embed([e.query for e in part]), d)
        result["retriever"][name]["entries"] = len(part)
        print(name, result["twins"][name], result["retriever"][name], flush=True)
    lines = ["| entries | twin APIs of the reference tool shown | its other APIs shown | hold share (1 - ratio) | "
             "MiniLM's top 5 among the released candidates (mean) | noise whose top 5 agree as much |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name in parts:
        t, r = result["twins"][name], result["retriever"][name]
        lines.append(f"| {name} ({r['entries']}) | {t['twins_shown']} of {t['twins']} ({t['twin_rate']:.3f}) | "
                     f"{t['others_shown']} of {t['others']} ({t['other_rate']:.3f}) | {t['hold_share']:.2f} | "
                     f"{r['release_agreement']:.2f} | {r['noise']} |")
    curve = result["retriever"]["all"]["curve"]
    lines += ["", "Agreement of the noisy retriever with the clean one (all entries, mean of 3 seeds): "
              + ", ".join(f"{s}: {v:.2f}" for s, v in curve.items()) + ".",
              "", provenance(COMMAND)]
    table = "\n".join(lines)
    result["table"] = table
    result["provenance"] = provenance(COMMAND)
    atomic_write_json(RESULTS, result)
    print(table)
    if not args.no_docs:
        write_block(DOC, "release_rates", table)


if __name__ == "__main__":
    main()
