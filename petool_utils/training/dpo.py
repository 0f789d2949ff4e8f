"""DPO on the SFT model's own samples: TRL ``DPOTrainer``, sigmoid loss, beta 0.1 (the paper's recipe).

``init: sft`` continues the SFT adapter (the paper's SFT+DPO; TRL then uses a frozen copy of that
adapter as the reference model), ``init: base`` trains a fresh LoRA on the base (the "DPO only"
ablation; the reference is the base itself). The reward margin (beta x the chosen-minus-rejected log-
ratio against the reference) is measured on the training pairs before and after training: before is 0
by construction (policy = reference), after shows what DPO learnt.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from petool_utils.benchmark.data import load_entries
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl
from petool_utils.training.config import DPOParams, to_dict
from petool_utils.training.modeling import (
    has_cuda,
    load_base,
    load_for_inference,
    load_tokenizer,
    lora_config,
    model_label,
    use_4bit,
)
from petool_utils.training.records import TRAINER_COLUMNS_DPO, fit_records, load_training_entries, trainer_rows
from petool_utils.training.sampling import build_pairs, count_sources, sample_calls
from petool_utils.training.sft import TrainResult, apply_cpu_threads, distributed_state, latest_checkpoint, trainer_args


def sft_manifest(params: DPOParams) -> dict[str, Any]:
    path = params.resolved_sft_adapter().parent / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def resolve_base(params: DPOParams) -> Path:
    if params.base_model:
        return Path(params.base_model)
    base = sft_manifest(params).get("base_model")
    if not base:
        raise ValueError(f"DPO: no base_model given and no SFT manifest beside {params.resolved_sft_adapter()}")
    return Path(base)


def dpo_entries(params: DPOParams):
    """The SFT run's own (already shortened) training entries unless the config names other data."""
    sft_entries = params.resolved_sft_adapter().parent / "train_entries.json"
    if params.train_data is None and sft_entries.exists():
        entries = load_entries(sft_entries)
        end = None if params.limit is None else params.offset + params.limit
        return entries[params.offset : end]
    return load_training_entries(params, params.run_dir)


def make_pairs(params: DPOParams, base: Path, out: Path, progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Sample K calls per instruction from the SFT adapter and build the pairs; written to ``out``.

    Reuses ``pairs_path`` when given (the "DPO only" run takes the SFT+DPO run's pairs, so the two
    ablation rows differ only in their starting point).
    """
    if params.pairs_path:
        pairs = list(iter_jsonl(params.pairs_path))
        return pairs, count_sources(pairs)
    entries = dpo_entries(params)
    from petool_utils.benchmark.prompts import entry_messages

    messages = [entry_messages(e, s) for e in entries for s in params.settings]
    model, tok = load_for_inference(base, params.resolved_sft_adapter(), params.quantization)
    samples = sample_calls(model, tok, messages, params.num_samples, params.temperature, params.top_p,
                           params.max_new_tokens, params.seed, params.sample_batch_size, progress)
    del model
    rows = [
        {"entry_id": e.entry_id, "setting": s, "samples": smp}
        for (e, s), smp in zip(((e, s) for e in entries for s in params.settings), samples)
    ]
    atomic_write_jsonl(out / "samples.jsonl", rows)
    pairs, counts = build_pairs(entries, params.settings, samples)
    atomic_write_jsonl(out / "pairs.jsonl", pairs)
    return pairs, dict(sorted(counts.items()))


def _margin(metrics: dict[str, Any]) -> float | None:
    for k in ("eval_rewards/margins", "rewards/margins"):
        if k in metrics:
            return float(metrics[k])
    return None


def train_dpo(params: DPOParams, progress: bool = True) -> TrainResult:
    """Sample, pair, train; write ``<output_dir>/{samples.jsonl, pairs.jsonl, pair_sources.json,
    adapter/, log_history.json, manifest.json}``."""
    from datasets import Dataset
    from peft import PeftModel
    from transformers import set_seed
    from trl import DPOConfig, DPOTrainer

    if params.init not in ("sft", "base"):
        raise ValueError(f"DPO init must be 'sft' or 'base', not {params.init!r}")
    t0 = time.time()
    apply_cpu_threads(params.cpu_threads)
    set_seed(params.seed)
    out = params.resolved_output_dir()
    out.mkdir(parents=True, exist_ok=True)
    base = resolve_base(params)
    state = distributed_state()
    with state.main_process_first():  # the main process samples; the others read its pairs
        if state.is_main_process or params.pairs_path:
            pairs, sources = make_pairs(params, base, out, progress)
        else:
            pairs = list(iter_jsonl(out / "pairs.jsonl"))
            sources = count_sources(pairs)
    atomic_write_json(out / "pair_sources.json", sources)
    if params.sample_only:
        return TrainResult(out, out / "adapter", base, model_label(base), len(pairs), 0, [], time.time() - t0,
                           {"pair_sources": sources, "pairs": str(out / "pairs.jsonl"), "trained": False})
    tok = load_tokenizer(base)
    tok.padding_side = "right"  # training pads on the right; generation (load_tokenizer) on the left
    pairs, dropped = fit_records(pairs, tok, params.max_length, ["chosen", "rejected"])
    if not pairs:
        raise ValueError(f"no DPO pair fits max_length={params.max_length} ({len(dropped)} dropped)")

    quantized = use_4bit(params.quantization)
    model = load_base(base, params.quantization, for_training=True)
    peft_config = None
    if params.init == "sft":
        model = PeftModel.from_pretrained(model, str(params.resolved_sft_adapter()), is_trainable=True)
    else:
        peft_config = lora_config(params.lora)
    args = DPOConfig(
        output_dir=str(out / "checkpoints"),
        beta=params.beta,
        loss_type=[params.loss_type],
        per_device_eval_batch_size=max(1, params.per_device_train_batch_size),
        **trainer_args(params, quantized, progress),
    )
    ds = Dataset.from_list(trainer_rows(pairs, TRAINER_COLUMNS_DPO))
    trainer = DPOTrainer(model=model, args=args, train_dataset=ds, eval_dataset=ds, processing_class=tok, peft_config=peft_config)
    # A 4-bit model must not run in eval mode on CPU before training (bitsandbytes repacks it for
    # good and LoRA stops learning); the margin before training is 0 by construction anyway.
    before = None if (quantized and not has_cuda()) else trainer.evaluate()
    trainer.train(resume_from_checkpoint=latest_checkpoint(out) if params.save_steps > 0 else None)
    after = trainer.evaluate()
    adapter = out / "adapter"
    trainer.save_model(str(adapter))
    tok.save_pretrained(str(adapter))
    result = TrainResult(
        output_dir=out,
        adapter_dir=adapter,
        base_model=base,
        model_label=model_label(base),
        n_records=len(pairs),
        n_dropped=len(dropped),
        log_history=list(trainer.state.log_history),
        seconds=time.time() - t0,
        extra={
            "init": params.init,
            "reward_margin_before": _margin(before) if before else 0.0,
            "reward_margin_before_measured": before is not None,
            "reward_margin_after": _margin(after),
            "pair_sources": sources,
            "quantized_4bit": quantized,
            "device": "cuda" if has_cuda() else "cpu",
        },
    )
    atomic_write_json(out / "log_history.json", result.log_history)
    atomic_write_json(out / "manifest.json", {"stage": "dpo", **result.summary(), "params": to_dict(params)})
    return result
