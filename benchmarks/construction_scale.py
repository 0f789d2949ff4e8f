"""Construction at paper scale: stages 01-06 with the offline stand-in on a synthetic ToolBench corpus of
``--apis`` APIs, wall time and peak RSS per stage, then the ``offline:ranker`` evaluation of every entry in
the three settings. Not part of `make test`.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_scale.py --apis 16000 [--users 12000]

The corpus is renamed copies of the shared corpus (``../shared/petoolbench/toolenv/tools``; the built-in
corpus when it is absent): copy k of a tool is the tool ``<name> c<k>``, a distinct provider. Each copy is its
own set of functionalities, with its own labels (``func_labels.json``, the original label plus ``-c<k>``):
its API descriptions begin with "Edition k." and every API gets an optional parameter ``edition_k``, so the
copies neither share texts (every text is embedded, as in a real corpus) nor input formats (stage 03's
``io_match: exact`` keeps them apart). Users: ``--users`` (default 0.75 per API: 12,000 at 16,000 APIs),
one entry each (``queries_per_user: 1``).

Every stage runs in its own process, so its peak RSS is its own (``ru_maxrss`` of that process). Prints one
line per stage and, last, the summary line; writes benchmarks/results/construction_scale_<apis>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from petool_utils.construction import BUILTIN_LABELS, BUILTIN_TOOLS_DIR
from petool_utils.io import atomic_write_json
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import shared_petoolbench_dir

STAGES = {
    "01": ("stage01_prepare", {}),
    "02": ("stage02_understand", {"progress": False}),
    "03": ("stage03_cluster", {"embedder": "minilm", "eps": 0.1, "min_samples": 2, "io_match": "exact"}),
    "04": ("stage04_preferences", {"embedder": "minilm", "tools_per_user": [2, 36], "top_k": 2}),
    "05": ("stage05_create", {"embedder": "minilm", "queries_per_user": 1, "test_fraction": 0.2, "fault_rate": 0.0,
                              "progress": False}),
    "06": ("stage06_statistics", {}),
}


def synthetic_corpus(src: Path, labels: dict[str, str], n_apis: int, out: Path) -> tuple[int, int]:
    """Write ``n_apis`` APIs of renamed copies under ``out/toolenv/tools`` and their labels beside it."""
    files = sorted(src.rglob("*.json"))
    docs = [(f.relative_to(src), json.loads(f.read_text(encoding="utf-8"))) for f in files]
    tools_dir = out / "toolenv" / "tools"
    new_labels: dict[str, str] = {}
    written = k = n_tools = 0
    while written < n_apis:
        for rel, doc in docs:
            if written >= n_apis:
                break
            apis = doc.get("api_list", [])[: n_apis - written]
            if not apis:
                continue
            name = f"{doc['tool_name']} c{k}"
            copy = dict(doc, tool_name=name, api_list=[])
            for a in apis:
                a = json.loads(json.dumps(a))
                a["description"] = f"Edition {k}. " + (a.get("description") or "")
                a["optional_parameters"] = list(a.get("optional_parameters") or []) + [
                    {"name": f"edition_{k}", "type": "STRING", "description": "edition", "default": ""}]
                copy["api_list"].append(a)
                lab = labels.get(f"<{doc['category_name']}>.<{doc['tool_name']}>.<{a['name']}>")
                if lab is not None:
                    new_labels[f"<{doc['category_name']}>.<{name}>.<{a['name']}>"] = f"{lab}-c{k}"
            path = tools_dir / rel.parent / f"{rel.stem}__c{k}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
            written += len(apis)
            n_tools += 1
        k += 1
    (out / "func_labels_dev.json").write_text(json.dumps(new_labels), encoding="utf-8")
    return n_tools, len(new_labels)


CHILD = """
import json, sys, time
from petool_utils.construction import pipeline
name, kwargs = sys.argv[1], json.loads(sys.argv[2])
t0 = time.perf_counter()
getattr(pipeline, name)(**kwargs)
print("WALL", time.perf_counter() - t0)
"""

EVAL_CHILD = """
import sys, time
from petool_utils.benchmark.data import load_entries
from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.scoring import score_files
rd = sys.argv[1]
entries = load_entries(rd + "/benchmark/train.json") + load_entries(rd + "/benchmark/test.json")
t0 = time.perf_counter()
paths = evaluate("offline:ranker", entries, ["preferred", "ratings", "chronological"], rd + "/eval", progress=False)
wall = time.perf_counter() - t0
s = score_files(paths.values(), entries, n_boot=0)
print("WALL", wall)
print("SCORES", {k: round(v.tool_acc * 100, 1) for k, v in s.items()}, len(entries))
"""


def run_child(code: str, args: list[str]) -> tuple[float, float, str]:
    """(wall seconds measured inside, peak RSS in GB, output) of a fresh interpreter running ``code``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    outer = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"child failed ({status}):\n{out[-4000:]}")
    wall = next((float(line.split()[1]) for line in out.splitlines() if line.startswith("WALL ")), outer)
    return wall, usage.ru_maxrss / 1024 / 1024, out


def write_docs_table() -> None:
    """The scale table of docs/construction.md, from every results file there is (one row per size)."""
    from petool_utils.report.docblocks import write_block, written_by

    runs = sorted((json.loads(f.read_text(encoding="utf-8"))
                   for f in (REPO_ROOT / "benchmarks" / "results").glob("construction_scale_*.json")), key=lambda r: r["apis"])
    stages = ["01", "02", "03", "04", "05", "06"]
    lines = ["| APIs (tools / groups) | entries | " + " | ".join(f"{s} (s)" for s in stages)
             + " | 01-06 (s) | peak RSS (GB) | `offline:ranker`, 3 settings (s) | load avg at end |",
             "| --- | --- | " + " | ".join("---" for _ in stages) + " | --- | --- | --- | --- |"]
    for r in runs:
        wall = {row["stage"]: row["wall_s"] for row in r["stages"]}
        ev = r.get("evaluation") or {}
        lines.append(f"| {r['apis']:,} ({r['tools']:,} / {r['groups']:,}) | {sum(r['entries'].values()):,} | "
                     + " | ".join(f"{wall.get(s, float('nan')):.1f}" for s in stages)
                     + f" | {r['total_wall_s']:.0f} | {r['peak_rss_gb']:.2f} | {ev.get('wall_s', 'n/a')} | "
                     f"{r['load_avg_at_end'][0]:.1f} |")
    if len(runs) >= 2:
        a, b = runs[-2], runs[-1]
        wa = {row["stage"]: row["wall_s"] for row in a["stages"]}
        wb = {row["stage"]: row["wall_s"] for row in b["stages"]}
        growth = {s: wb[s] / wa[s] for s in stages if wa.get(s) and wb.get(s)}
        fastest = max(growth, key=growth.get)
        slowest = max(wb, key=wb.get)
        ea, eb = (a.get("evaluation") or {}).get("wall_s"), (b.get("evaluation") or {}).get("wall_s")
        lines += ["", f"From {a['apis']:,} to {b['apis']:,} APIs ({b['apis'] / a['apis']:.0f}x): stages 01-06 "
                  f"x{b['total_wall_s'] / a['total_wall_s']:.2f}; slowest stage {slowest} ({wb[slowest]:.0f} s); "
                  f"fastest-growing stage {fastest} (x{growth[fastest]:.1f}; per stage "
                  + ", ".join(f"{s} x{g:.1f}" for s, g in growth.items()) + ")"
                  + (f"; the ranker's evaluation x{eb / ea:.1f}." if ea and eb else ".")]
    write_block(REPO_ROOT / "docs" / "construction.md", "construction_scale",
                written_by("python benchmarks/construction_scale.py --apis N --write-docs") + "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apis", type=int, required=True)
    ap.add_argument("--users", type=int, default=None, help="default: 0.75 per API")
    ap.add_argument("--keep", default=None, help="keep the run folder here (default: a temporary folder)")
    ap.add_argument("--no-eval", action="store_true", help="skip the offline:ranker evaluation")
    ap.add_argument("--write-docs", action="store_true",
                    help="after the run, write the table of every construction_scale_<N>.json into docs/construction.md")
    args = ap.parse_args()
    users = args.users if args.users is not None else round(0.75 * args.apis)
    shared = shared_petoolbench_dir()
    src = shared / "toolenv" / "tools" if shared else BUILTIN_TOOLS_DIR
    labels = json.loads(((shared / "func_labels_dev.json") if shared else BUILTIN_LABELS).read_text())
    base = Path(args.keep or tempfile.mkdtemp(prefix="petool-scale-"))
    if base.exists() and args.keep:
        shutil.rmtree(base)
    corpus, rd = base / "corpus", base / "run"
    n_tools, n_labels = synthetic_corpus(src, labels, args.apis, corpus)
    print(f"corpus: {args.apis} APIs, {n_tools} tools, {n_labels} labelled, from {src}; users {users}", flush=True)
    rows = []
    try:
        for num, (fname, kw) in STAGES.items():
            kwargs = dict(kw, run_dir=str(rd))
            if num == "01":
                kwargs["tools_dir"] = str(corpus / "toolenv" / "tools")
            if num == "04":
                kwargs["n_users"] = users
            wall, rss, _ = run_child(CHILD, [fname, json.dumps(kwargs)])
            rows.append({"stage": num, "function": fname, "wall_s": round(wall, 1), "peak_rss_gb": round(rss, 2)})
            print(f"stage {num} {fname:20s} {wall:8.1f} s   peak RSS {rss:5.2f} GB", flush=True)
        manifest = json.loads((rd / "benchmark" / "manifest.json").read_text())
        groups = len(json.loads((rd / "groups.json").read_text()))
        evaluation = None
        if not args.no_eval:
            wall, rss, out = run_child(EVAL_CHILD, [str(rd)])
            scores = next((line for line in out.splitlines() if line.startswith("SCORES")), "")
            evaluation = {"wall_s": round(wall, 1), "peak_rss_gb": round(rss, 2), "scores": scores}
            print(f"eval offline:ranker, 3 settings x {sum(manifest['entries'].values())} entries: {wall:.1f} s, "
                  f"peak RSS {rss:.2f} GB; {scores}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    total = sum(r["wall_s"] for r in rows)
    peak = max(r["peak_rss_gb"] for r in rows)
    slowest = max(rows, key=lambda r: r["wall_s"])
    result = {"apis": args.apis, "tools": n_tools, "users": users, "groups": groups, "entries": manifest["entries"],
              "cpu_count": os.cpu_count(), "load_avg_at_end": os.getloadavg(), "stages": rows,
              "total_wall_s": round(total, 1), "peak_rss_gb": peak, "evaluation": evaluation}
    atomic_write_json(REPO_ROOT / "benchmarks" / "results" / f"construction_scale_{args.apis}.json", result)
    ev = f"; eval 3x{sum(manifest['entries'].values())} {evaluation['wall_s']} s" if evaluation else ""
    if args.write_docs:
        write_docs_table()
    print(f"SUMMARY apis={args.apis} tools={n_tools} groups={groups} users={users} "
          f"entries={sum(manifest['entries'].values())} total01-06={total:.0f}s peakRSS={peak:.2f}GB "
          f"slowest=stage{slowest['stage']}({slowest['wall_s']}s)" + ev)


if __name__ == "__main__":
    main()
