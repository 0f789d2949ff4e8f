"""DPO on the SFT model's own samples: TRL ``DPOTrainer`` (the loss and beta are DPOConfig fields; the
paper's sigmoid loss and beta 0.1 are in params/paper.yaml).

``init: sft`` continues the SFT adapter (the paper's SFT+DPO; TRL then uses a frozen copy of that
adapter as the reference model), ``init: base`` trains a fresh LoRA on the base (the "DPO only"
ablation; the reference is the base itself). The reward margin (beta x the chosen-minus-rejected
log-ratio against the reference) is 0 at the first step by construction (policy = reference, both fp32)
and is read from the first logged step; the pairs are evaluated once, after training (``evaluate_after``;
the last logged step's margin is reported either way).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

from petool_utils.benchmark.data import load_entries
from petool_utils.benchmark.locate import require_input
from petool_utils.benchmark.prompts import entry_messages
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl
from petool_utils.models.hf_backend import prompt_token_counter
from petool_utils.training.config import DPOParams, given_section, prompt_budget, to_dict
from petool_utils.training.data import CONSTRUCTED, RELEASED_TEST, TrainingData, resolve_training_data, select
from petool_utils.training.modeling import has_cuda, load_base, load_tokenizer, lora_config, trainable_snapshot, use_4bit
from petool_utils.training.records import TRAINER_COLUMNS_DPO, chat_token_counter, fit_records, trainer_rows
from petool_utils.training.sampling import build_pairs, count_sources, prompt_keys, rejected_shares, sample_calls
from petool_utils.training.sft import run_label, sft_manifest_of
from petool_utils.training.trainer import TrainResult, apply_cpu_threads, distributed_state
from petool_utils.training.trainer import fit_and_train, pin_checkpoints, resume_point, trl_args, write_training_info
from petool_utils.models.fetch import KNOWN_MODELS, fetch
from petool_utils.models.tiny import is_standin
from petool_utils.models.base import make_llm
from petool_utils.models.cache import CachedLLM
from petool_utils.models.spec import ModelSpec


def resolve_base(params: DPOParams) -> Path:

    if params.base_model in KNOWN_MODELS:
        return fetch(params.base_model)
    if params.base_model:
        return Path(params.base_model)
    base = sft_manifest_of(require_input(params.resolved_sft_adapter()).parent).get("base_model")
    if not base:
        raise ValueError(f"DPO: no base_model given and no SFT manifest beside {params.resolved_sft_adapter()}")
    return Path(base)


def dpo_data(params: DPOParams, base: Path) -> TrainingData:
    """The SFT run's own (already shortened) training entries unless the config names other data; its
    training-data source (a test-split demo stays labelled as one)."""

    sft_dir = params.resolved_sft_adapter().parent
    sft_entries = sft_dir / "train_entries.json"
    if params.train_data is None and sft_entries.exists():
        entries = load_entries(sft_entries)
        end = None if params.limit is None else params.offset + params.limit
        source = (sft_manifest_of(sft_dir).get("training_data") or {}).get("source", CONSTRUCTED)
        return TrainingData(entries[params.offset: end], source, str(sft_entries))
    data = resolve_training_data(params, tiny=is_standin(base))
    entries = select(data.entries, params)
    pairs = None
    if data.pairs is not None:  # the released pairs, re-rendered for the selected (shortened) entries
        by_id = {e.entry_id: e for e in entries}
        pairs = [{**p, "prompt": entry_messages(by_id[p["entry_id"]], p["setting"])} for p in data.pairs if p["entry_id"] in by_id]
    return TrainingData(entries, data.source, data.path, pairs)


def sampler(params: DPOParams, base: Path, out: Path, progress: bool, budget: int):
    """The SFT model behind the LLM seam: the hf backend (the one generation loop) in the one cache,
    fitting each prompt into the stage's prompt budget (the one length rule)."""

    s = params.sampling
    spec = ModelSpec("hf", str(base), str(params.resolved_sft_adapter()))
    backend = make_llm(spec, quantization=params.quantization, max_context=budget,
                       sample_batch_size=s.sample_batch_size, seed=params.seed, progress=progress)
    return CachedLLM(backend, out / "cache" / "samples.sqlite")


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def make_pairs(params: DPOParams, base: Path, out: Path, data: TrainingData, budget: int,
               progress: bool = True) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Sample K calls per instruction from the SFT adapter and build the pairs; written to ``out``.

    Reuses ``pairs_path`` when given (the "DPO only" run takes the SFT+DPO run's pairs, so the two
    ablation rows differ only in their starting point), and the authors' pairs when ``train_data``
    named the released DPO files.
    """
    if params.pairs_path:
        pairs = list(iter_jsonl(require_input(params.pairs_path)))
        return pairs, count_sources(pairs)
    if data.pairs is not None:
        atomic_write_jsonl(out / "pairs.jsonl", data.pairs)
        return data.pairs, count_sources(data.pairs)
    s = params.sampling
    keys = prompt_keys(data.entries, params.settings)
    llm = sampler(params, base, out, progress, budget)
    try:
        options = {"temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens, "seed": params.seed}
        samples, stats = sample_calls(llm, keys, s.num_samples, options)
    finally:
        llm.close()
        del llm
        free_memory()
    atomic_write_jsonl(out / "samples.jsonl", [{"entry_id": e.entry_id, "setting": st, "samples": smp}
                                               for (e, st), smp in zip(keys, samples)])
    pairs, counts = build_pairs(data.entries, params.settings, samples, other_tools=s.other_tools, seed=params.seed,
                                build_rejected=s.build_rejected)
    atomic_write_jsonl(out / "pairs.jsonl", pairs)
    return pairs, {**dict(sorted(counts.items())), "rejected_shares": rejected_shares(counts),
                   "build_rejected": s.build_rejected, "sampling": stats}


def use_reference(trainer, params: DPOParams) -> str:
    """Make the trainer's reference the one the config names; returns what it is.

    TRL 1.16, given a PEFT model with an adapter, copies that adapter to a frozen ``ref`` adapter (the
    paper's "SFT model" reference). ``reference: base`` deletes the copy, and TRL then computes the
    reference log-probs with every adapter disabled (its ``use_adapter(model, None)``): the base model,
    as LLaMA-Factory's ``disable_adapter()`` does in the authors' code.
    """
    model = trainer.model
    peft_configs = getattr(model, "peft_config", {})
    if params.init == "base":
        return "base (init: base, a fresh LoRA)"
    if params.reference == "base":
        if "ref" in peft_configs:
            model.delete_adapter("ref")
        return "base (adapters disabled, the authors' code)"
    if "ref" not in peft_configs:
        raise RuntimeError("DPO reference 'sft': TRL did not build its frozen copy of the SFT adapter")
    return "sft (frozen copy of the SFT adapter, the paper's text)"


def _metric(metrics: dict[str, Any] | None, name: str) -> float | None:
    for k in (f"eval_{name}", name):
        if metrics and k in metrics:
            return float(metrics[k])
    return None


def train_dpo(params: DPOParams, progress: bool = True) -> TrainResult:
    """Sample, pair, fit, train; write ``<stage_dir>/{samples.jsonl, pairs.jsonl, pair_sources.json,
    adapter/, log_history.json, manifest.json}``."""
    from datasets import Dataset
    from peft import PeftModel
    from transformers import set_seed
    from trl import DPOTrainer

    t0 = time.time()
    apply_cpu_threads(params.cpu_threads)
    set_seed(params.seed)
    out = params.resolved_stage_dir()
    out.mkdir(parents=True, exist_ok=True)
    if params.init == "sft":  # continued from the SFT adapter: say what writes it before any model loads
        require_input(params.resolved_sft_adapter())
    base = resolve_base(params)
    data = dpo_data(params, base)
    if params.pairs_path is None and data.pairs is None:  # the pairs are sampled from the SFT adapter
        require_input(params.resolved_sft_adapter())
    args = trl_args("dpo", params.trl, out, params.seed, progress)
    budget = prompt_budget(args.max_length, params)
    state = distributed_state()
    with state.main_process_first():  # the main process samples; the others read its pairs
        if state.is_main_process or params.pairs_path:
            pairs, sources = make_pairs(params, base, out, data, budget, progress)
        else:
            pairs = list(iter_jsonl(out / "pairs.jsonl"))
            sources = count_sources(pairs)
    atomic_write_json(out / "pair_sources.json", sources)
    label = run_label(base, data.source == RELEASED_TEST)
    if params.sample_only:
        return TrainResult(out, out / "adapter", base, label, len(pairs), {}, [], time.time() - t0,
                           {"pair_sources": sources, "rejected_sampled_share": sources["rejected_shares"]["sampled"],
                            "rejected_built_share": sources["rejected_shares"]["built"],
                            "pairs": str(out / "pairs.jsonl"), "trained": False})
    tok = load_tokenizer(base)
    pairs, fit = fit_records(pairs, data.entries, chat_token_counter(tok, params.layout), args.max_length, ["chosen", "rejected"],
                             prompt_token_counter(tok, params.layout), params.answer_tokens)
    if not pairs:
        raise ValueError(f"no DPO pair fits max_length={args.max_length} even with no history ({fit.dropped_over_limit} over the limit)")

    quantized = use_4bit(params.quantization)
    model = load_base(base, params.quantization)
    peft_config, exact = None, None
    if params.init == "sft":
        model = PeftModel.from_pretrained(model, str(params.resolved_sft_adapter()), is_trainable=True)
        exact = trainable_snapshot(model)  # fp32, as TRL's reference copy will be
    else:
        peft_config = lora_config(params.lora)
    rows = trainer_rows(pairs, TRAINER_COLUMNS_DPO, params.layout)
    pinned = pin_checkpoints(args, given_section(params), rows)
    ds = Dataset.from_list(rows)
    trainer = DPOTrainer(model=model, args=args, train_dataset=ds, eval_dataset=ds, processing_class=tok, peft_config=peft_config)
    reference = use_reference(trainer, params)
    started = fit_and_train(trainer, exact, resume_point(args))
    after = trainer.evaluate() if params.evaluate_after else None  # each pair once, after training
    adapter = out / "adapter"
    trainer.save_model(str(adapter))
    tok.save_pretrained(str(adapter))
    trained = write_training_info(adapter, stage="dpo", prompt_budget=budget, layout=params.layout,
                                  quantization="4bit" if quantized else "none",
                                  bf16_autocast=bool(args.bf16 and not has_cuda()))
    logged = [h for h in trainer.state.log_history if "rewards/margins" in h]
    result = TrainResult(
        output_dir=out,
        adapter_dir=adapter,
        base_model=base,
        model_label=label,
        n_records=len(pairs),
        fit=fit.as_dict(),
        log_history=list(trainer.state.log_history),
        seconds=time.time() - t0,
        extra={
            "init": params.init,
            "reference": reference,
            "reward_margin_first_step": float(logged[0]["rewards/margins"]) if logged else None,
            "reward_margin_first_logged_step": logged[0].get("step") if logged else None,
            "reward_margin_last_step": float(logged[-1]["rewards/margins"]) if logged else None,
            "reward_margin_after": _metric(after, "rewards/margins"),  # None with evaluate_after: false
            "reward_accuracy_after": _metric(after, "rewards/accuracies"),
            "pair_sources": sources,
            "rejected_sampled_share": sources["rejected_shares"]["sampled"],
            "rejected_built_share": sources["rejected_shares"]["built"],
            "quantized_4bit": quantized,
            "device": "cuda" if has_cuda() else "cpu",
            "max_length": args.max_length,
            **trained,
            "training_data": data.describe(),
            **pinned,
            **started,
        },
    )
    atomic_write_json(out / "log_history.json", result.log_history)
    atomic_write_json(out / "manifest.json", {"stage": "dpo", **result.summary(), "fit": result.fit,
                                              "params": to_dict(params)})
    return result
