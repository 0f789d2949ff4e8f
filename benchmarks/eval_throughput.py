"""Throughput: petool's evaluation engine against the authors' sequential pattern, same server, same prompts.

    PYTHONPATH=. python benchmarks/eval_throughput.py [--n 1000] [--latency 0.1] [--concurrency 32]

A loopback OpenAI-compatible server (tests/openai_server.py, in its own process) answers every
request after ``--latency`` seconds. Both sides send the same ``--n`` requests (dev-slice entries x the
four settings, the real prompts):

* petool: ``evaluate("openai:...", concurrency=32)`` into a fresh folder with a fresh cache (so every
  distinct request is really sent; identical requests in one run are sent once), one JSONL line per
  answer, fsyncs grouped; ``--repeat`` runs (5 by default, each into its own fresh folder and cache)
  after one untimed warm-up run of one entry (the first ``evaluate`` of a process imports what it loads
  lazily: tqdm, sqlite3, the backends; the sequential side's imports are before its clock too);
* sequential: one request at a time with the synchronous openai client, and after every response
  ``json.dump(results, f, indent=4)`` of the whole results list (the authors' pattern, with one list for
  all four settings where their script keeps a file per setting: :func:`time_results_dumps` says what
  that costs);
  ``--seq-repeat`` runs (3 by default: one run moves by +-4 s from the next).

The speed-up is the ratio of the two medians.

Prints both wall times and their ratio (the latency floor is ``ceil(distinct / concurrency) x latency``:
the requests go out in that many rounds of at most ``concurrency``), then the time to score 3,000 predictions. ``--write-docs``
writes the measurement into docs/evaluation.md (between its ``eval_throughput`` markers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils import ALL_SETTINGS  # noqa: E402
from petool_utils.benchmark.data import load_entries  # noqa: E402
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir  # noqa: E402
from petool_utils.benchmark.prompts import entry_messages  # noqa: E402

FAKE_KEY = "sk-test-XXXXXXXXXXXXXXXXXXXXXXXX"


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "openai_server.py"), "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    port = int(proc.stdout.readline().strip())  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/v1"


def jobs_for(n: int, data: Path) -> list:
    """``n`` (entry, setting) pairs: the first n/4 dev-slice entries in each of the four settings."""
    entries = load_entries(data, limit=n // len(ALL_SETTINGS))
    return [(s, e) for s in ALL_SETTINGS for e in entries]


def warm_up_petool(jobs: list, concurrency: int, work: Path) -> None:
    """One untimed ``evaluate`` of one entry (four requests) into its own folder and cache: what a process
    pays once (imports, the per-process TLS context, first-call paths) is paid here, not in the first
    timed run. The sequential side builds its client before its clock, likewise."""
    from petool_utils.evaluation.engine import evaluate

    evaluate("openai:bench-model", [jobs[0][1]], list(ALL_SETTINGS), work / "warm-up", concurrency=concurrency,
             cache_path=work / "warm-up-cache.sqlite", progress=False)


def run_petool(jobs: list, base_url: str, concurrency: int, work: Path) -> float:
    from petool_utils.evaluation.engine import evaluate

    entries = [e for s, e in jobs if s == ALL_SETTINGS[0]]
    t0 = time.perf_counter()
    evaluate("openai:bench-model", entries, list(ALL_SETTINGS), work / "petool", concurrency=concurrency,
             cache_path=work / "petool-cache.sqlite", progress=False)
    return time.perf_counter() - t0


def run_bare(jobs: list, base_url: str, concurrency: int) -> float:
    """The bound for any client against this server: aiohttp alone, the distinct bodies encoded before
    the clock starts, nothing rendered, cached or written; the same concurrency."""
    import asyncio

    import aiohttp

    bodies = list(dict.fromkeys(json.dumps({"model": "bench-model", "messages": entry_messages(e, s),
                                            "temperature": 0.1, "max_tokens": 256}) for s, e in jobs))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}

    async def main() -> float:
        sem = asyncio.Semaphore(concurrency)
        async with aiohttp.ClientSession() as session:
            async def one(body: str) -> None:
                async with sem, session.post(f"{base_url}/chat/completions", data=body, headers=headers) as r:
                    (await r.json())["choices"][0]["message"]["content"]

            t0 = time.perf_counter()
            await asyncio.gather(*(one(b) for b in bodies))
            return time.perf_counter() - t0

    return asyncio.run(main())


def record_and_rewrite(results: list, path: Path, setting: str, entry, response: str | None) -> None:
    """The sequential loop's step after each response (the authors' pattern): add the record, then
    rewrite the whole results file. :func:`time_results_dumps` times this same step without requests."""
    results.append({"entry_id": entry.entry_id, "setting": setting, "query": entry.query,
                    "ground_truth": entry.reference.model_dump(), "response": response})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=4)


def run_sequential(jobs: list, base_url: str, work: Path) -> float:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key=os.environ["OPENAI_API_KEY"], max_retries=0)
    results = []
    out = work / "sequential_results.json"
    t0 = time.perf_counter()
    for setting, entry in jobs:
        resp = client.chat.completions.create(model="bench-model", messages=entry_messages(entry, setting),
                                              temperature=0.1, max_tokens=256)
        record_and_rewrite(results, out, setting, entry, resp.choices[0].message.content)
    client.close()
    return time.perf_counter() - t0


def time_results_dumps(jobs: list) -> tuple[float, float]:
    """What the sequential loop spends rewriting its results file, without any request: one list for all
    four settings (this benchmark's loop), then one list and file per setting (the authors'
    run_experiment.py runs one setting per invocation, ``{history_type}_{model_name}.json``)."""
    response = json.dumps({"tool_name": "<Data>.<Pet Store>.<getInventory>", "parameters": {}})
    took = []
    for per_setting in (False, True):
        lists: dict[str, list] = {}
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            for setting, entry in jobs:
                name = setting if per_setting else "all"
                results = lists.setdefault(name, [])
                record_and_rewrite(results, Path(tmp) / f"{name}.json", setting, entry, response)
            took.append(time.perf_counter() - t0)
    print(f"json.dump of the growing results, no requests: {took[0]:.2f} s in one list (this loop), "
          f"{took[1]:.2f} s in one list per setting (the authors' files)")
    return took[0], took[1]


def time_scoring(data: Path) -> float:
    from petool_utils.evaluation.scoring import score_responses

    entries = load_entries(data)
    entries = (entries * 6)[:3000]
    responses = {i: e.reference.to_json() for i, e in enumerate(entries)}
    for i, e in enumerate(entries):
        e.entry_id = i  # distinct ids for the 3,000 copies
    t0 = time.perf_counter()
    score_responses(entries, responses, parser="reference", n_boot=1000, seed=0)
    took = time.perf_counter() - t0
    print(f"scoring 3,000 predictions: {took:.3f} s")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=5, help="petool (and bare-client) runs, each fresh; the median counts")
    ap.add_argument("--seq-repeat", type=int, default=3, help="sequential runs; the median counts")
    ap.add_argument("--skip-sequential", action="store_true")
    ap.add_argument("--write-docs", action="store_true", help="write the result into docs/evaluation.md")
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    if shared is None:
        sys.exit("PEToolBench dev slice not found: set PETOOL_DATA_DIR to the folder holding " + DEV_SLICE_NAME)
    data = shared / DEV_SLICE_NAME
    jobs = jobs_for(args.n, data)
    if len(jobs) != args.n:
        sys.exit(f"--n must be a multiple of 4 and at most 4 x the entries of {data}")
    proc, base_url = start_server(args.latency)
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = base_url, FAKE_KEY
    t_seq = None
    distinct = len({json.dumps(entry_messages(e, s), sort_keys=True) for s, e in jobs})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            warm_up_petool(jobs, args.concurrency, work)
            runs = [run_petool(jobs, base_url, args.concurrency, work / f"run{k}") for k in range(max(1, args.repeat))]
            t_petool = statistics.median(runs)
            print(f"petool evaluate, concurrency {args.concurrency}: {args.n} requests ({distinct} distinct, "
                  f"sent) in {t_petool:.2f} s ({args.n / t_petool:.0f} req/s; median of "
                  f"{', '.join(f'{t:.2f}' for t in runs)} s)")
            bare = [run_bare(jobs, base_url, args.concurrency) for _ in range(max(1, args.repeat))]
            t_bare = statistics.median(bare)
            print(f"bare aiohttp client, bodies pre-encoded, nothing written: {t_bare:.2f} s (median of "
                  f"{', '.join(f'{t:.2f}' for t in bare)} s): petool takes {t_petool / t_bare:.2f}x the bound")
            if not args.skip_sequential:
                seqs = [run_sequential(jobs, base_url, work) for _ in range(max(1, args.seq_repeat))]
                t_seq = statistics.median(seqs)
                print(f"sequential loop, json.dump after every response: {args.n} requests in {t_seq:.2f} s "
                      f"({args.n / t_seq:.1f} req/s; median of {', '.join(f'{t:.2f}' for t in seqs)} s)")
                print(f"speed-up: {t_seq / t_petool:.1f}x (server latency {args.latency * 1000:.0f} ms)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    t_score = time_scoring(data)
    dump_one, dump_per_setting = time_results_dumps(jobs) if t_seq is not None else (None, None)
    if args.write_docs:
        from petool_utils.report.docblocks import provenance, write_block

        rows = ["| run | requests (distinct, sent) | wall time | requests/s |", "| --- | --- | --- | --- |",
                f"| petool `evaluate`, concurrency {args.concurrency} (median of {len(runs)} runs: "
                f"{', '.join(f'{t:.2f}' for t in runs)} s) | {args.n} ({distinct}) | {t_petool:.2f} s | "
                f"{args.n / t_petool:.0f} |"]
        rows.append(f"| bound: a bare aiohttp client, bodies encoded before the clock, nothing written (median of "
                    f"{len(bare)}) | {distinct} ({distinct}) | {t_bare:.2f} s | {distinct / t_bare:.0f} |")
        if t_seq is not None:
            rows.append(f"| sequential loop + `json.dump` after every response (median of {len(seqs)} runs: "
                        f"{', '.join(f'{t:.2f}' for t in seqs)} s) | {args.n} ({args.n}) | {t_seq:.2f} s | "
                        f"{args.n / t_seq:.1f} |")
        rounds = math.ceil(distinct / args.concurrency)
        floor_s = rounds * args.latency
        lines = [provenance(f"python benchmarks/eval_throughput.py --n {args.n} --latency {args.latency} "
                            f"--concurrency {args.concurrency} --repeat {args.repeat} --seq-repeat {args.seq_repeat}"),
                 "", *rows, ""]
        lines.append(f"petool takes {t_petool / t_bare:.2f}x the bare client's time; the bare client's speed-up over "
                     f"the sequential loop would be {t_seq / t_bare:.1f}x." if t_seq is not None else
                     f"petool takes {t_petool / t_bare:.2f}x the bare client's time.")
        if t_seq is not None:
            lines.append(f"Speed-up: **{t_seq / t_petool:.1f}x** at {args.latency * 1000:.0f} ms server latency "
                         f"(the latency floor at concurrency {args.concurrency} is "
                         f"{floor_s:.2f} s: {rounds} rounds of at most {args.concurrency} for the {distinct} "
                         f"distinct requests).")
        if dump_one is not None:
            lines.append(f"Of the sequential loop's time, rewriting its results after every response takes "
                         f"{dump_one:.2f} s (timed without requests); the authors' `run_experiment.py` keeps one "
                         f"file per setting, which takes {dump_per_setting:.2f} s, so their own loop would be about "
                         f"{dump_one - dump_per_setting:.1f} s faster than this baseline.")
        lines.append(f"Scoring 3,000 predictions (reference parser, 1,000 bootstrap resamples): {t_score:.3f} s.")
        write_block(ROOT / "docs" / "evaluation.md", "eval_throughput", "\n".join(lines))


if __name__ == "__main__":
    main()
