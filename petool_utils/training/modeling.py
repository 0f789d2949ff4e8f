"""Loading a base for training (4-bit NF4 or full precision), LoRA, and the precision of what trains.

QLoRA needs the base quantised *before* LoRA is attached and trained. On CPU, bitsandbytes repacks a
4-bit layer's weights for good the first time it runs in eval mode under ``no_grad``, after which LoRA
gets no gradients (see ../shared/STACK.md): so a model loaded for training is never used for inference
first. Inference (DPO sampling, the ablation) loads its own copy through the hf backend
(``petool_utils.models.hf_backend``), the kit's one generation loop.

**Trainable weights stay fp32.** With a quantised base, TRL 1.16 casts every trainable parameter to
bf16 when it builds its trainer (it follows the QLoRA paper's bf16 adapters). At DPO's learning rate
(5e-6) most updates to a bf16 weight round to nothing: on the 4-bit tiny model 4 steps changed under 2 %
of the LoRA entries, against all of them in fp32. :func:`upcast_trainable` casts them back once the
trainer is built, restoring the exact fp32 values where they are known (so a continued SFT adapter
starts equal to TRL's fp32 reference copy and the step-0 DPO margin is exactly 0).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from petool_utils.models.loading import compute_dtype, has_cuda, load_causal_lm, load_tokenizer, local_device, use_4bit

__all__ = ["compute_dtype", "has_cuda", "load_base", "load_tokenizer", "local_device", "lora_config", "use_4bit"]

STANDIN_FILE = "petool_model.json"


def quiet_known_noise() -> None:
    """Silence three messages that are harmless here and would otherwise show as red blocks in the
    notebooks' HTML: bitsandbytes' notice about the optional ``kernels`` package (never installed: it
    reaches for the hub), and transformers 5's deprecation of the ``gradient_checkpointing`` names,
    which TRL 1.16 itself still sets and reads."""
    import logging
    import warnings

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r"`(is_)?gradient_checkpointing(_enable|_disable)?` is deprecated", category=FutureWarning)


def model_label(model_path: str | Path) -> str:
    """How a model is named in artifacts: the stand-in says it is one."""
    meta = Path(model_path) / STANDIN_FILE
    if meta.exists():
        return json.loads(meta.read_text(encoding="utf-8")).get("label", str(model_path))
    return str(model_path)


def load_base(model_path: str | Path, quantization: str = "auto"):
    """The base causal LM for training (the one loader, :func:`~petool_utils.models.loading.load_causal_lm`:
    4-bit NF4 double-quantised when the one rule says so), then ``prepare_model_for_kbit_training``
    (which upcasts the embeddings, norms and LM head to fp32)."""
    model = load_causal_lm(model_path, quantization=quantization, training=True)
    if use_4bit(quantization):
        from peft import prepare_model_for_kbit_training  # heavy optional dependency

        # checkpointing is switched on by the trainer (``activation_checkpointing`` and its kwargs), and TRL
        # adds the input-grad hook it needs for a PEFT model; not twice here
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model


def lora_config(lora: Mapping[str, Any]):
    """``peft.LoraConfig`` from the section's ``lora`` mapping (its own field names); petool adds only
    ``task_type`` (a causal LM)."""
    from peft import LoraConfig

    return LoraConfig(**{"task_type": "CAUSAL_LM", **dict(lora)})


def trainable_snapshot(model) -> dict[str, Any]:
    """The trainable parameters' current values (fp32 copies), taken before TRL builds its trainer."""
    return {n: p.detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}


def upcast_trainable(model, exact: Mapping[str, Any] | None = None) -> int:
    """Every parameter with ``requires_grad`` back to fp32 (see the module docstring); values from
    ``exact`` where given (a snapshot taken before TRL rounded them to bf16). Returns how many changed."""
    import torch

    changed = 0
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        src = (exact or {}).get(name)
        if src is not None and src.shape == p.shape:
            if p.dtype != torch.float32 or not torch.equal(p.data, src.to(p.device)):
                p.data = src.to(device=p.device, dtype=torch.float32).clone()
                changed += 1
        elif p.dtype != torch.float32:
            p.data = p.data.float()
            changed += 1
    return changed


def lora_dropout_in(model) -> float:
    """The LoRA dropout the model really applies (the largest ``p`` of its ``lora_dropout`` modules; 0
    when PEFT put an identity there, or a trainer zeroed it): what a manifest records, read from the
    model rather than from the config."""
    import torch.nn as nn

    ps = [m.p for n, m in model.named_modules() if "lora_dropout" in n and isinstance(m, nn.Dropout)]
    return float(max(ps)) if ps else 0.0


def trainable_dtypes(model) -> dict[str, int]:
    """``{dtype: number of trainable tensors}``: what a run records when training starts."""
    out: dict[str, int] = {}
    for _, p in model.named_parameters():
        if p.requires_grad:
            out[str(p.dtype).replace("torch.", "")] = out.get(str(p.dtype).replace("torch.", ""), 0) + 1
    return out


def single_process_device(args) -> bool:
    """Outside a distributed launch, train on one GPU even when several are visible.

    ``Trainer`` wraps the model in ``nn.DataParallel`` when a single process sees several GPUs, and
    TRL's trainers refuse that ("does not support nn.DataParallel"). The 4-bit base sits on GPU
    ``LOCAL_RANK`` (0) anyway, so petool pins the trainer to one GPU. Returns True when it had to.
    Multi-GPU training is ``accelerate launch``/``torchrun`` (one process per GPU).
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return False
    _ = args.device  # resolves n_gpu
    if getattr(args, "_n_gpu", 0) > 1:
        args._n_gpu = 1
        return True
    return False
