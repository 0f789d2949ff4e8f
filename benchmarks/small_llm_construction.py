"""Construction stages 02 and 05 with a real LLM: SmolLM2-135M-Instruct on a slice of petool's built-in tool
corpus, one of two ways (``--way``):

- ``hf``: in-process (``llm: hf:<SmolLM2 folder>``), greedy, free decoding;
- ``llamacpp``: llama.cpp's server on the Q4_1 GGUF through ``llm: openai:SmolLM2-135M-Instruct-Q4_1``, with
  ``json_mode: schema``: each reply's JSON schema goes to the server, which constrains decoding to it.

    python benchmarks/small_llm_construction.py [--way hf|llamacpp] [--categories Weather,Music] [--users 10] [--write-docs]

Writes a profile (the smoke profile's stages, with that llm for notebooks 02 and 05, no injected faults,
``--users`` users) under ``$PETOOL_CACHE/runs/smollm2-construction[-llamacpp]``, runs notebooks 01-06 on the
slice through ``petool run`` (papermill; the caches make a rerun resume), then reads the stage logs: per stage
the replies asked, the JSON retries, what was kept, and what was dropped and why. Every record and report the
run writes names its generator (``hf:smollm2(SmolLM2-135M-Instruct)`` or ``openai:SmolLM2-135M-Instruct-Q4_1``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils.models.fetch import cache_root, fetch  # noqa: E402

DOC = ROOT / "docs" / "construction.md"
BLOCKS = {"hf": "small_llm_construction", "llamacpp": "small_llm_construction_llamacpp"}
LLAMACPP_ALIAS = "SmolLM2-135M-Instruct-Q4_1"
LLAMACPP_PORT = 18431
CORPUS = ROOT / "petool_utils" / "resources" / "toolcorpus"


def work_dir(way: str = "hf") -> Path:
    return cache_root() / "runs" / ("smollm2-construction" + ("" if way == "hf" else f"-{way}"))


def prepare(categories: list[str], users: int, folder: Path, way: str = "hf") -> Path:
    """The corpus slice (whole categories of the built-in corpus) and the profile; returns the profile."""
    w = work_dir(way)
    tools = w / "tools"
    for c in categories:
        if not (CORPUS / c).is_dir():
            raise SystemExit(f"no category {c!r} in {CORPUS} (have: {sorted(p.name for p in CORPUS.iterdir() if p.is_dir())})")
        if not (tools / c).exists():
            shutil.copytree(CORPUS / c, tools / c)
    prof = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    spec = f"hf:{folder}" if way == "hf" else f"openai:{LLAMACPP_ALIAS}"
    llm = {"llm": spec, "fault_rate": 0.0, "concurrency": 1}
    if way == "llamacpp":  # one request at a time on 2 cores; a 135M model's reply takes seconds, not minutes
        llm.update(json_mode="schema", request_timeout=600.0)
    prof.update(profile="smollm2-construction", run_dir=str(w / "run"), report_dir=str(w / "report"),
                tools_dir=str(tools), notebooks=[f"0{i}_{n}" for i, n in enumerate(
                    ["tool_preparation", "tool_understanding", "tool_clustering", "preference_construction",
                     "data_creation", "benchmark_statistics"], start=1)])
    p = prof["params"]
    p["02_tool_understanding"].update(llm)
    p["04_preference_construction"].update(n_users=users)
    p["05_data_creation"].update(llm, queries_per_user=1)
    path = w / "profile.yaml"
    path.write_text(yaml.safe_dump(prof, sort_keys=False))
    return path


def summary(way: str = "hf") -> dict:
    run = work_dir(way) / "run"
    u = json.loads((run / "understanding_log.json").read_text())
    f_path, m_path = run / "data_filter_log.json", run / "benchmark" / "manifest.json"
    f = json.loads(f_path.read_text()) if f_path.exists() else {}  # absent when a stage after 02 stopped
    m = json.loads(m_path.read_text()) if m_path.exists() else None
    return {"stage02": u, "stage05": f, "manifest": m}


def drop_reason(d: dict) -> str:
    """``llm_reply_unusable: tool_use_example: not valid JSON: Expecting value`` (the detail without its position)."""
    detail = re.sub(r"( at)?: line \d+ column \d+.*$", "", str(d.get("detail", "")).split(" (")[0].strip())
    return f"{d['reason']}: {detail}"


DECODING = {"hf": "greedy, free decoding",
            "llamacpp": "greedy, decoding constrained to each reply's JSON schema by llama.cpp's grammar (json_mode: schema)"}


def render(s: dict) -> str:
    from collections import Counter

    import pandas as pd

    from petool_utils.evaluation.ranker_study import to_markdown
    from petool_utils.report.docblocks import provenance

    u = s["stage02"]
    dropped = "; ".join(f"{k} x{n}" for k, n in Counter(map(drop_reason, u["dropped"])).most_common()) or "none"
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
             f"**No benchmark was built**: the run stopped ({s.get('failure') or 'see the run log'}).")
    wall = f" Wall time of the run (notebooks 01-06, this sitting): {s['wall_s']:.0f} s." if s.get("wall_s") else ""
    command = f"python benchmarks/small_llm_construction.py --way {s['way']} --write-docs"
    return (f"_Written by `{command}`: notebooks 01-06 on a slice of the "
            f"built-in corpus ({', '.join(s.get('categories') or [])}) with **generator {generator}** (a real LLM, "
            f"{DECODING[s['way']]}; not the offline stand-in), {s['n_users']} users asked for; do not edit by hand._\n\n"
            + to_markdown(pd.DataFrame(rows)) + "\n\n"
            f"{built} Stage 02 drops: {dropped}.{wall}\n\n"
            + provenance(command))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--way", choices=sorted(BLOCKS), default="hf")
    ap.add_argument("--categories", default="Weather,Music")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--skip-run", action="store_true", help="only summarise what is on disk")
    ap.add_argument("--write-docs", action="store_true", help=f"write the way's block of {DOC.name}")
    args = ap.parse_args()
    folder = fetch("smollm2")
    profile = prepare(args.categories.split(","), args.users, folder, args.way)
    failure, wall = None, None  # the runner's "failed" line, the run folder written as <run> (no machine path in the docs)
    if not args.skip_run:
        with contextlib.ExitStack() as stack:
            env = dict(os.environ)
            if args.way == "llamacpp":
                from petool_utils.models.fetch import SMOLLM2, gguf_path
                from petool_utils.models.local_server import llamacpp_python, llamacpp_server_argv, running_server

                py = llamacpp_python()
                if py is None:
                    raise SystemExit("no llama-cpp-python[server] venv (PETOOL_LLAMACPP_PYTHON or "
                                     "~/.cache/petool/llamacpp-venv; the README says how to build it)")
                # a fixed port (LLAMACPP_PORT): an openai: llm's cache key names its server's URL, so a rerun on a
                # new port would ask every request again instead of resuming from the response cache
                port = LLAMACPP_PORT
                # n_ctx holds a retry's conversation (prompt, the bad reply, the retry message): 4,096 did not
                stack.enter_context(running_server(
                    llamacpp_server_argv(py, gguf_path(SMOLLM2), port, alias=LLAMACPP_ALIAS, n_ctx=8192, n_threads=1),
                    f"http://127.0.0.1:{port}/v1/models", log=work_dir(args.way) / "server.log"))
                env.update(OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1", OPENAI_API_KEY="EMPTY")
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "petool_utils.cli", "run", "--profile", str(profile)], cwd=ROOT,
                                  capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
        failed = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.startswith("failed ")]
        failure = failed[0].removeprefix("failed").strip().replace(str(work_dir(args.way) / "run"), "<run>") if failed else None
    info = summary(args.way)
    info.update(n_users=args.users, categories=args.categories.split(","), failure=failure, way=args.way, wall_s=wall)
    body = render(info)
    print(body)
    if args.write_docs:
        from petool_utils.report.docblocks import write_block

        write_block(DOC, BLOCKS[args.way], body)


if __name__ == "__main__":
    main()
