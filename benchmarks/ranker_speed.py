"""Speed of ``offline:ranker``: 3 settings x 1,000 entries on CPU, embeddings included.

The dev slice has 514 entries; the other 486 are copies whose every text (instruction, candidate
descriptions, history instructions) carries a marker, so nothing is served from the embedding cache
twice and the timing is not flattered by de-duplication. Measures the model load, then the ranker
without a population and with a prior fitted on the dev slice (fitting included), each setting.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/ranker_speed.py [--data PATH] [--n 1000] [--write-docs]

``--write-docs`` puts the table between the ``speed`` markers of docs/ranker.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, load_benchmark

DOC = Path(__file__).resolve().parent.parent / "docs" / "ranker.md"


def replicate(entries: list[Entry], n: int) -> list[Entry]:
    out = list(entries[:n])
    k = 0
    while len(out) < n:
        e = entries[k % len(entries)].model_copy(deep=True)
        tag = f" (copy {k // len(entries) + 1})"
        e.entry_id = f"{e.entry_id}-copy{k // len(entries) + 1}"
        e.query += tag
        for c in e.candidates:
            c.tool_description += tag
        for items in e.histories.values():
            for h in items:
                h.instruction += tag
        out.append(e)
        k += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    from petool_utils.benchmark.locate import shared_petoolbench_dir

    dev = load_benchmark(args.data or shared_petoolbench_dir())
    entries = replicate(dev, args.n)

    t0 = time.perf_counter()
    from petool_utils.models.embeddings import MiniLMEmbedder
    from petool_utils.predictors.ranker import PersonalizedRanker

    MiniLMEmbedder.load()
    t_load = time.perf_counter() - t0
    rows = []
    for label, make in (("no population", lambda: PersonalizedRanker()),
                        ("prior fitted on the dev slice", lambda: PersonalizedRanker().fit(dev))):
        t = time.perf_counter()
        r = make()
        t_fit = time.perf_counter() - t
        times = {}
        for s in SETTINGS:
            t = time.perf_counter()
            out = r.predict(entries, s)
            times[s] = time.perf_counter() - t
            assert len(out) == len(entries)
        rows.append((label, t_fit, times, len(r.table)))
    total = time.perf_counter() - t0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"_Written by `benchmarks/ranker_speed.py`: 3 settings x {len(entries)} entries ({len(dev)} dev entries and "
             f"{len(entries) - len(dev)} marked copies), on {os.cpu_count()} CPU cores ({platform.machine()}), load average "
             f"{load:.1f} at the end. The first setting of each ranker embeds every distinct text (its own cache)._", "",
             "| ranker | fit (s) | " + " | ".join(f"{s} (s)" for s in SETTINGS) + " | texts embedded |",
             "| --- | --- | " + " | ".join("---" for _ in SETTINGS) + " | --- |"]
    for label, t_fit, times, n_texts in rows:
        lines.append(f"| {label} | {t_fit:.1f} | " + " | ".join(f"{times[s]:.1f}" for s in SETTINGS) + f" | {n_texts} |")
    lines += ["", f"MiniLM load: {t_load:.1f} s. Everything, load included: {total:.1f} s."]
    table = "\n".join(lines) + "\n"
    print(table)
    if args.write_docs:
        from petool_utils.report.docblocks import write_block

        write_block(DOC, "ranker_tables.speed", table)
        print(f"written into {DOC}")


if __name__ == "__main__":
    main()
