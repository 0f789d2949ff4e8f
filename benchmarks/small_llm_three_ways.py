"""SmolLM2-135M-Instruct three ways on the same prompts at temperature 0: ``hf:`` in-process,
``transformers serve`` through ``openai:``, and llama.cpp's server on the GGUF through ``openai:``.

    python benchmarks/small_llm_three_ways.py [--n 30] [--write-docs]

Prompts: ``--n`` dev-slice entries drawn by ``random.Random(SEED)`` among those whose ``--setting`` prompt
is at most ``MAX_PROMPT_TOKENS`` with SmolLM2's tokenizer, so no way fits or cuts anything (the servers
do not drop history; the hf backend would) and all three see the same text. Each way is a
``petool eval`` run into its own folder under ``$PETOOL_CACHE/runs/smollm2-three-ways`` (resumable:
rerun to continue). The hf way runs in fp32 (no autocast), like ``transformers serve``, so the two
differ only in the serving path; llama.cpp runs the Q4_1 kernels on the quantized weights, which the
fp32 folder holds dequantized, so its text may differ and the rate says by how much.

Reports per pair the share of identical answers and of answers naming the same tool (reference
parser), each way's Tool / Param Acc (both parsers) and its seconds per answer. The llama.cpp way is
skipped, saying so, when no venv with ``llama-cpp-python[server]`` is found
(``$PETOOL_LLAMACPP_PYTHON`` or ``~/.cache/petool/llamacpp-venv``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils.models.fetch import SMOLLM2, cache_root, fetch, gguf_path  # noqa: E402
from petool_utils.models.local_server import (  # noqa: E402
    free_port,
    llamacpp_python,
    llamacpp_server_argv,
    running_server,
    transformers_serve_argv,
)

SEED = 0
MAX_PROMPT_TOKENS = 2000
DOC = ROOT / "docs" / "evaluation.md"
BLOCK = "small_llm_three_ways"
ALIAS = "smollm2"
WAYS = ("hf", "transformers-serve", "llama.cpp")


def out_root() -> Path:
    return cache_root() / "runs" / "smollm2-three-ways"


def pick(entries, tokenizer, setting: str, n: int):
    from petool_utils.benchmark.prompts import entry_messages

    short = [e for e in entries if len(tokenizer.apply_chat_template(
        entry_messages(e, setting), add_generation_prompt=True, tokenize=True, return_dict=False)) <= MAX_PROMPT_TOKENS]
    return sorted(random.Random(SEED).sample(short, n), key=lambda e: str(e.entry_id)), len(short)


def run_way(way: str, folder: Path, entries, setting: str, gen_opts: dict, log_dir: Path) -> tuple[Path, float]:
    """One way's predictions folder and its wall seconds (this call only: a resumed run adds)."""
    from petool_utils.evaluation.engine import evaluate
    from petool_utils.models.spec import model_slug
    from petool_utils.models.openai_backend import RetryPolicy

    out = out_root() / way
    t0 = time.perf_counter()
    if way == "hf":
        spec = f"hf:{folder}"
        evaluate(spec, entries, [setting], out, gen_opts=gen_opts, predictor_kwargs={"autocast": "none"})
        return out / model_slug(spec), time.perf_counter() - t0
    port = free_port()
    if way == "transformers-serve":
        argv, spec, ready = transformers_serve_argv(port), f"openai:{folder}", f"http://127.0.0.1:{port}/health"
    else:
        py = llamacpp_python()
        argv = llamacpp_server_argv(py, gguf_path(SMOLLM2), port, alias=ALIAS, n_ctx=4096)
        spec, ready = f"openai:{ALIAS}", f"http://127.0.0.1:{port}/v1/models"
    kw = {"timeout": 600.0, "retry": RetryPolicy(max_retries=2)}
    with running_server(argv, ready, log=log_dir / f"{way}.log"):
        os.environ["OPENAI_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
        os.environ.setdefault("OPENAI_API_KEY", "EMPTY")
        try:
            evaluate(spec, entries, [setting], out, gen_opts=gen_opts, concurrency=1, predictor_kwargs=kw)
        finally:
            del os.environ["OPENAI_BASE_URL"]
    return out / model_slug(spec), time.perf_counter() - t0


def compare(entries, dirs: dict[str, Path], setting: str) -> dict:
    from petool_utils.benchmark.data import canonical_id
    from petool_utils.benchmark.parsing import PARSERS, get_parser
    from petool_utils.evaluation.reader import read_predictions
    from petool_utils.evaluation.scoring import score_prediction_set

    ids = [canonical_id(e.entry_id) for e in entries]
    preds = {w: read_predictions([d]) for w, d in dirs.items()}
    texts = {w: p.responses().get(setting, {}) for w, p in preds.items()}
    parse = get_parser("reference")
    out: dict = {"n": len(ids), "pairs": {}, "ways": {}}
    for a, b in itertools.combinations(dirs, 2):
        both = [i for i in ids if texts[a].get(i) is not None and texts[b].get(i) is not None]
        same = sum((texts[a][i] or "").strip() == (texts[b][i] or "").strip() for i in both)
        named = [(parse(texts[a][i]).tool_name, parse(texts[b][i]).tool_name) for i in both]
        # a pair where neither answer names a tool is not agreement on a tool: counted apart
        out["pairs"][f"{a} vs {b}"] = {"compared": len(both), "identical": same,
                                       "same_tool": sum(x is not None and x == y for x, y in named),
                                       "neither_names_a_tool": sum(x is None and y is None for x, y in named)}
    for w, p in preds.items():
        recs = p.settings[setting].records.values() if setting in p.settings else []
        row = {"answered": sum(1 for r in recs if r.get("error") is None),
               "seconds_per_answer": (sum(r.get("latency_s") or 0 for r in recs) / max(1, len(recs)))}
        for parser in PARSERS:
            s = score_prediction_set(entries, p, parser=parser, ci="group")[setting]
            row[parser] = {"tool_acc": s.tool_acc, "param_acc": s.param_acc, "invalid_format": s.invalid_format}
        out["ways"][w] = row
    return out


def render(res: dict, setting: str, n_short: int, n_total: int, max_tokens: int, skipped: dict[str, str]) -> str:
    import pandas as pd

    from petool_utils.evaluation.ranker_study import to_markdown
    from petool_utils.report.docblocks import provenance

    pct = lambda k, n: f"{100 * k / n:.0f}% ({k}/{n})" if n else "-"  # noqa: E731
    pairs = pd.DataFrame([{"pair": k, "identical answers": pct(v["identical"], v["compared"]),
                           "both name the same tool (reference parser)": pct(v["same_tool"], v["compared"]),
                           "neither names a tool": pct(v.get("neither_names_a_tool", 0), v["compared"])}
                          for k, v in res["pairs"].items()])
    ways = pd.DataFrame([{"way": w, "answered": v["answered"],
                          "Tool Acc (reference)": f"{100 * v['reference']['tool_acc']:.1f}",
                          "Param Acc (reference)": f"{100 * v['reference']['param_acc']:.1f}",
                          "invalid format (reference)": f"{100 * v['reference']['invalid_format']:.1f}%",
                          "Tool Acc (robust)": f"{100 * v['robust']['tool_acc']:.1f}",
                          "s per answer": f"{v['seconds_per_answer']:.1f}"} for w, v in res["ways"].items()])
    head = (f"_Written by `python benchmarks/small_llm_three_ways.py --write-docs`: SmolLM2-135M-Instruct (a real "
            f"LLM) on {res['n']} dev-slice entries, setting `{setting}`, drawn with seed {SEED} among the {n_short} of "
            f"{n_total} whose prompt is at most {MAX_PROMPT_TOKENS:,} tokens (nothing fitted or cut); temperature 0, "
            f"{max_tokens} new tokens; hf and transformers serve in fp32 on the dequantized folder, llama.cpp on the "
            "Q4_1 GGUF; do not edit by hand._\n")
    notes = "".join(f"\n{w} was not run: {why}\n" for w, why in skipped.items())
    return (head + notes + "\n" + to_markdown(pairs) + "\n\n" + to_markdown(ways) + "\n\n"
            + provenance("python benchmarks/small_llm_three_ways.py --write-docs"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="the released dev slice (default: petool's search order)")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--setting", default="none")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--ways", default=",".join(WAYS))
    ap.add_argument("--write-docs", action="store_true", help=f"write the {BLOCK} block of {DOC.name}")
    args = ap.parse_args()

    from transformers import AutoTokenizer

    from petool_utils.benchmark.data import load_benchmark
    from petool_utils.io import atomic_write_json
    from petool_utils.report.docblocks import write_block

    folder = fetch("smollm2")
    tok = AutoTokenizer.from_pretrained(str(folder))
    all_entries = load_benchmark(args.data)
    entries, n_short = pick(all_entries, tok, args.setting, args.n)
    gen_opts = {"temperature": 0.0, "max_tokens": args.max_tokens}
    log_dir = out_root()
    log_dir.mkdir(parents=True, exist_ok=True)
    dirs, walls, skipped = {}, {}, {}
    for way in args.ways.split(","):
        if way == "llama.cpp" and llamacpp_python() is None:
            skipped[way] = ("no llama-cpp-python[server] venv (set PETOOL_LLAMACPP_PYTHON or build "
                            "~/.cache/petool/llamacpp-venv, see the README)")
            print(skipped[way], file=sys.stderr)
            continue
        print(f"{way}: running {len(entries)} prompts", file=sys.stderr)
        dirs[way], walls[way] = run_way(way, folder, entries, args.setting, gen_opts, log_dir)
        print(f"{way}: {walls[way]:.0f} s", file=sys.stderr)
    res = compare(entries, dirs, args.setting)
    res["wall_s_this_call"] = walls
    atomic_write_json(out_root() / "three_ways.json", res)
    body = render(res, args.setting, n_short, len(all_entries), args.max_tokens, skipped)
    print(body)
    if args.write_docs:
        write_block(DOC, BLOCK, body)


if __name__ == "__main__":
    main()
