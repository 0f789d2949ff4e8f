"""Supervised fine-tuning: TRL ``SFTTrainer`` + LoRA on the benchmark's reference calls.

QLoRA when CUDA is present (4-bit NF4 double-quantised base, bf16 compute), full-precision LoRA on CPU,
4-bit on CPU on request (``quantization: 4bit``). The loss is on the assistant's call only: records are
prompt/completion pairs and TRL masks the prompt. Every artifact names the base model, and the
tiny-llama stand-in names itself as such.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petool_utils.benchmark.data import dump_entries
from petool_utils.io import atomic_write_json, atomic_write_jsonl
from petool_utils.training.config import TINY, SFTParams, to_dict
from petool_utils.training.modeling import has_cuda, load_base, load_tokenizer, lora_config, model_label, use_4bit
from petool_utils.training.records import (
    TRAINER_COLUMNS_SFT,
    fit_records,
    load_training_entries,
    sft_records,
    tokenizer_corpus,
    trainer_rows,
)


@dataclass
class TrainResult:
    """What a training run leaves behind (paths) and the numbers a report needs."""

    output_dir: Path
    adapter_dir: Path
    base_model: Path
    model_label: str
    n_records: int
    n_dropped: int
    log_history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def losses(self) -> list[float]:
        return [h["loss"] for h in self.log_history if "loss" in h]

    def summary(self) -> dict[str, Any]:
        ls = self.losses()
        return {
            "model": self.model_label,
            "base_model": str(self.base_model),
            "adapter": str(self.adapter_dir),
            "records": self.n_records,
            "dropped_over_max_length": self.n_dropped,
            "loss_first": ls[0] if ls else None,
            "loss_last": ls[-1] if ls else None,
            "steps": len(ls),
            "seconds": round(self.seconds, 1),
            **self.extra,
        }


def resolve_base_model(base_model: str, out_dir: Path, texts_fn, vocab_size: int, seed: int) -> Path:
    """``tiny``: build (once) the tiny-llama stand-in from the training text; otherwise the given path."""
    if base_model != TINY:
        path = Path(base_model)
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"base_model {base_model!r}: no Hugging Face model folder there (config.json missing). "
                "Point base_model at local weights (base_model=/path/to/Meta-Llama-3.1-8B-Instruct) "
                "or use base_model=tiny for the CPU stand-in; nothing is downloaded."
            )
        return path
    from petool_utils.models.tiny import build_tiny_llama

    path = out_dir / "tiny-llama-standin"
    if not (path / "config.json").exists():
        build_tiny_llama(path, texts_fn(), vocab_size=vocab_size, seed=seed)
    return path


def distributed_state():
    """accelerate's process state (one process when not launched by accelerate/torchrun)."""
    from accelerate import PartialState

    return PartialState()


def apply_cpu_threads(n: int | None) -> None:
    """Tiny models on a shared CPU train several times faster on one thread than on oversubscribed two."""
    if n and not has_cuda():
        import torch

        torch.set_num_threads(n)


def checkpointing_args(save_steps: int) -> dict[str, Any]:
    return {"save_strategy": "steps", "save_steps": save_steps, "save_total_limit": 2} if save_steps > 0 else {"save_strategy": "no"}


def latest_checkpoint(output_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` of an interrupted run, so a rerun continues instead of restarting."""
    ckpts = sorted((output_dir / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(ckpts[-1]) if ckpts else None


def trainer_precision(quantized: bool) -> dict[str, Any]:
    """bf16 on a bf16-capable GPU, fp32 elsewhere; ``use_cpu`` without CUDA (TRL defaults to bf16)."""
    from petool_utils.training.modeling import compute_dtype
    import torch

    cuda = has_cuda()
    return {"use_cpu": not cuda, "bf16": cuda and compute_dtype() == torch.bfloat16, "fp16": False}


def trainer_args(params: Any, quantized: bool, progress: bool) -> dict[str, Any]:
    """The arguments SFTConfig and DPOConfig share, so the two stages cannot drift apart (schedule,
    checkpointing, DDP-safe activation checkpointing, precision, seeds)."""
    return dict(
        learning_rate=params.learning_rate,
        lr_scheduler_type=params.lr_scheduler_type,
        warmup_steps=params.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio
        num_train_epochs=params.num_train_epochs,
        max_steps=params.max_steps,
        per_device_train_batch_size=params.per_device_train_batch_size,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
        activation_checkpointing=params.gradient_checkpointing,
        # non-reentrant checkpointing: required with LoRA under DDP (frozen inputs, no unused-param errors)
        activation_checkpointing_kwargs={"use_reentrant": False} if params.gradient_checkpointing else None,
        ddp_find_unused_parameters=False,
        max_length=params.max_length,
        logging_steps=params.logging_steps,
        **checkpointing_args(params.save_steps),
        report_to=[],
        seed=params.seed,
        data_seed=params.seed,
        disable_tqdm=not progress,
        **trainer_precision(quantized),
    )


def train_sft(params: SFTParams, progress: bool = True) -> TrainResult:
    """Train a LoRA adapter; write ``<output_dir>/{adapter/, log_history.json, sft_records.jsonl,
    train_entries.json, manifest.json}`` and return the run's summary."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    t0 = time.time()
    apply_cpu_threads(params.cpu_threads)
    set_seed(params.seed)
    out = params.resolved_output_dir()
    out.mkdir(parents=True, exist_ok=True)
    entries = load_training_entries(params, params.run_dir)
    # Under accelerate/torchrun every process runs this function: the main one builds the stand-in
    # first and the others then load it (two processes must not write one model folder at once).
    with distributed_state().main_process_first():
        base = resolve_base_model(params.base_model, out, lambda: tokenizer_corpus(entries, params.settings), params.tiny_vocab_size, params.seed)
    tok = load_tokenizer(base)
    tok.padding_side = "right"  # training pads on the right; generation (load_tokenizer) on the left
    records, dropped = fit_records(sft_records(entries, params.settings), tok, params.max_length, ["completion"])
    if params.max_records is not None:
        records = records[: params.max_records]
    if not records:
        raise ValueError(f"no SFT record fits max_length={params.max_length} ({len(dropped)} dropped); raise max_length or shorten prompts")
    used_ids = {r["entry_id"] for r in records}
    atomic_write_json(out / "train_entries.json", dump_entries(e for e in entries if e.entry_id in used_ids), indent=None)
    atomic_write_jsonl(out / "sft_records.jsonl", records)

    quantized = use_4bit(params.quantization)
    model = load_base(base, params.quantization, for_training=True)
    args = SFTConfig(
        output_dir=str(out / "checkpoints"),
        **trainer_args(params, quantized, progress),
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(trainer_rows(records, TRAINER_COLUMNS_SFT)),
        processing_class=tok,
        peft_config=lora_config(params.lora),
    )
    trainer.train(resume_from_checkpoint=latest_checkpoint(out) if params.save_steps > 0 else None)
    adapter = out / "adapter"
    trainer.save_model(str(adapter))
    tok.save_pretrained(str(adapter))
    result = TrainResult(
        output_dir=out,
        adapter_dir=adapter,
        base_model=base,
        model_label=model_label(base),
        n_records=len(records),
        n_dropped=len(dropped),
        log_history=list(trainer.state.log_history),
        seconds=time.time() - t0,
        extra={"quantized_4bit": quantized, "device": "cuda" if has_cuda() else "cpu"},
    )
    atomic_write_json(out / "log_history.json", result.log_history)
    atomic_write_json(out / "manifest.json", {"stage": "sft", **result.summary(), "params": to_dict(params)})
    return result
