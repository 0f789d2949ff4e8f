"""The tables of docs/ranker.md, written from one run so that they cannot go stale.

Runs :func:`petool_utils.evaluation.ranker_study.run_study` on the dev slice (group-disjoint 2-fold
cross-fitting, 95% cluster-bootstrap intervals over functionality groups), replaces every block
between ``<!-- ranker_tables.NAME:begin -->`` and ``<!-- ranker_tables.NAME:end -->`` in docs/ranker.md,
and saves the raw rows to ``benchmarks/results/ranker_tables.json``.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/ranker_tables.py [--data PATH] [--folds 2] [--n-boot 1000]

``--check`` only reports whether the docs match a fresh run (exit 1 if not).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "ranker.md"
RESULTS = ROOT / "benchmarks" / "results" / "ranker_tables.json"


def render(study, source: str) -> dict[str, str]:
    """Markdown for every named block of docs/ranker.md."""
    from petool_utils.evaluation import ranker_study as st

    md = st.to_markdown
    head = (f"_Written by `benchmarks/ranker_tables.py` from one run on {source}: {study.n_entries} entries, "
            f"{study.n_groups} functionality groups, {study.folds} folds by group ({' / '.join(map(str, study.fold_sizes))} "
            "entries). Cells in %; brackets: 95% cluster-bootstrap intervals resampling whole functionality groups._\n\n")
    main = head
    for metric, title in st.METRIC_NAMES.items():
        main += f"**{title}**\n\n{md(st.method_table(study.results, metric))}\n\n"
    subsets = {"critical": "personalization-critical", "rest": "the rest"}
    reuse = {"critical": "request seen before", "rest": "new request"}
    return {
        "main": main.rstrip() + "\n",
        "per-fold": md(st.per_fold_table(study.per_fold)) + "\n",
        "ablation": md(st.ablation_table(study.results)) + "\n",
        "design": md(st.design_view(study.design)) + "\n",
        "rules": md(st.rules_table(study.rules)) + "\n",
        "audit": md(st.audit_table(study.audit_summary)) + "\n",
        "critical": md(st.subset_table(study.critical, subsets)) + "\n",
        "reuse": md(st.subset_table(study.reuse, reuse)) + "\n",
        "errors": md(st.error_table(study.results)) + "\n",
        "classes": md(st.classes_table(study.classes)) + "\n",
        "silent": md(st.silent_table(study.silent)) + "\n",
        "binder": md(st.binder_table(study.binder)) + "\n",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="benchmark file or folder (default: the shared dev slice)")
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="compare with docs/ranker.md instead of writing it")
    args = ap.parse_args()

    from petool_utils.benchmark.data import load_benchmark
    from petool_utils.io import file_sha256
    from petool_utils.io import atomic_write_json, atomic_write_text
    from petool_utils.benchmark.locate import shared_petoolbench_dir
    from petool_utils.predictors.ranker.prior import benchmark_sources
    from petool_utils.evaluation.ranker_study import run_study
    from petool_utils.report.docblocks import replace_blocks

    data = args.data or shared_petoolbench_dir()
    if data is None:
        print("no benchmark: pass --data or set PETOOL_DATA_DIR", file=sys.stderr)
        return 2
    entries = load_benchmark(data)
    files = benchmark_sources(data)
    t0 = time.perf_counter()
    study = run_study(entries, folds=args.folds, n_boot=args.n_boot, seed=args.seed, progress=True)
    seconds = time.perf_counter() - t0
    source = "the PEToolBench dev slice" if any("dev" in f.name for f in files) else ", ".join(f.name for f in files)
    blocks = {f"ranker_tables.{k}": v for k, v in render(study, source).items()}
    text = DOC.read_text(encoding="utf-8")
    new, found = replace_blocks(text, blocks)
    missing = sorted(set(blocks) - set(found))
    if missing:
        print(f"{DOC}: no marker block for {missing}", file=sys.stderr)
        return 2
    if args.check:
        same = new == text
        print("docs/ranker.md is up to date" if same else "docs/ranker.md differs from a fresh run")
        return 0 if same else 1
    atomic_write_text(DOC, new)
    atomic_write_json(RESULTS, {
        "data": [{"path": str(f), "sha256": file_sha256(f)} for f in files], "folds": args.folds,
        "n_boot": args.n_boot, "seed": args.seed, "seconds": round(seconds, 1),
        "results": json.loads(study.results.to_json(orient="records")),
        "per_fold": json.loads(study.per_fold.to_json(orient="records")),
        "audit_summary": json.loads(study.audit_summary.to_json(orient="records")),
        "critical": json.loads(study.critical.to_json(orient="records")),
        "request_seen": json.loads(study.reuse.to_json(orient="records")),
        "rules": json.loads(study.rules.to_json(orient="records")),
        "design": json.loads(study.design.to_json(orient="records")),
        "error_classes": json.loads(study.classes.to_json(orient="records")),
        "silent_history": json.loads(study.silent.to_json(orient="records")),
        "binder": json.loads(study.binder.to_json(orient="records")),
    })
    print(f"wrote {len(blocks)} tables into {DOC} and the rows to {RESULTS} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
