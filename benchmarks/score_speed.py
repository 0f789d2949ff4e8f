"""How long scoring 3,000 predictions takes (the issue asks for < 1 s).

1,000 entries (the dev slice cycled under fresh ids, the size of the full test split) x the three
personalized settings, written as run-store files; responses mixed: right calls, wrong tools, wrong
values, prose around, fenced multi-line JSON, nested parameters, garbage, failed requests. Times
``score_prediction_dir`` end to end (read the files, parse, score, 1,000 bootstrap resamples), with
a cold parse cache, for both parsers.

    PETOOL_DATA_DIR=../shared/petoolbench python benchmarks/score_speed.py
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_entries
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.evaluation.scoring import parse_cached, score_prediction_dir

N_ENTRIES = 1000


def make_response(e, rng: random.Random) -> str | None:
    ref = {"tool_name": e.reference.tool_name, "parameters": e.reference.parameters}
    r = rng.random()
    if r < 0.40:
        return json.dumps(ref)
    if r < 0.50:
        return json.dumps({"tool_name": rng.choice(e.candidate_names), "parameters": e.reference.parameters})
    if r < 0.60:
        return json.dumps({"tool_name": ref["tool_name"], "parameters": {**ref["parameters"], "x": 1}})
    if r < 0.70:
        return "Sure! Based on your history I would call " + json.dumps(ref) + " to do that."
    if r < 0.80:
        return "```json\n" + json.dumps(ref, indent=2) + "\n```"
    if r < 0.85:
        return json.dumps({"tool_name": ref["tool_name"], "parameters": {"q": {"nested": [1, 2]}}})
    if r < 0.95:
        return "I am sorry, I cannot help with that request."
    return None


def main() -> None:
    d = shared_petoolbench_dir()
    if d is None:
        raise SystemExit(f"{DEV_SLICE_NAME} not found: set PETOOL_DATA_DIR=../shared/petoolbench")
    dev = load_entries(d / DEV_SLICE_NAME)
    entries = [dev[i % len(dev)].model_copy(update={"entry_id": 100_000 + i}) for i in range(N_ENTRIES)]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        for s in SETTINGS:
            with open(Path(tmp) / f"{s}.jsonl", "w", encoding="utf-8") as f:
                for e in entries:
                    resp = make_response(e, rng)
                    f.write(json.dumps({"entry_id": e.entry_id, "setting": s, "response": resp,
                                        "latency_s": 0.0, "error": None if resp is not None else "timeout"}) + "\n")
        n = N_ENTRIES * len(SETTINGS)
        for parser in ("reference", "robust"):
            parse_cached.cache_clear()
            t0 = time.perf_counter()
            scores = score_prediction_dir(tmp, entries, parser=parser, n_boot=1000, seed=0)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            score_prediction_dir(tmp, entries, parser=parser, n_boot=1000, seed=0)
            warm = time.perf_counter() - t0
            a = scores["all"]
            print(f"{parser:>9}: scored {n} predictions in {cold:.3f} s (cold parse cache), {warm:.3f} s (warm); "
                  f"all: tool {a.tool_acc:.3f} param {a.param_acc:.3f} call {a.call_acc:.3f} invalid {a.invalid_format:.3f}")


if __name__ == "__main__":
    main()
