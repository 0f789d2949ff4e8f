"""Load: 20,000 evaluation requests at concurrency 128 against a loopback server with 5% faults of every kind.

    PYTHONPATH=. nice -n 10 python benchmarks/eval_load.py [--n 20000] [--concurrency 128] [--write-docs]

The server (tests/openai_server.py, in its own process on 127.0.0.1, so the resident memory measured is the
client's) answers every request after 250 ms; 1% each of the requests meet a 429 with ``Retry-After: 1``, a
500, a connection reset half-way through the body, a slow reply (500 ms more, inside the deadline) and a
reply slower than the deadline (a timeout; ``--timeout`` 2 s, the retry 4 s). The prompts are dev-slice
entries in the four settings, topped up with copies (a new id and query each) to reach ``--n``.

What must hold, checked by the same code as the 2,000-request test in ``make test``
(tests/_eval_load.py): every (entry, setting) answered with the reply meant for its prompt or recorded
failed, exactly one line each; the server saw each distinct prompt exactly as many times as its line's
``attempts`` says (no duplicate requests beyond retries). Reported: wall time, requests per second,
retries, failures by kind, the server's outcomes, peak resident memory and its growth from the first to
the last 10% of the answers. ``--write-docs`` writes the figures into docs/evaluation.md (between its
``eval_load`` markers) and benchmarks/results/eval_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _bench_copies import at_least  # noqa: E402
from _eval_load import LOAD_FAULTS, TIMEOUT_S, run_load  # noqa: E402
from openai_server import FAKE_KEY  # noqa: E402

from petool_utils import ALL_SETTINGS  # noqa: E402
from petool_utils.benchmark.data import load_entries  # noqa: E402
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir  # noqa: E402

SEED = 25


def start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "openai_server.py"), "--seed", str(SEED),
                             "--faults", json.dumps(LOAD_FAULTS)], stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    port = int(proc.stdout.readline().strip())  # type: ignore[union-attr]
    return proc, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="requests (a multiple of 4: entries x the four settings)")
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    if shared is None:
        sys.exit("PEToolBench dev slice not found: set PETOOL_DATA_DIR to the folder holding " + DEV_SLICE_NAME)
    if args.n % len(ALL_SETTINGS):
        sys.exit("--n must be a multiple of 4")
    entries = at_least(load_entries(shared / DEV_SLICE_NAME), args.n // len(ALL_SETTINGS))
    proc, base_url = start_server()
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = base_url, FAKE_KEY
    try:
        with tempfile.TemporaryDirectory() as tmp:
            fig = run_load(entries, base_url, Path(tmp), concurrency=args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    fig["nice"] = os.nice(0)
    print(json.dumps(fig, indent=2))
    if args.write_docs:
        from petool_utils.io import atomic_write_json
        from petool_utils.report.docblocks import provenance, write_block

        atomic_write_json(ROOT / "benchmarks" / "results" / "eval_load.json", fig)
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(fig["server_outcomes"].items()))
        failed = ", ".join(f"{v} {k}" for k, v in fig["failed_by_kind"].items()) or "none"
        lines = [provenance(f"nice -n {fig['nice']} python benchmarks/eval_load.py --n {args.n} "
                            f"--concurrency {args.concurrency} --write-docs"), "",
                 "| requests (distinct prompts) | wall time | requests/s | received by the server (retries) | "
                 "answered | failed | peak RSS | RSS first 10% -> last 10% |",
                 "| --- | --- | --- | --- | --- | --- | --- | --- |",
                 f"| {fig['requests']:,} ({fig['distinct_prompts']:,}) | {fig['wall_s']:.1f} s | "
                 f"{fig['requests_per_s']:.0f} | {fig['sent']:,} ({fig['retries']:,}) | {fig['answered']:,} | "
                 f"{fig['failed']:,} | {fig['peak_rss_mb']:.0f} MB | {fig['rss_first_10pct_mb']:.0f} -> "
                 f"{fig['rss_last_10pct_mb']:.0f} MB ({fig['rss_growth_mb']:+.0f} MB) |", "",
                 f"The server's outcomes: {kinds}; at most {fig['max_inflight']} requests in flight at once. "
                 f"Failed, by kind: {failed}. Attempts abandoned at their deadline before the server read them: "
                 f"{fig['attempts_not_reaching_the_server']}. Deadline {TIMEOUT_S:g} s (a timed-out request retried once at "
                 f"{2 * TIMEOUT_S:g} s); every line checked against the server's per-prompt counts."]
        write_block(ROOT / "docs" / "evaluation.md", "eval_load", "\n".join(lines))


if __name__ == "__main__":
    main()
