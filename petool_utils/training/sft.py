"""Supervised fine-tuning: TRL ``SFTTrainer`` + LoRA on the benchmark's reference calls.

QLoRA when CUDA is present (4-bit NF4 double-quantised base, bf16 compute), full-precision LoRA on CPU,
4-bit on CPU on request (``quantization: 4bit``). The loss is on the assistant's call only: records are
prompt/completion pairs and TRL masks the prompt. Records over ``max_length`` are fitted by dropping
their oldest history items (the evaluation rule). Every artifact names the base model; the tiny-llama
stand-in names itself as such, and a run on the released test split says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from petool_utils.benchmark.data import dump_entries
from petool_utils.io import atomic_write_json, atomic_write_jsonl
from petool_utils.models.hf_backend import prompt_token_counter
from petool_utils.training.config import TINY, SFTParams, given_section, prompt_budget, to_dict
from petool_utils.training.data import TEST_DATA_LABEL, resolve_training_data, select
from petool_utils.training.modeling import has_cuda, load_base, load_tokenizer, lora_config, model_label, use_4bit
from petool_utils.training.records import (
    TRAINER_COLUMNS_SFT,
    chat_token_counter,
    fit_records,
    tokenizer_corpus,
    trainer_rows,
    training_sft_records,
)
from petool_utils.training.trainer import (
    TrainResult,
    apply_cpu_threads,
    distributed_state,
    fit_and_train,
    pin_checkpoints,
    resume_point,
    trl_args,
    write_training_info,
)
from petool_utils.models.fetch import KNOWN_MODELS, fetch
from petool_utils.models.tiny import build_tiny_llama


def resolve_base_model(base_model: str, out_dir: Path, texts_fn: Callable[[], list[str]], vocab_size: int, seed: int) -> Path:
    """``tiny``: build (once) the tiny-llama stand-in from the training text; a model ``petool models
    fetch`` knows (``smollm2``): its converted folder, fetched if missing; otherwise the given path."""

    if base_model in KNOWN_MODELS:
        return fetch(base_model)
    if base_model != TINY:
        path = Path(base_model)
        if not (path / "config.json").exists():
            raise FileNotFoundError(
                f"base_model {base_model!r}: no Hugging Face model folder there (config.json missing). "
                "Point base_model at local weights (base_model=/path/to/Meta-Llama-3.1-8B-Instruct) "
                "or use base_model=tiny for the CPU stand-in; nothing is downloaded."
            )
        return path

    path = out_dir / "tiny-llama-standin"
    if not (path / "config.json").exists():
        build_tiny_llama(path, texts_fn(), vocab_size=vocab_size, seed=seed)
    return path


def run_label(base: Path, on_test_data: bool) -> str:
    """The model's label in every artifact; a run on the test split says so."""
    label = model_label(base)
    return f"{label} [{TEST_DATA_LABEL}]" if on_test_data else label


def train_sft(params: SFTParams, progress: bool = True) -> TrainResult:
    """Train a LoRA adapter; write ``<stage_dir>/{adapter/, log_history.json, sft_records.jsonl,
    train_entries.json, manifest.json}`` and return the run's summary."""
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTTrainer

    t0 = time.time()
    apply_cpu_threads(params.cpu_threads)
    set_seed(params.seed)
    out = params.resolved_stage_dir()
    out.mkdir(parents=True, exist_ok=True)
    data = resolve_training_data(params, tiny=params.base_model == TINY)
    entries = select(data.entries, params)
    args = trl_args("sft", params.trl, out, params.seed, progress)
    # Under accelerate/torchrun every process runs this function: the main one builds the stand-in
    # first and the others then load it (two processes must not write one model folder at once).
    with distributed_state().main_process_first():
        base = resolve_base_model(params.base_model, out, lambda: tokenizer_corpus(entries, params.settings),
                                  params.tiny_vocab_size, params.seed)
    tok = load_tokenizer(base)
    budget = prompt_budget(args.max_length, params)
    records, fit = fit_records(training_sft_records(entries, params.settings), entries, chat_token_counter(tok, params.layout),
                               args.max_length, ["completion"], prompt_token_counter(tok, params.layout), params.answer_tokens)
    if params.max_records is not None:
        records = records[: params.max_records]
    if not records:
        raise ValueError(f"no SFT record fits max_length={args.max_length} even with no history "
                         f"({fit.dropped_over_limit} over the limit); raise max_length or shorten the candidates")
    used_ids = {r["entry_id"] for r in records}
    atomic_write_json(out / "train_entries.json", dump_entries(e for e in entries if e.entry_id in used_ids), indent=None)
    atomic_write_jsonl(out / "sft_records.jsonl", records)

    rows = trainer_rows(records, TRAINER_COLUMNS_SFT, params.layout)
    pinned = pin_checkpoints(args, given_section(params), rows)
    quantized = use_4bit(params.quantization)
    model = load_base(base, params.quantization)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tok,
        peft_config=lora_config(params.lora),
    )
    started = fit_and_train(trainer, None, resume_point(args))
    adapter = out / "adapter"
    trainer.save_model(str(adapter))
    tok.save_pretrained(str(adapter))
    trained = write_training_info(adapter, stage="sft", prompt_budget=budget, layout=params.layout,
                                  quantization="4bit" if quantized else "none",
                                  bf16_autocast=bool(args.bf16 and not has_cuda()))
    result = TrainResult(
        output_dir=out,
        adapter_dir=adapter,
        base_model=base,
        model_label=run_label(base, data.on_test_data),
        n_records=len(records),
        fit=fit.as_dict(),
        log_history=list(trainer.state.log_history),
        seconds=time.time() - t0,
        extra={"quantized_4bit": quantized, "device": "cuda" if has_cuda() else "cpu", "max_length": args.max_length,
               **trained, "training_data": data.describe(), **pinned, **started},
    )
    atomic_write_json(out / "log_history.json", result.log_history)
    atomic_write_json(out / "manifest.json", {"stage": "sft", **result.summary(), "fit": result.fit,
                                              "params": to_dict(params)})
    return result


def sft_manifest_of(stage_dir: Path) -> dict[str, Any]:
    """An SFT run's manifest (empty when there is none)."""
    import json

    path = Path(stage_dir) / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
