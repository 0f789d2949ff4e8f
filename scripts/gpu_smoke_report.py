#!/usr/bin/env python3
"""Write the GPU smoke's figures into docs/training.md (the block between the gpu-smoke markers).

    python scripts/gpu_smoke_report.py $OUT/summary.json [MORE_SUMMARIES...] [--doc docs/training.md]

Numbers in docs are written by a script from a run, never by hand: this is that script for the block
"GPU smoke (measured)". A CPU dry run is refused (its figures are not GPU figures) unless
``--allow-dry-run``, and then the block says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _g(x: Any, nd: int = 2) -> str:
    return "n/a" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def render(s: dict[str, Any]) -> str:
    parts = s.get("parts", {})
    env = parts.get("environment", {})
    tr = parts.get("petool_train_sft_dpo", {})
    mp = parts.get("memory_probe_8b_shape", {})
    lines = []
    if s.get("mode") != "gpu":
        lines.append(f"**{s.get('mode')}: not GPU figures** (a rehearsal of the code paths at tiny sizes).\n")
    lines.append(f"Run {s.get('started')} on {env.get('gpu', 'no GPU')} ({_g(env.get('gpu_memory_gib'), 1)} GiB), "
                 f"torch {env.get('torch')}, CUDA {env.get('cuda')}, transformers {env.get('transformers')}, trl {env.get('trl')}, "
                 f"peft {env.get('peft')}, bitsandbytes {env.get('bitsandbytes')}; {_g(s.get('elapsed_s'), 0)} s in all.")
    lines.append("")
    for name, p in parts.items():
        if not p.get("ok") and (p.get("skipped") or p.get("error")):
            why = p.get("skipped") or p.get("error", "")
            lines.append(f"- part `{name}` did not complete: {str(why)[:300]}")
    lines.append("")
    if tr.get("ok") or tr.get("sft"):
        lines.append("**(i) `petool train sft` / `petool train dpo`, tiny-llama stand-in (not PEToolLLaMA), 4-bit NF4, bf16 compute**")
        lines.append("")
        lines.append("| stage | wall s | train s | peak allocated GiB | peak reserved GiB | trainable dtypes at start | loss first -> last | margin at step 1 -> after |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for st in ("sft", "dpo"):
            d = tr.get(st) or {}
            margin = f"{_g(d.get('reward_margin_first_step'), 4)} -> {_g(d.get('reward_margin_after'), 3)}" if st == "dpo" else ""
            lines.append(f"| {st.upper()} | {_g(d.get('wall_s'), 1)} | {_g(d.get('train_seconds'), 1)} | {_g(d.get('cuda_peak_allocated_gib'), 3)} | "
                         f"{_g(d.get('cuda_peak_reserved_gib'), 3)} | {d.get('trainable_dtypes_at_start')} | "
                         f"{_g(d.get('loss_first'), 3)} -> {_g(d.get('loss_last'), 3)} | {margin} |")
        lines.append("")
        lines.append(f"LoRA after SFT: {_g(tr.get('sft_lora_B_nonzero'), 4)} of B entries non-zero; DPO at lr 5e-6 changed "
                     f"{_g(tr.get('dpo_changed_lora_A'), 4)} of A and {_g(tr.get('dpo_changed_lora_B'), 4)} of B entries "
                     f"(during training: {(tr.get('dpo') or {}).get('trainable_changed_share')}); "
                     f"saved dtypes {tr.get('lora_dtypes')}. Checks: "
                     + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in (tr.get("checks") or {}).items()) + ".")
        lines.append("")
    if mp.get("by_layers"):
        lines.append(f"**(ii) memory probe, LLaMA-3.1-8B's width with random weights, {mp.get('seq_len')} tokens, "
                     f"micro-batch {mp.get('micro_batch')} (DPO: chosen + rejected), {mp.get('completion_tokens')} completion "
                     "tokens per sequence, gradient checkpointing, LoRA r 16 on all linear layers**")
        lines.append("")
        lines.append("| layers | step | peak allocated GiB | peak reserved GiB | estimate (allocated) GiB | step s |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for n, row in mp["by_layers"].items():
            for st in ("sft", "dpo"):
                d = row.get(st) or {}
                lines.append(f"| {n} | {st.upper()} | {_g(d.get('peak_allocated_gib'), 3)} | {_g(d.get('peak_reserved_gib'), 3)} | "
                             f"{_g(row.get('estimate_allocated_gib'), 3)} | {_g(d.get('step_s'), 1)} |")
        ns = sorted(mp["by_layers"], key=int)
        if len(ns) >= 2:
            a, b = ns[0], ns[-1]
            ra, rb = mp["by_layers"][a], mp["by_layers"][b]
            ma, mb = (ra.get("sft") or {}).get("peak_allocated_gib"), (rb.get("sft") or {}).get("peak_allocated_gib")
            ea, eb = ra.get("estimate_allocated_gib"), rb.get("estimate_allocated_gib")
            if None not in (ma, mb, ea, eb):
                slope_m, slope_e = (mb - ma) / (int(b) - int(a)), (eb - ea) / (int(b) - int(a))
                lines.append("")
                lines.append(f"SFT per layer: measured {slope_m:.3f} GiB, estimated {slope_e:.3f} GiB; the estimate is "
                             f"{ma - ea:.2f} GiB below the measurement at {a} layers and {mb - eb:.2f} GiB at {b}: a constant "
                             "the layer-wise terms do not hold (allocator blocks and kernel workspaces, not modelled).")
        ex = mp.get("extrapolated_32_layers") or {}
        est = mp.get("estimate_32_layers") or {}
        lines.append("")
        lines.append(f"Extrapolated linearly in the layer count to 32 layers: SFT {_g(ex.get('sft_peak_allocated_gib'))} GiB allocated "
                     f"({_g(ex.get('sft_peak_reserved_gib'))} reserved), DPO {_g(ex.get('dpo_peak_allocated_gib'))} GiB allocated "
                     f"({_g(ex.get('dpo_peak_reserved_gib'))} reserved). `petool_utils.training.memory` estimates "
                     f"{_g(est.get('allocated_gib'))} GiB allocated ({_g(est.get('total_gib_with_cuda_context'))} GiB with the CUDA context).")
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("summary", type=Path, nargs="+", help="one or more runs' summary.json, rendered in order")
    ap.add_argument("--doc", type=Path, default=REPO / "docs" / "training.md")
    ap.add_argument("--allow-dry-run", action="store_true")
    ap.add_argument("--print", action="store_true", help="print the block instead of writing it")
    args = ap.parse_args()
    blocks = []
    for path in args.summary:
        s = json.loads(path.read_text(encoding="utf-8"))
        if s.get("mode") != "gpu" and not args.allow_dry_run:
            print(f"{path}: mode {s.get('mode')!r}, not a GPU run; refusing to write it as GPU figures "
                  "(--allow-dry-run to write it labelled as a rehearsal)", file=sys.stderr)
            return 2
        blocks.append(render(s))
    block = "\n".join(blocks)
    if args.print:
        print(block)
    else:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from petool_utils.report.docblocks import write_block, written_by

        write_block(args.doc, "gpu-smoke", written_by("scripts/gpu_smoke_report.py " + " ".join(map(str, args.summary))) + block)
        print(f"{args.doc}: gpu-smoke block rewritten from {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
