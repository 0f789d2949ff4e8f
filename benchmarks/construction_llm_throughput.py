"""Stage 02 (tool understanding) through an OpenAI-protocol server: concurrency 32 against 1.
Not part of `make test`.

    PYTHONPATH=. python benchmarks/construction_llm_throughput.py [--apis 2000] [--latency 0.1] [--concurrency 32]

The corpus is renamed copies of the shared corpus (``../shared/petoolbench``; the built-in corpus when it is
absent), each copy a distinct provider, until ``--apis`` APIs. The loopback server (``tests/openai_server.py``,
run as its own process so that it does not share the client's interpreter) answers every construction prompt
with the offline stand-in's generator after ``--latency`` seconds; the stand-in's own faulty replies (5%)
exercise the JSON-retry rounds. The stage runs twice, each time from an empty run folder and cache: at
``--concurrency`` and at 1 request in flight. Both runs must write the same ``tools_understood.jsonl``.
Prints both wall times and the ratio (last line); writes benchmarks/results/construction_llm_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from petool_utils.construction import BUILTIN_TOOLS_DIR
from petool_utils.construction.pipeline import stage02_understand
from petool_utils.construction.toolbench import ToolRecord, prepare_tools, write_tools
from petool_utils.io import atomic_write_json
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import shared_petoolbench_dir

MODEL = "openai:standin-throughput"


def renamed_copies(tools: list[ToolRecord], n: int) -> list[ToolRecord]:
    """``n`` APIs: copy k of a tool is the tool ``<name> c<k>`` (a distinct provider), same documentation."""
    out: list[ToolRecord] = []
    k = 0
    while len(out) < n:
        for t in tools:
            if len(out) == n:
                break
            name = f"{t.tool_name} c{k}"
            out.append(t.model_copy(update={"api_id": len(out), "tool_name": name,
                                            "full_name": f"<{t.category}>.<{name}>.<{t.api_name}>"}))
        k += 1
    return out


def start_server(latency: float, fault_rate: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(REPO_ROOT / "tests" / "openai_server.py"), "--latency", str(latency),
                             "--standin-seed", "0", "--standin-fault-rate", str(fault_rate)],
                            stdout=subprocess.PIPE, text=True, cwd=str(REPO_ROOT),
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    port = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not port.isdigit():
        proc.kill()
        raise RuntimeError(f"the loopback server did not start (got {port!r})")
    return proc, f"http://127.0.0.1:{port}/v1"


def run(tools: list[ToolRecord], concurrency: int, base: Path, batch_size: int) -> tuple[float, bytes, dict]:
    rd = base / f"c{concurrency}"
    write_tools(rd, tools, _log(tools))
    t0 = time.perf_counter()
    res = stage02_understand(rd, llm=MODEL, concurrency=concurrency, batch_size=batch_size, max_retries=2,
                             request_timeout=30, progress=False)
    wall = time.perf_counter() - t0
    log = res["log"]
    return wall, (rd / "tools_understood.jsonl").read_bytes(), {"kept": log.n_kept, "json_retries": log.json_retries}


def _log(tools):
    from petool_utils.construction.toolbench import FilterLog

    return FilterLog(stage="01_tool_preparation", n_input=len(tools), n_kept=len(tools), counts={})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apis", type=int, default=2000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--baseline", type=int, default=1, help="the concurrency to compare with")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--fault-rate", type=float, default=0.05, help="the stand-in's own faulty replies")
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    src = shared / "toolenv" / "tools" if shared else BUILTIN_TOOLS_DIR
    base_tools, _ = prepare_tools(src)
    tools = renamed_copies(base_tools, args.apis)
    proc, url = start_server(args.latency, args.fault_rate)
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = url, "sk-loopback"
    os.environ.pop("PETOOL_OPENAI_BASE_URL", None)
    os.environ.pop("PETOOL_OPENAI_API_KEY", None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fast, out_fast, info_fast = run(tools, args.concurrency, Path(tmp), args.batch_size)
            print(f"concurrency {args.concurrency}: {fast:.1f} s ({info_fast})", flush=True)
            slow, out_slow, info_slow = run(tools, args.baseline, Path(tmp), args.batch_size)
            print(f"concurrency {args.baseline}: {slow:.1f} s ({info_slow})", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    same = out_fast == out_slow
    result = {"apis": len(tools), "corpus": str(src), "latency_s": args.latency, "stand-in fault rate": args.fault_rate,
              "concurrency": args.concurrency, "wall_s": round(fast, 2), "baseline_concurrency": args.baseline,
              "baseline_wall_s": round(slow, 2), "ratio": round(slow / fast, 1), "same_artifacts": same,
              **{f"concurrent_{k}": v for k, v in info_fast.items()}}
    atomic_write_json(REPO_ROOT / "benchmarks" / "results" / "construction_llm_throughput.json", result)
    print(json.dumps(result))
    if not same:
        raise SystemExit("the two runs wrote different tools_understood.jsonl")
    print(f"stage 02, {len(tools)} APIs, {args.latency * 1000:.0f} ms latency: concurrency {args.concurrency} "
          f"{fast:.1f} s, concurrency {args.baseline} {slow:.1f} s, ratio {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
