"""What SFT and DPO share: TRL's config from a section, the fp32 fix, one-device placement, resuming,
and the result a run leaves behind."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from petool_utils.training.modeling import (
    compute_dtype,
    has_cuda,
    lora_dropout_in,
    single_process_device,
    trainable_dtypes,
    upcast_trainable,
)
from petool_utils.io import atomic_write_json, read_json
from petool_utils.models.hf_backend import TRAINING_INFO_FILE, cpu_has_bf16
from petool_utils.training.modeling import quiet_known_noise


@dataclass
class TrainResult:
    """What a training run leaves behind (paths) and the numbers a report needs."""

    output_dir: Path
    adapter_dir: Path
    base_model: Path
    model_label: str
    n_records: int
    fit: dict[str, Any] = field(default_factory=dict)
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
            "records_shortened": self.fit.get("shortened", 0),
            "history_items_dropped": self.fit.get("history_items_dropped", 0),
            "records_descriptions_trimmed": self.fit.get("descriptions_trimmed", 0),
            "dropped_over_max_length": self.fit.get("dropped_over_limit", 0),
            "loss_first": ls[0] if ls else None,
            "loss_last": ls[-1] if ls else None,
            "steps": max((h.get("step", 0) for h in self.log_history), default=0),  # optimizer steps
            "losses_logged": len(ls),
            "seconds": round(self.seconds, 1),
            **self.extra,
        }


def write_training_info(adapter_dir: Path, **info: Any) -> dict[str, Any]:
    """``<adapter>/petool_training.json``: how the adapter was trained (``prompt_budget``, ...), read by
    the hf backend so that evaluating the adapter repeats it unless told otherwise."""

    atomic_write_json(Path(adapter_dir) / TRAINING_INFO_FILE, info)
    return info


def distributed_state():
    """accelerate's process state (one process when not launched by accelerate/torchrun)."""
    from accelerate import PartialState

    return PartialState()


def apply_cpu_threads(n: int | None) -> None:
    """Tiny models on a shared CPU train several times faster on one thread than on oversubscribed two."""
    if n and not has_cuda():
        import torch

        torch.set_num_threads(n)


def bf16_available(cuda: bool) -> bool:
    """``bf16: auto``: bf16 on a GPU that supports it, and on a CPU only where it has the instructions
    (avx512_bf16 or amx_bf16). Without them torch emulates CPU bf16 autocast, which made a SmolLM2 training
    step 17x slower than fp32 on a 2-core AVX2 machine (a step the profile had sized at 8-12 s took 5 min)."""
    import torch

    if cuda:
        return compute_dtype() == torch.bfloat16
    return cpu_has_bf16()


def trl_args(kind: str, trl: Mapping[str, Any], stage_dir: Path, seed: int, progress: bool):
    """``SFTConfig``/``DPOConfig`` from the section's TRL fields, as given. petool fills in only what the
    section leaves unset and that depends on the machine or the run: ``output_dir`` (the stage's
    ``checkpoints/``), ``use_cpu`` and ``bf16`` (bf16 on a bf16 GPU, fp32 on CPU, where TRL's bf16
    default would stop; ``bf16: auto`` resolved by :func:`bf16_available`), ``seed`` and ``disable_tqdm``.
    Then pins a single process to one GPU."""
    import torch

    quiet_known_noise()
    from trl import DPOConfig, SFTConfig

    cfg = dict(trl)
    cfg.setdefault("output_dir", str(stage_dir / "checkpoints"))
    cuda = has_cuda()
    cfg.setdefault("use_cpu", not cuda)
    if cfg.get("bf16") == "auto":
        cfg["bf16"] = bf16_available(cuda)
    elif "bf16" not in cfg and "fp16" not in cfg:
        cfg["bf16"] = cuda and compute_dtype() == torch.bfloat16
    elif cfg.get("bf16") is True and not cuda and not cpu_has_bf16():
        warnings.warn("bf16: true on a CPU without avx512_bf16/amx_bf16: torch emulates bf16 autocast there, "
                      "about 17x slower than fp32 (a SmolLM2-135M step at 1,280 tokens: 319 s against 18 s on a "
                      "2-core AVX2 EPYC); bf16: auto uses it only where the CPU has it", stacklevel=2)
    cfg.setdefault("seed", seed)
    cfg.setdefault("disable_tqdm", not progress)
    if kind == "dpo":
        # DPOConfig's disable_dropout (True by default) zeroes every dropout, LoRA's included, so the
        # section's lora_dropout would silently be 0; petool keeps it unless the section says otherwise
        cfg.setdefault("disable_dropout", False)
    args = (SFTConfig if kind == "sft" else DPOConfig)(**cfg)
    single_process_device(args)
    return args


NOT_HASHED = frozenset({"output_dir", "run_dir", "stage_dir", "logging_dir", "logging_steps", "logging_strategy",
                        "save_steps", "save_strategy", "save_total_limit", "disable_tqdm", "report_to", "cpu_threads",
                        "sample_only"})
"""Keys that say where a run writes and how it is watched, not what it learns: left out of its hash."""


def config_hash(section: Mapping[str, Any], rows: Any) -> str:
    """12 hex digits of sha256 over the stage's section as given (``config.given_section``: petool keys
    set to other than their defaults, TRL fields set; less :data:`NOT_HASHED`) and the very rows it
    trains on. Checkpoints live under
    ``<output_dir>/config-<hash>``, so a rerun with another learning rate, other data or another
    ``max_steps`` starts afresh instead of resuming a checkpoint written under the old config."""
    import hashlib
    import json

    kept = {k: v for k, v in section.items() if k not in NOT_HASHED}
    blob = json.dumps({"config": kept, "rows": rows}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def pin_checkpoints(args, section: Mapping[str, Any], rows: Any) -> dict[str, Any]:
    """Point ``args.output_dir`` at this config's own checkpoint folder; returns what the manifest says
    about it (the hash, the folder, and any checkpoint folders of other configs, which are not resumed)."""
    root = Path(args.output_dir)
    if section.get("bf16") == "auto":  # hashed as what it resolved to here: bf16 checkpoints never resume in fp32
        section = {**section, "bf16": bool(args.bf16)}
    digest = config_hash(section, rows)
    args.output_dir = str(root / f"config-{digest}")
    stale = sorted(str(p) for p in root.glob("*") if p.is_dir() and p.name != f"config-{digest}"
                   and (p.name.startswith("config-") or p.name.startswith("checkpoint-")))
    return {"config_hash": digest, "checkpoints": args.output_dir, "stale_checkpoints_not_resumed": stale}


def latest_checkpoint(checkpoints: str | Path) -> str | None:
    """The newest ``checkpoint-N`` of an interrupted run, so a rerun continues instead of restarting."""
    ckpts = sorted(Path(checkpoints).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return str(ckpts[-1]) if ckpts else None


def resume_point(args) -> str | None:
    return latest_checkpoint(args.output_dir) if str(args.save_strategy) not in ("no", "SaveStrategy.NO") else None


ELAPSED_FILE = "petool_elapsed.json"
"""Written into each checkpoint: the training seconds of every run so far, so a resumed run reports them all."""


def fit_and_train(trainer, exact: Mapping[str, Any] | None, resume: str | None) -> dict[str, Any]:
    """Cast the trainable weights back to fp32 (TRL rounds them to bf16 on a k-bit base), record their
    dtypes as training starts and their values before it (the initial adapter, before a checkpoint is loaded),
    train, and measure what changed (and the peak GPU memory). Returns what to record in the manifest.

    A run resumed from a checkpoint says so: which checkpoint, the steps run in this process, and the
    training seconds of all runs (each checkpoint carries :data:`ELAPSED_FILE`). What changed is measured
    from the initial adapter, so a rerun that finds training complete (0 steps left) still reports what the
    training changed, not 0."""
    import torch
    from transformers import TrainerCallback

    before: float | None = 0.0  # training seconds of earlier runs; None: a checkpoint that does not say
    if resume:
        elapsed = Path(resume) / ELAPSED_FILE
        before = float(read_json(elapsed)["train_seconds"]) if elapsed.is_file() else None

    class _AtStart(TrainerCallback):
        """Records the trainable tensors' dtypes when training begins, the step it resumes at, and the
        seconds so far into every checkpoint it saves."""

        def __init__(self) -> None:
            self.dtypes: dict[str, int] = {}
            self.first_step = 0

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.dtypes = trainable_dtypes(model if model is not None else trainer.model)
            self.first_step = state.global_step

        def on_save(self, args, state, control, **kwargs):
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir() and before is not None:
                atomic_write_json(ckpt / ELAPSED_FILE, {"train_seconds": round(before + time.time() - t0, 2)})

    upcast = upcast_trainable(trainer.model, exact)
    initial = {n: p.detach().to("cpu", copy=True) for n, p in trainer.model.named_parameters() if p.requires_grad}
    at_start = _AtStart()
    trainer.add_callback(at_start)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()  # the peak from here on includes the weights already loaded
    t0 = time.time()  # read by on_save too
    trainer.train(resume_from_checkpoint=resume)
    seconds = round(time.time() - t0, 2)
    info: dict[str, Any] = {"trainable_upcast_to_fp32": upcast, "trainable_dtypes_at_start": at_start.dtypes,
                            "lora_dropout_in_training": lora_dropout_in(trainer.model),
                            "trainable_changed_share": changed_share(trainer.model, initial),
                            "train_seconds": seconds,
                            "resumed_from_checkpoint": Path(resume).name if resume else None,
                            "steps_this_run": trainer.state.global_step - at_start.first_step,
                            "train_seconds_all_runs": round(before + seconds, 2) if before is not None else None}
    if cuda:
        info["cuda_peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 1024**3, 3)
        info["cuda_peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 1024**3, 3)
    return info


def changed_share(model, start: Mapping[str, Any]) -> dict[str, float]:
    """Share of entries of each kind of trainable tensor (``lora_A``, ``lora_B``, other) that training
    changed: the check that updates did not round away (see ``modeling.upcast_trainable``)."""
    changed: dict[str, int] = {}
    total: dict[str, int] = {}
    for n, p in model.named_parameters():
        if n not in start:
            continue
        kind = "lora_A" if "lora_A" in n else "lora_B" if "lora_B" in n else "other"
        changed[kind] = changed.get(kind, 0) + int((p.detach().to("cpu") != start[n]).sum())
        total[kind] = total.get(kind, 0) + start[n].numel()
    return {k: round(changed[k] / total[k], 6) for k in sorted(total) if total[k]}
