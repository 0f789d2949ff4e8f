"""SmolLM2-135M-Instruct zero-shot on the released dev slice: a real LLM's Table 1 row, on CPU.

    python benchmarks/small_llm_zeroshot.py --prepare            # the seeded sample + the eval command
    nice -n 10 petool eval --model hf:<folder> --data <sample> --settings preferred,ratings,chronological,none \\
        --out ~/.cache/petool/runs/smollm2-zeroshot --autocast auto          # resumable: rerun to continue
    python benchmarks/small_llm_zeroshot.py --write-docs         # score it into docs/evaluation.md

The sample is ``SAMPLE_SIZE`` entries of the dev slice drawn by ``random.Random(SEED)`` (kept in release
order), written as a release-layout file beside the run, so the run's manifest hashes exactly what was
asked. The run folder lies outside the checkout (``$PETOOL_CACHE/runs/smollm2-zeroshot``) so it survives
worktrees and clones; a rerun of the eval command resumes it.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils import ALL_SETTINGS  # noqa: E402
from petool_utils.models.fetch import cache_root, model_dir  # noqa: E402

SEED = 0
SAMPLE_SIZE = 100
RUN_NAME = "smollm2-zeroshot"
DOC = ROOT / "docs" / "evaluation.md"
BLOCK = "small_llm_zeroshot"


def run_dir() -> Path:
    return cache_root() / "runs" / RUN_NAME


def sample_path() -> Path:
    return run_dir() / f"dev_sample_seed{SEED}_n{SAMPLE_SIZE}.json"


def prepare(data: str | None) -> Path:
    """Write the seeded sample of the dev slice (release layout) and return its path."""
    from petool_utils.benchmark.data import dump_entries, load_benchmark
    from petool_utils.io import atomic_write_json

    entries = load_benchmark(data)
    idx = sorted(random.Random(SEED).sample(range(len(entries)), SAMPLE_SIZE))
    path = sample_path()
    atomic_write_json(path, dump_entries([entries[i] for i in idx]), indent=None)
    return path


def eval_command(folder: Path) -> str:
    return (f"nice -n 10 petool eval --model hf:{folder} --data {sample_path()} "
            f"--settings {','.join(ALL_SETTINGS)} --out {run_dir()} --autocast auto")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", action="store_true", help="write the seeded sample and print the eval command")
    ap.add_argument("--data", default=None, help="the dev slice (default: petool's search order)")
    ap.add_argument("--write-docs", action="store_true", help=f"write the {BLOCK} block of {DOC.name}")
    args = ap.parse_args()
    if args.prepare:
        print(f"sample: {prepare(args.data)} (seed {SEED}, {SAMPLE_SIZE} entries)")
        print(eval_command(model_dir("smollm2")))


if __name__ == "__main__":
    main()
