#!/usr/bin/env python3
"""Write the numbers of docs/training.md from their sources (never by hand):

    python scripts/training_doc_numbers.py --memory                    # block memory-estimate (training/memory.py)
    python scripts/training_doc_numbers.py --fit-share benchmarks/results/training_fit_share.json
    python scripts/training_doc_numbers.py --run-dir runs/smoke        # block tiny-run (a run's manifests)

The GPU smoke's block is scripts/gpu_smoke_report.py's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from petool_utils.report.docblocks import write_block, written_by  # noqa: E402

DOC = REPO / "docs" / "training.md"
ME = "scripts/training_doc_numbers.py"


def memory_block() -> str:
    from petool_utils.training.memory import (
        LlamaShape,
        estimate_qlora_memory,
        kv_cache_gib,
        layer_slope_gib,
        lora_params,
        nf4_bits_per_param,
        recomputed_block_bytes_per_token,
    )

    s = LlamaShape()
    two, one = estimate_qlora_memory(micro_batch=2), estimate_qlora_memory(micro_batch=1)
    how = {
        "base_weights_gib": f"{s.linear_params() / 1e9:.2f} B linear params x {nf4_bits_per_param():.3f} bits (NF4 + double-quantised block constants)",
        "embeddings_fp32_gib": f"2 x {s.vocab:,} x {s.hidden:,} x 4 B: `prepare_model_for_kbit_training` upcasts embeddings and `lm_head` to fp32",
        "lora_states_gib": f"{lora_params(s, 16) / 1e6:.1f} M params (r 16, all linear) x 16 B (fp32 weight, grad, 2 Adam moments)",
        "checkpointed_activations_gib": f"{s.layers} layers x tokens x {s.hidden:,} x 4 B: each block's input, fp32 (the residual stream is fp32 after the upcast)",
        "recomputed_block_gib": f"tokens x {recomputed_block_bytes_per_token(s):,} B: one block in backward (4 fp32 residual/norm tensors, bf16 q/k/v/o, gate/up/act/product, down), SDPA attention",
        "completion_logits_gib": f"2 x 64 completion tokens x {s.vocab:,} x (4 + 4) B per micro-batch of 2: TRL 1.16 runs the LM head on the scored positions only",
        "cuda_context_gib": "CUDA context and allocator slack (not in `max_memory_allocated`)",
    }
    rows = ["| term | how | GiB, micro-batch 2 (SFT; DPO batch 1 = chosen + rejected) | micro-batch 1 |", "| --- | --- | --- | --- |"]
    for (k, v2), (_, v1) in zip(two.as_rows()[:-1], one.as_rows()[:-1]):
        rows.append(f"| {k.removesuffix('_gib').replace('_', ' ')} | {how[k]} | {v2:.2f} | {v1:.2f} |")
    rows.append(f"| **total** | | **{two.total_gib:.2f}** | **{one.total_gib:.2f}** |")
    rows.append("")
    rows.append(f"Per decoder layer the estimate grows by {layer_slope_gib():.3f} GiB (what the GPU smoke's 2- and 4-layer probes "
                f"extrapolate with). Without gradient checkpointing: {estimate_qlora_memory(gradient_checkpointing=False).total_gib:.1f} GiB. "
                f"DPO sampling holds the KV cache of K = 8 samples of one prompt of 4,096 + 256 tokens: {kv_cache_gib():.2f} GiB "
                f"(bf16, 32 layers x 8 KV heads x 128 x 2); eight prompts at once would hold {kv_cache_gib(sequences=64):.1f} GiB.")
    return "\n".join(rows)


def fit_share_block(path: Path) -> str:
    d = json.loads(path.read_text(encoding="utf-8"))
    L = d["max_length"]
    lines = [f"Dev slice ({d['entries']} entries x 3 settings = {d['records']} SFT records, full histories), max_length {L:,}, "
             f"from `benchmarks/training_fit_share.py` ({path.relative_to(REPO) if path.is_relative_to(REPO) else path}):", "",
             "| token count | shortened | share | by setting (p / r / c) | history items dropped | over the limit with no history (dropped) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name in ("chars/4", "wordpiece"):
        r = d[name]
        bs = r["shortened_share_by_setting"]
        lines.append(f"| {name} | {r['shortened']} | {r['shortened_share']:.1%} | {bs['preferred']:.1%} / {bs['ratings']:.1%} / "
                     f"{bs['chronological']:.1%} | {r['history_items_dropped']} | {r['dropped_over_limit']} ({r['dropped_over_limit'] / r['records']:.1%}) |")
    other = d.get("chars/4 at other lengths", {})
    if other:
        lines.append("")
        lines.append("chars/4 at other lengths: " + "; ".join(
            f"{int(k):,} tokens: {v['shortened']} shortened ({v['shortened_share']:.1%}), {v['dropped_over_limit']} over the limit"
            for k, v in other.items()) + ".")
    return "\n".join(lines)


def tiny_run_block(run_dir: Path) -> str:
    t = run_dir / "train"
    man = {s: json.loads((t / s / "manifest.json").read_text()) for s in ("sft", "dpo", "dpo_only") if (t / s / "manifest.json").exists()}
    sft, dpo = man["sft"], man.get("dpo", {})
    src = json.loads((t / "dpo" / "pair_sources.json").read_text()) if (t / "dpo" / "pair_sources.json").exists() else {}
    lines = [f"Run `{run_dir.name}` ({sft['model']}), device {sft.get('device')}, seed {sft['params'].get('seed')}:", "",
             "| | result |", "| --- | --- |",
             f"| SFT, {sft['records']} records, {sft.get('losses_logged', sft['steps'])} logged steps | loss {sft['loss_first']:.2f} to {sft['loss_last']:.3f}, "
             f"{sft.get('train_seconds')} s training; shortened {sft['records_shortened']}, dropped over max_length {sft['dropped_over_max_length']} |"]
    if dpo:
        lines.append(f"| DPO from the SFT adapter, {dpo['records']} pairs | reward margin {dpo['reward_margin_first_step']:.3f} at step 1 to "
                     f"{dpo['reward_margin_after']:.3f} after (one evaluation of the pairs, after training) |")
        chosen = ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(src.items()) if k.startswith("chosen:"))
        rejected = ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(src.items()) if k.startswith("rejected:"))
        lines.append(f"| pair sources ({src.get('samples')} samples: {src.get('samples_invalid')} unparsable, "
                     f"{src.get('samples_exact')} exact, {src.get('samples_preferred_tool')} of the preferred tool) | "
                     f"chosen: {chosen}; rejected: {rejected} |")
    if "dpo_only" in man:
        o = man["dpo_only"]
        lines.append(f"| DPO only (fresh LoRA on the base, same pairs) | reward margin {o['reward_margin_first_step']:.3f} to {o['reward_margin_after']:.3f} |")
    abl = t / "ablation_predictions" / "ablation.json"
    if abl.exists():
        rows = json.loads(abl.read_text())
        lines.append("| ablation (call accuracy, `hf:` evaluation predictor) | "
                     + ", ".join(f"{r['variant']} {r['call_acc']:.2f}" for r in rows if r["setting"] == rows[0]["setting"])
                     + f" ({rows[0]['n']} {rows[0]['setting']} entries) |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--fit-share", type=Path)
    ap.add_argument("--run-dir", type=Path)
    ap.add_argument("--doc", type=Path, default=DOC)
    args = ap.parse_args()
    if args.memory:
        write_block(args.doc, "memory-estimate", written_by(ME + " --memory") + memory_block())
    if args.fit_share:
        write_block(args.doc, "fit-share", written_by(ME + " --fit-share") + fit_share_block(args.fit_share.resolve()))
    if args.run_dir:
        write_block(args.doc, "tiny-run", written_by(ME + " --run-dir") + tiny_run_block(args.run_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
