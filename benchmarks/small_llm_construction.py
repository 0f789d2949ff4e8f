"""Construction stages 02 and 05 with a real LLM: SmolLM2-135M-Instruct (``hf:``, in-process, greedy) on a
slice of petool's built-in tool corpus.

    python benchmarks/small_llm_construction.py [--categories Weather,Music] [--users 10] [--write-docs]

Writes a profile (the smoke profile's stages, with ``llm: hf:<SmolLM2 folder>`` for notebooks 02 and 05,
no injected faults, ``--users`` users) under ``$PETOOL_CACHE/runs/smollm2-construction``, runs notebooks
01-06 on the slice through ``petool run`` (papermill; the caches make a rerun resume), then reads the
stage logs: per stage the replies asked, the JSON retries, what was kept, and what was dropped and why.
Every record and report the run writes names its generator ``hf:smollm2(SmolLM2-135M-Instruct)``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils.models.fetch import cache_root, fetch  # noqa: E402

DOC = ROOT / "docs" / "construction.md"
BLOCK = "small_llm_construction"
CORPUS = ROOT / "petool_utils" / "resources" / "toolcorpus"


def work_dir() -> Path:
    return cache_root() / "runs" / "smollm2-construction"


def prepare(categories: list[str], users: int, folder: Path) -> Path:
    """The corpus slice (whole categories of the built-in corpus) and the profile; returns the profile."""
    w = work_dir()
    tools = w / "tools"
    for c in categories:
        if not (CORPUS / c).is_dir():
            raise SystemExit(f"no category {c!r} in {CORPUS} (have: {sorted(p.name for p in CORPUS.iterdir() if p.is_dir())})")
        if not (tools / c).exists():
            shutil.copytree(CORPUS / c, tools / c)
    prof = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    spec = f"hf:{folder}"
    prof.update(profile="smollm2-construction", run_dir=str(w / "run"), report_dir=str(w / "report"),
                tools_dir=str(tools), notebooks=[f"0{i}_{n}" for i, n in enumerate(
                    ["tool_preparation", "tool_understanding", "tool_clustering", "preference_construction",
                     "data_creation", "benchmark_statistics"], start=1)])
    p = prof["params"]
    p["02_tool_understanding"].update(llm=spec, fault_rate=0.0, concurrency=1)
    p["04_preference_construction"].update(n_users=users)
    p["05_data_creation"].update(llm=spec, fault_rate=0.0, concurrency=1, queries_per_user=1)
    path = w / "profile.yaml"
    path.write_text(yaml.safe_dump(prof, sort_keys=False))
    return path


def summary() -> dict:
    run = work_dir() / "run"
    u = json.loads((run / "understanding_log.json").read_text())
    f_path, m_path = run / "data_filter_log.json", run / "benchmark" / "manifest.json"
    f = json.loads(f_path.read_text()) if f_path.exists() else {}  # absent when a stage after 02 stopped
    m = json.loads(m_path.read_text()) if m_path.exists() else None
    return {"stage02": u, "stage05": f, "manifest": m}


def render(s: dict) -> str:
    import pandas as pd

    from petool_utils.evaluation.ranker_study import to_markdown
    from petool_utils.report.docblocks import provenance

    u = s["stage02"]
    from collections import Counter

    why = Counter(f"{d['reason']}: {str(d.get('detail', '')).split(':')[0]}: "
                  f"{':'.join(str(d.get('detail', '')).split(':')[1:]).split('(')[0].strip()}" for d in u["dropped"])
    dropped = "; ".join(f"{k} x{n}" for k, n in why.most_common()) or "none"
    rows = [{"stage": "02 tool understanding", "input": f"{u['n_input']} APIs", "kept": u["n_kept"],
             "kept share": f"{100 * u['n_kept'] / max(1, u['n_input']):.0f}%", "JSON retries": u["json_retries"],
             "dropped, by reason": ", ".join(f"{k} {v}" for k, v in u["counts"].items() if v) or "none"}]
    for kind, v in s["stage05"].items():
        if isinstance(v, dict):
            rows.append({"stage": f"05 {kind}", "input": f"{v['n_generated']} items generated", "kept": v["n_kept"],
                         "kept share": f"{100 * v['n_kept'] / max(1, v['n_generated']):.0f}%",
                         "JSON retries": v["json_retries"],
                         "dropped, by reason": ", ".join(f"{k} {n}" for k, n in v["counts"].items() if n) or "none"})
    m = s["manifest"]
    generator = m["generator"] if m else u.get("generator", "?")
    built = (f"Entries built: train {m['entries']['train']}, test {m['entries']['test']}." if m else
             f"**No benchmark was built**: the run stopped after stage 02 ({s.get('failure') or 'see the run log'}).")
    return (f"_Written by `python benchmarks/small_llm_construction.py --write-docs`: notebooks 01-06 on a slice of the "
            f"built-in corpus ({', '.join(s.get('categories') or [])}) with **generator {generator}** (a real LLM, "
            f"greedy, not the offline stand-in), {s['n_users']} users asked for; do not edit by hand._\n\n"
            + to_markdown(pd.DataFrame(rows)) + "\n\n"
            f"{built} Stage 02 drops: {dropped}.\n\n"
            + provenance("python benchmarks/small_llm_construction.py --write-docs"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--categories", default="Weather,Music")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--skip-run", action="store_true", help="only summarise what is on disk")
    ap.add_argument("--write-docs", action="store_true", help=f"write the {BLOCK} block of {DOC.name}")
    args = ap.parse_args()
    folder = fetch("smollm2")
    profile = prepare(args.categories.split(","), args.users, folder)
    failure = None  # the runner's "failed" line, the run folder written as <run> (no machine path in the docs)
    if not args.skip_run:
        done = subprocess.run([sys.executable, "-m", "petool_utils.cli", "run", "--profile", str(profile)], cwd=ROOT,
                              capture_output=True, text=True)
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
        failed = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.startswith("failed ")]
        failure = failed[0].removeprefix("failed").strip().replace(str(work_dir() / "run"), "<run>") if failed else None
    info = summary()
    info.update(n_users=args.users, categories=args.categories.split(","), failure=failure)
    body = render(info)
    print(body)
    if args.write_docs:
        from petool_utils.report.docblocks import write_block

        write_block(DOC, BLOCK, body)


if __name__ == "__main__":
    main()
