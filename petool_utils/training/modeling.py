"""Loading a base model (4-bit NF4 or full precision), attaching adapters, and generating calls.

QLoRA needs the base quantised *before* LoRA is attached and trained. On CPU, bitsandbytes repacks a
4-bit layer's weights for good the first time it runs in eval mode under ``no_grad``, after which LoRA
gets no gradients (see ../shared/STACK.md): so a model loaded for training is never used for inference
first, and inference loads a fresh copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from petool_utils.benchmark.parsing import parse_robust

STANDIN_FILE = "petool_model.json"


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def use_4bit(quantization: str) -> bool:
    """``auto``: QLoRA (4-bit) exactly when CUDA is present; ``4bit`` forces it, also on CPU; ``none`` never."""
    if quantization not in ("auto", "4bit", "none"):
        raise ValueError(f"quantization must be auto, 4bit or none, not {quantization!r}")
    return quantization == "4bit" or (quantization == "auto" and has_cuda())


def model_label(model_path: str | Path) -> str:
    """How a model is named in artifacts: the stand-in says it is one."""
    meta = Path(model_path) / STANDIN_FILE
    if meta.exists():
        return json.loads(meta.read_text(encoding="utf-8")).get("label", str(model_path))
    return str(model_path)


def compute_dtype():
    """bf16 on a GPU that has it (the paper's setting), fp32 on CPU."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_tokenizer(model_path: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_path))
    tok.padding_side = "left"  # decoder-only generation: pad on the left
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base(model_path: str | Path, quantization: str = "auto", *, for_training: bool = True):
    """The base causal LM, 4-bit NF4 double-quantised when :func:`use_4bit` says so."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": compute_dtype()}
    quantized = use_4bit(quantization)
    if quantized:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype(),
        )
        if has_cuda():
            kwargs["device_map"] = {"": _local_device()}
    model = AutoModelForCausalLM.from_pretrained(str(model_path), **kwargs)
    if quantized and for_training:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model


def _local_device() -> int:
    """One process per GPU under ``accelerate launch``: each loads its 4-bit copy on its own device."""
    import os

    return int(os.environ.get("LOCAL_RANK", "0"))


def lora_config(lora: Any):
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )


def load_for_inference(model_path: str | Path, adapter: str | Path | None = None, quantization: str = "auto"):
    """A fresh base (+ adapter) in eval mode, and its tokenizer. Adapter ``None``: the base alone."""
    import torch
    from peft import PeftModel

    tok = load_tokenizer(model_path)
    model = load_base(model_path, quantization, for_training=False)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    if not use_4bit(quantization) and torch.cuda.is_available():
        model.to("cuda")
    return model, tok


def _encode_prompts(tok, prompts: Sequence[list[dict[str, str]]]):
    texts = [tok.apply_chat_template(list(p), tokenize=False, add_generation_prompt=True) for p in prompts]
    # the chat template already holds the BOS token
    return tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)


def generate(
    model,
    tok,
    prompts: Sequence[list[dict[str, str]]],
    *,
    max_new_tokens: int = 128,
    num_return_sequences: int = 1,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int = 0,
    batch_size: int = 4,
    progress: bool = False,
) -> list[list[str]]:
    """Completions for each prompt (``num_return_sequences`` of them), special tokens stripped.

    Seeded per batch, so a given (seed, batch) gives the same samples whatever ran before.
    """
    import torch
    from tqdm.auto import tqdm

    out: list[list[str]] = []
    starts = range(0, len(prompts), batch_size)
    for b, start in enumerate(tqdm(starts, desc="generate", disable=not progress)):
        batch = prompts[start : start + batch_size]
        enc = _encode_prompts(tok, batch).to(model.device)
        torch.manual_seed(seed * 100_003 + b)
        gen_kwargs: dict[str, Any] = dict(
            max_new_tokens=max_new_tokens,
            num_return_sequences=num_return_sequences,
            do_sample=do_sample,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
        if do_sample:
            gen_kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
        else:
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        with torch.no_grad():
            ids = model.generate(**enc, **gen_kwargs)
        new = ids[:, enc["input_ids"].shape[1] :]
        texts = tok.batch_decode(new, skip_special_tokens=True)
        for i in range(len(batch)):
            out.append(texts[i * num_return_sequences : (i + 1) * num_return_sequences])
    return out


def greedy_calls(model, tok, prompts: Sequence[list[dict[str, str]]], max_new_tokens: int = 128, batch_size: int = 4) -> list[str]:
    """One greedy completion per prompt: how an adapter is evaluated."""
    return [x[0] for x in generate(model, tok, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)]


def exact_call(response: str, reference: Any) -> bool:
    """The response holds exactly the reference call (tool name and parameters)."""
    got = parse_robust(response)
    return bool(got.ok and got.tool_name == reference.tool_name and got.parameters == reference.parameters)
