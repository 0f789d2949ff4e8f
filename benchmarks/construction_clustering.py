"""Clustering quality of stage 03 against the released functionality labels: an eps sweep per embedder
and input-format rule, on the shared corpus (or any corpus with a labels file). Not part of `make test`.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_clustering.py \
        [--tools-dir ../shared/petoolbench/toolenv/tools] [--labels ../shared/petoolbench/func_labels_dev.json]

Prints one line per (embedder, io_match, eps): groups, ARI, pairwise precision/recall, and timings;
writes the same as JSON to benchmarks/results/construction_clustering.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from petool_utils.construction.clustering import eps_sweep, load_func_labels
from petool_utils.construction.llm_calls import make_llm
from petool_utils.construction.toolbench import prepare_tools
from petool_utils.construction.understanding import understand_tools
from petool_utils.models.embeddings import get_embedder
from petool_utils.io import atomic_write_json
from petool_utils.paths import REPO_ROOT, shared_petoolbench_dir

EPS = [0.02, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4]


def main() -> None:
    shared = shared_petoolbench_dir() or REPO_ROOT.parent / "shared" / "petoolbench"
    ap = argparse.ArgumentParser()
    ap.add_argument("--tools-dir", default=str(shared / "toolenv" / "tools"))
    ap.add_argument("--labels", default=str(shared / "func_labels_dev.json"))
    args = ap.parse_args()
    tools, log = prepare_tools(args.tools_dir)
    with tempfile.TemporaryDirectory() as tmp:
        understood, _ = understand_tools(tools, make_llm("offline-standin", Path(tmp) / "c.sqlite"), tmp, progress=False)
    labels = load_func_labels(args.labels)
    rows = []
    for name in ("minilm", "tfidf"):
        t0 = time.perf_counter()
        emb = get_embedder(name).embed([t.functionality for t in understood])
        t_embed = time.perf_counter() - t0
        for io_match in ("exact", "required", "none"):
            for r in eps_sweep(understood, emb, EPS, 2, io_match, labels):
                rows.append({"embedder": name, "io_match": io_match, "embed_s": round(t_embed, 1), **r})
                print(f"{name:6s} {io_match:8s} eps={r['eps']:<6} groups={r['groups']:3d} ARI={r['ari']:.3f} "
                      f"P={r['pair_precision']:.3f} R={r['pair_recall']:.3f} (labelled present {r['n_present']})")
    out = REPO_ROOT / "benchmarks" / "results" / "construction_clustering.json"
    atomic_write_json(out, {"tools_dir": args.tools_dir, "n_apis": log.n_kept, "rows": rows})
    print(f"-> {out}")


if __name__ == "__main__":
    main()
