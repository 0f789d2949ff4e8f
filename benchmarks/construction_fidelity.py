"""How close the constructed benchmark is to the release: the fidelity table (issue 15's statistics) and the
sanity check (offline baselines on the constructed test split beside the released data), for the built-in
corpus and the shared corpus, with the offline profile's construction parameters. Not part of `make test`.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/construction_fidelity.py [--corpora builtin,shared]

Writes benchmarks/results/construction_fidelity.json and rewrites the block between the
``<!-- fidelity:begin -->`` / ``<!-- fidelity:end -->`` markers of docs/construction.md (numbers in the docs
come from this run, never by hand).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_entries
from petool_utils.construction import pipeline
from petool_utils.construction.statistics import FIDELITY_ROWS, fidelity
from petool_utils.evaluation.engine import evaluate
from petool_utils.evaluation.scoring import score_files
from petool_utils.io import atomic_write_json, atomic_write_text
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.params import load_profile

MODELS = ("offline:history", "offline:ranker")
DOC = REPO_ROOT / "docs" / "construction.md"


def build(rd: Path, tools_dir: str) -> dict[str, float]:
    """Stages 01-05 with the offline profile's parameters on ``tools_dir``; seconds per stage."""
    params = load_profile("offline").params
    times = {}
    calls = [("01", pipeline.stage01_prepare, {"tools_dir": tools_dir, **params["01_tool_preparation"]}),
             ("02", pipeline.stage02_understand, {**params["02_tool_understanding"], "progress": False}),
             ("03", pipeline.stage03_cluster, {k: v for k, v in params["03_tool_clustering"].items() if k != "projection"}),
             ("04", pipeline.stage04_preferences, params["04_preference_construction"]),
             ("05", pipeline.stage05_create, {**params["05_data_creation"], "progress": False})]
    for num, func, kw in calls:
        t0 = time.perf_counter()
        func(rd, **kw)
        times[num] = round(time.perf_counter() - t0, 1)
    return times


def accuracy(entries, out: Path) -> dict[str, dict[str, float]]:
    res = {}
    for spec in MODELS:
        paths = evaluate(spec, entries, [*SETTINGS, "none"], out, progress=False)
        s = score_files(paths.values(), entries, n_boot=0)
        res[spec] = {k: round(100 * s[k].tool_acc, 1) for k in [*SETTINGS, "all", "none"]}
    return res


def markdown(result: dict) -> str:
    cols = list(result["fidelity"])
    lines = ["| statistic | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
    for key, label in FIDELITY_ROWS.items():
        vals = [result["fidelity"][c][key] for c in cols]
        lines.append(f"| {label} | " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in vals) + " |")
    lines += ["", "Tool Acc (%) of the offline baselines, per setting (\"all\": the three personalized settings):", "",
              "| benchmark | model | entries | preferred | ratings | chronological | all | none |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for bench, models in result["accuracy"].items():
        for spec, acc in models.items():
            lines.append(f"| {bench} | {spec} | {result['entries'][bench]} | "
                         + " | ".join(str(acc[s]) for s in [*SETTINGS, "all", "none"]) + " |")
    lines += ["", f"Measured by `python benchmarks/construction_fidelity.py` ({result['date']}); constructed columns: "
              "train and test entries of one build with the offline profile's parameters (stand-in generator); "
              "baselines on the constructed test split."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", default="builtin,shared")
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    result: dict = {"date": time.strftime("%Y-%m-%d"), "fidelity": {}, "accuracy": {}, "entries": {}, "stage_s": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in args.corpora.split(","):
            if corpus == "shared" and shared is None:
                print("shared corpus absent: skipped")
                continue
            tools_dir = "builtin" if corpus == "builtin" else str(shared / "toolenv" / "tools")
            rd = Path(tmp) / corpus
            result["stage_s"][corpus] = build(rd, tools_dir)
            entries = load_entries(rd / "benchmark" / "train.json") + load_entries(rd / "benchmark" / "test.json")
            test = load_entries(rd / "benchmark" / "test.json")
            name = f"constructed, {corpus} corpus"
            result["fidelity"][name] = fidelity(entries)
            result["accuracy"][name + " (test)"] = accuracy(test, rd / "eval")
            result["entries"][name + " (test)"] = len(test)
            print(name, result["stage_s"][corpus], result["accuracy"][name + " (test)"], flush=True)
        if shared is not None:
            rel = load_entries(shared / DEV_SLICE_NAME)
            result["fidelity"]["released dev slice"] = fidelity(rel)
            result["accuracy"]["released dev slice"] = accuracy(rel, Path(tmp) / "released")
            result["entries"]["released dev slice"] = len(rel)
    atomic_write_json(REPO_ROOT / "benchmarks" / "results" / "construction_fidelity.json", result)
    table = markdown(result)
    print(table)
    doc = DOC.read_text(encoding="utf-8")
    block = f"<!-- fidelity:begin -->\n{table}\n<!-- fidelity:end -->"
    new = re.sub(r"<!-- fidelity:begin -->.*?<!-- fidelity:end -->", lambda _: block, doc, flags=re.S)
    if new != doc:
        atomic_write_text(DOC, new)
        print(f"-> {DOC}")
    print(pd.DataFrame(result["accuracy"]).to_string())


if __name__ == "__main__":
    main()
