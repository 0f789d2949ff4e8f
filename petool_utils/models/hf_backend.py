"""The ``hf:<path>[@<adapter>]`` backend: a local Hugging Face causal LM (optionally with a PEFT adapter)
behind the :class:`~petool_utils.models.base.ChatLLM` seam. The one transformers generation loop of the
kit: evaluation, DPO sampling and the training ablations all generate here.

Decisions worth knowing:

* **Left padding.** Decoder-only models continue from the last position, so prompts of different
  lengths are padded on the left; with the attention mask, a batch gives the same greedy output as
  one prompt at a time (a test checks it on a tiny Llama).
* **Greedy at low temperature.** ``temperature <= 0.1`` (the paper's 0.1 included) decodes greedily:
  sampling at T=0.1 is almost always the argmax anyway, and greedy makes a run reproducible bit for bit.
* **Samples are seeded per prompt.** Requests that differ only in ``sample_index`` are generated
  together (``num_return_sequences``), in sub-batches of ``sample_batch_size`` samples, each seeded from
  (seed, prompt, options, its first ``sample_index``). So the K samples of a prompt are the same texts on
  every run with the same ``sample_batch_size``, whatever other prompts share the call, and a resumed
  run redoes a lost sub-batch identically. Prompts go longest first (K samples of a 4k-token prompt
  are a batch of K for the KV cache).
* **Context limit.** A prompt over ``max_context`` tokens (4,000 as in the paper; the prompt only) drops
  its OLDEST history items until it fits (:func:`~petool_utils.models.context.fit_history`); the query
  and the candidate list are never cut. Each result's ``info`` says how many items went
  (``history_dropped``), the prompt's tokens and ``over_limit`` when even an empty history is too long.
* **bf16 autocast is opt-in** (``autocast="bf16"``, or ``"auto"``: on when the CPU has avx512_bf16/amx_bf16
  or the GPU supports bf16). On a 2-core CPU it takes a 2,048-token forward pass of SmolLM2-135M from
  5.5 s to 3.7 s, but greedy text may differ from fp32, so it is part of the backend's identity (the cache
  key) and off by default.
* **Options.** ``temperature``, ``max_tokens``, ``top_p``, ``top_k``, ``seed``, ``repetition_penalty``
  reach ``generate``; ``sample_index`` seeds; anything else is an error, never silently ignored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Sequence

from petool_utils.models.base import (
    ChatLLM,
    ChatRequest,
    ChatResult,
    Messages,
    ResultCallback,
    derived_seed,
    register_backend,
)
from petool_utils.models.context import Fitted, fit_history

GREEDY_MAX_TEMPERATURE = 0.1
SUPPORTED_OPTIONS = frozenset({"temperature", "max_tokens", "top_p", "top_k", "seed", "sample_index",
                               "repetition_penalty"})
DEFAULT_OPTIONS: dict[str, Any] = {"temperature": 0.1, "max_tokens": 256}


AUTOCAST_CHOICES = ("none", "bf16", "auto")


def cpu_has_bf16() -> bool:
    """The CPU's bf16 instructions, read from ``/proc/cpuinfo`` (torch's capability string does not say)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_autocast(autocast: str, device: str) -> bool:
    """Whether generation runs under bf16 autocast, for ``none`` / ``bf16`` / ``auto``."""
    if autocast not in AUTOCAST_CHOICES:
        raise ValueError(f"autocast must be one of {AUTOCAST_CHOICES}, not {autocast!r}")
    if autocast != "auto":
        return autocast == "bf16"
    if device.startswith("cuda"):
        import torch

        return torch.cuda.is_bf16_supported()
    return cpu_has_bf16()


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(model_path: str | os.PathLike[str], adapter: str | os.PathLike[str] | None = None, *,
               quantization: str = "none", device: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer padding on the left) for inference. ``quantization``: ``none``,
    ``4bit`` (NF4, as QLoRA trains) or ``auto`` (4-bit exactly when CUDA is present)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(model_path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"hf model {str(model_path)!r}: no Hugging Face model folder there (config.json "
                                "missing); give a local path, nothing is downloaded")
    device = device or default_device()
    four_bit = quantization == "4bit" or (quantization == "auto" and device == "cuda")
    if quantization not in ("none", "4bit", "auto"):
        raise ValueError(f"quantization must be none, 4bit or auto, not {quantization!r}")
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs: dict[str, Any] = {}
    if four_bit:
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute)
        kwargs["dtype"] = compute
        if device == "cuda":
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
    else:
        kwargs["dtype"] = dtype if dtype is not None else (torch.float32 if device == "cpu" else "auto")
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    if not four_bit:
        model.to(device)
    model.eval()
    return model, tokenizer


def _weights_fingerprint(folder: str | os.PathLike[str] | None) -> str:
    """Adapters are hashed whole (small); a base model by its weight files' names, sizes and mtimes
    (hashing 16 GB at every start would cost a minute). A retrained adapter is a new cache identity."""
    if not folder:
        return "-"
    p = Path(folder)
    files = sorted(x for x in p.glob("*") if x.is_file() and x.suffix in (".safetensors", ".bin", ".json", ".model"))
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f.name.encode())
        if st.st_size < 512 * 1024 * 1024:
            h.update(f.read_bytes())
        else:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class HFBackend(ChatLLM):
    """A loaded model + tokenizer: chat-template rendering, context fitting, batched generation."""

    def __init__(self, model_path: str | os.PathLike[str] | None = None, adapter: str | os.PathLike[str] | None = None,
                 *, max_context: int = 4000, batch_size: int = 8, sample_batch_size: int = 8,
                 quantization: str = "none", device: str | None = None, dtype: Any = None, seed: int = 0,
                 model: Any = None, tokenizer: Any = None, name: str | None = None, progress: bool = False,
                 autocast: str = "none"):
        if model is None:
            if model_path is None:
                raise ValueError("HFBackend needs model_path (or a loaded model and tokenizer)")
            model, tokenizer = load_model(model_path, adapter, quantization=quantization, device=device, dtype=dtype)
        self.model, self.tokenizer = model, tokenizer
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model_path = str(model_path) if model_path else None
        self.adapter = str(adapter) if adapter else None
        self.max_context, self.batch_size = int(max_context), max(1, int(batch_size))
        self.sample_batch_size = max(1, int(sample_batch_size))
        self.quantization, self.seed, self.progress = quantization, seed, progress
        self.device = str(next(model.parameters()).device)
        self.bf16_autocast = resolve_autocast(autocast, self.device)
        self.name = name or hf_name(self.model_path, self.adapter)
        self._fingerprint: str | None = None

    # -- identity -----------------------------------------------------------------------------------
    def identity(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = f"{_weights_fingerprint(self.model_path)}:{_weights_fingerprint(self.adapter)}"
        ac = "|ac=bf16" if self.bf16_autocast else ""  # absent when off: fp32 runs keep their cache keys
        return f"{self.name}|{self._fingerprint}|ctx={self.max_context}|q={self.quantization}{ac}"

    def describe(self) -> dict[str, Any]:
        return {"backend": "transformers", "model_path": self.model_path, "adapter": self.adapter,
                "max_context": self.max_context, "batch_size": self.batch_size,
                "sample_batch_size": self.sample_batch_size, "quantization": self.quantization,
                "device": self.device, "bf16_autocast": self.bf16_autocast, "greedy_at_or_below_temperature": GREEDY_MAX_TEMPERATURE}

    # -- prompts ------------------------------------------------------------------------------------
    def render(self, messages: Messages) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def fit(self, req: ChatRequest) -> Fitted[str]:
        """The rendered prompt under ``max_context``, dropping the oldest history items if need be."""
        if req.shrink is None:
            return fit_history(lambda k: self.render(req.messages), self.count_tokens, 0, self.max_context)
        return fit_history(lambda k: self.render(req.shrink(k) if k else req.messages), self.count_tokens,
                           req.max_drop, self.max_context)

    # -- generation ---------------------------------------------------------------------------------
    def chat_many(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[ChatResult]:
        import time

        from tqdm.auto import tqdm

        for r in requests:
            unknown = set(r.options) - SUPPORTED_OPTIONS
            if unknown:
                raise ValueError(f"{self.name}: generation option(s) {sorted(unknown)} not supported by the hf "
                                 f"backend (supported: {sorted(SUPPORTED_OPTIONS)})")
        opts = [{**DEFAULT_OPTIONS, **r.options} for r in requests]
        fitted = [self.fit(r) for r in requests]
        results: list[ChatResult | None] = [None] * len(requests)

        def finish(i: int, text: str, seconds: float) -> None:
            f = fitted[i]
            results[i] = ChatResult(text, latency_s=seconds,
                                    info={"history_dropped": f.dropped, "prompt_tokens": f.tokens,
                                          **({"over_limit": True} if f.over_limit else {})})
            if on_result:
                on_result(i, results[i])  # type: ignore[arg-type]

        greedy = [i for i, o in enumerate(opts) if float(o["temperature"]) <= GREEDY_MAX_TEMPERATURE]
        sampled = [i for i, o in enumerate(opts) if float(o["temperature"]) > GREEDY_MAX_TEMPERATURE]
        # greedy: batches of similar length and the same generation settings
        by_setting: dict[tuple, list[int]] = {}
        for i in sorted(greedy, key=lambda i: -fitted[i].tokens):
            o = opts[i]
            by_setting.setdefault((int(o["max_tokens"]), o.get("repetition_penalty")), []).append(i)
        batches: list[tuple[str, list[int]]] = [("greedy", idx[s : s + self.batch_size])
                                                for idx in by_setting.values() for s in range(0, len(idx), self.batch_size)]
        # sampled: one group per prompt and settings (its samples differ only in sample_index)
        groups: dict[tuple, list[int]] = {}
        for i in sorted(sampled, key=lambda i: -fitted[i].tokens):
            o = {k: v for k, v in opts[i].items() if k != "sample_index"}
            groups.setdefault((fitted[i].value, tuple(sorted(o.items()))), []).append(i)
        for members in groups.values():
            members.sort(key=lambda i: int(opts[i].get("sample_index", 0)))
            for s in range(0, len(members), self.sample_batch_size):
                batches.append(("sample", members[s : s + self.sample_batch_size]))
        for kind, idx in tqdm(batches, desc=f"generate {self.name}", disable=not self.progress, unit="batch"):
            t0 = time.perf_counter()
            o = opts[idx[0]]
            if kind == "greedy":
                outs = [x[0] for x in self._generate([fitted[i].value for i in idx], o, 1, None)]
            else:
                first = int(o.get("sample_index", 0))
                seed = derived_seed(o.get("seed", self.seed), fitted[idx[0]].value,
                                    sorted((k, v) for k, v in o.items() if k != "sample_index"), first)
                outs = self._generate([fitted[idx[0]].value], o, len(idx), seed)[0]
            per = (time.perf_counter() - t0) / len(idx)
            for i, text in zip(idx, outs):
                finish(i, text, per)
        return results  # type: ignore[return-value]

    def _generate(self, prompts: list[str], o: dict[str, Any], n: int, seed: int | None) -> list[list[str]]:
        """``n`` continuations of each rendered prompt; sampling when ``seed`` is given."""
        import torch

        tok = self.tokenizer
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": int(o["max_tokens"]), "pad_token_id": tok.pad_token_id,
                                  "eos_token_id": tok.eos_token_id, "num_return_sequences": n}
        if o.get("repetition_penalty") is not None:
            kwargs["repetition_penalty"] = float(o["repetition_penalty"])
        if seed is None:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            torch.manual_seed(seed)
            kwargs.update(do_sample=True, temperature=float(o["temperature"]), top_p=float(o.get("top_p", 1.0)),
                          top_k=int(o.get("top_k", 0)))
        device_type = "cuda" if self.device.startswith("cuda") else "cpu"
        with torch.inference_mode(), torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.bf16_autocast):
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        texts = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        return [texts[i * n : (i + 1) * n] for i in range(len(prompts))]

    def close(self) -> None:
        self.model = None


def hf_name(model_path: str | None, adapter: str | None) -> str:
    """``hf:<model folder>[@<adapter folder>]``, with the tiny stand-in's marker when it is one, or the real
    model's name when ``petool models fetch`` made the folder (``hf:smollm2(SmolLM2-135M-Instruct)``), so
    every manifest and construction record says which model wrote it."""
    from petool_utils.models.fetch import fetched_label
    from petool_utils.models.tiny import STANDIN_NAME, is_standin

    base = Path(str(model_path)).name if model_path else "in-memory"
    name = f"hf:{base}" + (f"@{Path(adapter).name}" if adapter else "")
    if model_path and is_standin(model_path):
        name += f"({STANDIN_NAME})"
    elif model_path and fetched_label(model_path):
        name += f"({fetched_label(model_path)})"
    return name


@register_backend("hf")
def _factory(rest: str, **kwargs: Any) -> HFBackend:
    path, _, adapter = rest.partition("@")
    return HFBackend(path, adapter or None, **kwargs)
