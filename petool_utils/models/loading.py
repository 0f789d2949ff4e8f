"""The one loader of local Hugging Face causal LMs, and the one quantization rule, for evaluation (the hf
backend) and training (QLoRA SFT and DPO).

Before this module the two loaded models each their own way and checked "auto/4bit/none" in three
places; the rule now lives in :func:`use_4bit`: ``4bit`` always quantises (NF4, double-quantised, as
QLoRA trains), ``none`` never, ``auto`` exactly when the model goes to a CUDA device.

torch, transformers, peft and bitsandbytes are imported inside the functions: they are heavy optional
dependencies, and importing this module (the backend registry, the CLI) must not pay for them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

QUANTIZATIONS = ("auto", "4bit", "none")


def check_quantization(quantization: str) -> str:
    """``quantization`` if it is one of :data:`QUANTIZATIONS`, else a ValueError naming them."""
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}")
    return quantization


def has_cuda() -> bool:
    import torch  # heavy optional dependency

    return torch.cuda.is_available()


def default_device() -> str:
    return "cuda" if has_cuda() else "cpu"


def local_device() -> int:
    """One process per GPU under ``accelerate launch``/``torchrun`` (``LOCAL_RANK``), else GPU 0."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def use_4bit(quantization: str, device: str | None = None) -> bool:
    """The one quantization rule: ``4bit`` always, ``none`` never, ``auto`` exactly when ``device`` (default:
    CUDA if present) is a CUDA device."""
    check_quantization(quantization)
    return quantization == "4bit" or (quantization == "auto" and (device or default_device()) == "cuda")


def compute_dtype(device: str | None = None):
    """bf16 on a GPU that has it (the paper's setting), fp32 on CPU."""
    import torch  # heavy optional dependency

    if (device or default_device()) == "cuda" and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(model_path: str | os.PathLike[str], padding_side: str = "right"):
    """The tokenizer with a pad token; training pads on the right, generation on the left."""
    from transformers import AutoTokenizer  # heavy optional dependency

    tok = AutoTokenizer.from_pretrained(str(model_path))
    tok.padding_side = padding_side
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(model_path: str | os.PathLike[str], *, quantization: str = "none", device: str | None = None,
                   dtype: Any = None, training: bool = False):
    """The causal LM at ``model_path`` (a local folder; nothing is downloaded), 4-bit NF4 when
    :func:`use_4bit` says so and then placed on this process's GPU.

    ``training``: the compute dtype for every weight and no device move (the trainer places it);
    otherwise ``dtype`` (default fp32 on CPU, the checkpoint's on a GPU) and moved to ``device``.
    """
    path = Path(model_path)
    if not (path / "config.json").exists():  # before importing torch: a wrong path is said in a moment
        raise FileNotFoundError(f"hf model {str(model_path)!r}: no Hugging Face model folder there (config.json "
                                "missing); give a local path, nothing is downloaded")
    from transformers import AutoModelForCausalLM  # heavy optional dependency

    device = device or default_device()
    four_bit = use_4bit(quantization, device)
    kwargs: dict[str, Any] = {}
    if four_bit or training:
        kwargs["dtype"] = compute_dtype(device)
    else:
        import torch  # heavy optional dependency

        kwargs["dtype"] = dtype if dtype is not None else (torch.float32 if device == "cpu" else "auto")
    if four_bit:
        from transformers import BitsAndBytesConfig  # heavy optional dependency

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True,
                                                           bnb_4bit_compute_dtype=compute_dtype(device))
        if device == "cuda":
            kwargs["device_map"] = {"": local_device()}
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    if not four_bit and not training:
        model.to(device)
    return model


def load_for_inference(model_path: str | os.PathLike[str], adapter: str | os.PathLike[str] | None = None, *,
                       quantization: str = "none", device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """(model in eval mode with the PEFT ``adapter`` if given, tokenizer padding on the left)."""
    model = load_causal_lm(model_path, quantization=quantization, device=device, dtype=dtype)
    tokenizer = load_tokenizer(model_path, padding_side="left")
    if adapter:
        from peft import PeftModel  # heavy optional dependency

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    return model, tokenizer
