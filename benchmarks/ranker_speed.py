"""Speed of ``offline:ranker``: 3 settings x 1,000 entries on CPU, embeddings included.

The dev slice has 514 entries; the other 486 are copies whose every text (instruction, candidate
descriptions, history instructions) carries a marker, so nothing is served from the embedding table
twice and the timing is not flattered by de-duplication. Prints the model load, the cold first
setting (all embeddings), each setting, and the total.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python benchmarks/ranker_speed.py [--data PATH] [--n 1000]
"""

from __future__ import annotations

import argparse
import time

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, load_benchmark


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
    args = ap.parse_args()
    from petool_utils.paths import shared_petoolbench_dir

    entries = replicate(load_benchmark(args.data or shared_petoolbench_dir()), args.n)

    t0 = time.perf_counter()
    from petool_utils.models.embeddings import MiniLMEmbedder
    from petool_utils.predictors.ranker import PersonalizedRanker

    MiniLMEmbedder.model()
    t_load = time.perf_counter() - t0
    r = PersonalizedRanker()
    times = {}
    for s in SETTINGS:
        t = time.perf_counter()
        out = r.predict(entries, s)
        times[s] = time.perf_counter() - t
        assert len(out) == len(entries)
    total = time.perf_counter() - t0
    print(f"entries: {len(entries)}  distinct texts embedded: {len(r._table._rows)}")
    print(f"model load: {t_load:.1f} s")
    for s, t in times.items():
        print(f"{s:>14}: {t:.1f} s" + ("  (cold: embeds every text of the run)" if s == SETTINGS[0] else ""))
    print(f"total, 3 settings x {len(entries)} entries, model load included: {total:.1f} s")


if __name__ == "__main__":
    main()
