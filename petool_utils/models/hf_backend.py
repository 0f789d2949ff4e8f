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
* **Context limit.** A prompt over ``max_context`` tokens (the prompt only) drops its OLDEST history
  items until it fits (:func:`~petool_utils.models.context.fit_history`); the query and the candidate
  list are never cut. Each result's ``info`` says how many items went (``history_dropped``), the
  prompt's tokens and ``over_limit`` when even an empty history is too long. ``max_context`` defaults to
  the prompt budget the adapter was trained with (``petool_training.json`` beside it, written by
  ``petool train``: one length rule for training, DPO sampling and evaluation), else 4,000 (the paper's).
  The budget never exceeds the model's own ``max_position_embeddings`` less the request's ``max_tokens``
  (transformers only warns past it, and the answer is garbage): a ``max_context`` past the model is
  lowered, and the manifest says so (``max_context_lowered``). A prompt past the positions even with
  its whole history dropped and the candidates' descriptions cut is not generated: its result is a
  ``ContextOverflowError``.
* **Layout.** ``layout`` (``system_user``, the evaluation's; ``user_only``, the authors' training layout)
  defaults to the adapter's: an adapter trained on one user turn is asked in one user turn.
* **Precision.** ``quantization`` and ``autocast`` default to what the adapter was trained with (the same
  file): a QLoRA adapter is evaluated on its 4-bit base unless told otherwise.
* **bf16 autocast is opt-in** for a model without a training record (``autocast="bf16"``, or ``"auto"``:
  on when the CPU has avx512_bf16/amx_bf16 or the GPU supports bf16). On a 2-core CPU it takes a 2,048-token forward pass of SmolLM2-135M from
  5.5 s to 3.7 s, but greedy text may differ from fp32, so it is part of the backend's identity (the cache
  key) and off by default.
* **Options.** ``temperature``, ``max_tokens``, ``top_p``, ``top_k``, ``seed``, ``repetition_penalty``
  reach ``generate``; ``sample_index`` seeds; anything else is an error, never silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

from petool_utils.benchmark.prompts import apply_layout
from petool_utils.models.base import (
    ChatLLM,
    ChatRequest,
    ChatResult,
    Messages,
    ResultCallback,
    derived_seed,
)
from petool_utils.models.context import Fitted, fit_history
from petool_utils.models.fetch import KNOWN_MODELS, fetch, fetched_label
from petool_utils.models.loading import load_for_inference
from petool_utils.models.spec import ModelSpec
from petool_utils.models.tiny import STANDIN_NAME, is_standin

GREEDY_MAX_TEMPERATURE = 0.1
SUPPORTED_OPTIONS = frozenset({"temperature", "max_tokens", "top_p", "top_k", "seed", "sample_index",
                               "repetition_penalty"})
DEFAULT_OPTIONS: dict[str, Any] = {"temperature": 0.1, "max_tokens": 256}
DEFAULT_MAX_CONTEXT = 4000
TRAINING_INFO_FILE = "petool_training.json"
"""Written by ``petool train`` into each adapter folder: how the adapter was trained (the prompt budget,
the base's precision, the message layout), so that evaluating it repeats those unless told otherwise."""


def adapter_training_info(adapter: str | os.PathLike[str] | None) -> dict[str, Any]:
    """What ``petool train`` recorded beside an adapter (empty for an adapter from elsewhere)."""
    if not adapter:
        return {}
    path = Path(adapter) / TRAINING_INFO_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


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


def trained_defaults(adapter: str | os.PathLike[str] | None, max_context: int | None, quantization: str | None,
                     autocast: str | bool | None) -> tuple[int, str, str]:
    """``(max_context, quantization, autocast)``: what was given, else what the adapter was trained with
    (``petool_training.json``), else 4,000 tokens, full precision, no autocast. So a QLoRA adapter is
    evaluated on the 4-bit base it learned on, and an adapter trained under CPU bf16 autocast generates
    under it, unless the caller says otherwise. ``autocast``: ``none`` / ``bf16`` / ``auto`` (a bool is
    read as bf16 or none)."""
    trained = adapter_training_info(adapter)
    if autocast is None:
        autocast = trained.get("bf16_autocast", False)
    if isinstance(autocast, bool):
        autocast = "bf16" if autocast else "none"
    return (int(max_context if max_context is not None else trained.get("prompt_budget", DEFAULT_MAX_CONTEXT)),
            quantization if quantization is not None else trained.get("quantization", "none"), autocast)


def render_chat(tokenizer: Any, messages: Messages, layout: str = "system_user") -> str:
    """The prompt text a model continues: the messages in ``layout`` (``benchmark.prompts.apply_layout``),
    through the tokenizer's chat template with the generation prompt."""
    return tokenizer.apply_chat_template(apply_layout(messages, layout), add_generation_prompt=True, tokenize=False)


def count_text_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def prompt_token_counter(tokenizer: Any, layout: str = "system_user"):
    """Tokens of a prompt exactly as this backend counts it against ``max_context``: training fits its
    records' prompts with this, so the prompts trained on are the prompts sampled and evaluated."""
    return lambda messages: count_text_tokens(tokenizer, render_chat(tokenizer, messages, layout))


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

    @classmethod
    def from_spec(cls, spec: ModelSpec, **kwargs: Any) -> "HFBackend":
        """``hf:<path>[@<adapter>]``; a model ``petool models fetch`` knows (``hf:smollm2``) names its folder,
        fetched and converted if missing, as training's ``base_model: smollm2`` is: the small-llm profile's
        notebook 07 evaluates it zero-shot before 08 has trained anything, on a machine where nobody ran
        ``petool models fetch`` (it had failed there with "config.json missing")."""
        return cls(fetch(spec.name) if spec.name in KNOWN_MODELS else spec.name, spec.argument or None, **kwargs)

    def __init__(self, model_path: str | os.PathLike[str] | None = None, adapter: str | os.PathLike[str] | None = None,
                 *, max_context: int | None = None, batch_size: int = 8, sample_batch_size: int = 8,
                 quantization: str | None = None, device: str | None = None, dtype: Any = None, seed: int = 0,
                 model: Any = None, tokenizer: Any = None, name: str | None = None, progress: bool = False,
                 autocast: str | None = None, layout: str | None = None):
        max_context, quantization, autocast = trained_defaults(adapter, max_context, quantization, autocast)
        self.layout = layout or adapter_training_info(adapter).get("layout", "system_user")
        if model is None:
            if model_path is None:
                raise ValueError("HFBackend needs model_path (or a loaded model and tokenizer)")
            model, tokenizer = load_for_inference(model_path, adapter, quantization=quantization, device=device, dtype=dtype)
        self.model, self.tokenizer = model, tokenizer
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.model_path = str(model_path) if model_path else None
        self.adapter = str(adapter) if adapter else None
        self.max_context_requested, self.batch_size = int(max_context), max(1, int(batch_size))
        self.max_positions = model_positions(model)
        # The prompt budget never exceeds what the model can attend to: transformers only warns past it.
        self.max_context = min(self.max_context_requested, self.max_positions or self.max_context_requested)
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
        layout = f"|layout={self.layout}" if self.layout != "system_user" else ""
        return f"{self.name}|{self._fingerprint}|ctx={self.max_context}|q={self.quantization}{ac}{layout}"

    def describe(self) -> dict[str, Any]:
        limits: dict[str, Any] = {"max_position_embeddings": self.max_positions,
                                  "prompt_budget": "min(max_context, max_position_embeddings - max_tokens)"}
        if self.max_context < self.max_context_requested:
            limits["max_context_requested"] = self.max_context_requested
            limits["max_context_lowered"] = (
                f"max_context {self.max_context_requested} is past the model's {self.max_positions} positions: "
                f"lowered to {self.max_context}, and each prompt also leaves room for its max_tokens")
        return {"backend": "transformers", "model_path": self.model_path, "adapter": self.adapter,
                "max_context": self.max_context, **limits, "batch_size": self.batch_size,
                "sample_batch_size": self.sample_batch_size, "quantization": self.quantization,
                "bf16_autocast": self.bf16_autocast, "layout": self.layout,
                "device": self.device, "greedy_at_or_below_temperature": GREEDY_MAX_TEMPERATURE}

    # -- prompts ------------------------------------------------------------------------------------
    def render(self, messages: Messages) -> str:
        return render_chat(self.tokenizer, messages, self.layout)

    def count_tokens(self, text: str) -> int:
        return count_text_tokens(self.tokenizer, text)

    def prompt_budget(self, max_new_tokens: int) -> int:
        """The tokens a prompt may take: ``max_context``, and no more than the model's positions leave
        beside the ``max_new_tokens`` it will generate."""
        if self.max_positions is None:
            return self.max_context
        return max(1, min(self.max_context, self.max_positions - max_new_tokens))

    def fit(self, req: ChatRequest) -> Fitted[str]:
        """The rendered prompt under :meth:`prompt_budget`, dropping the oldest history items if need be."""
        budget = self.prompt_budget(int({**DEFAULT_OPTIONS, **req.options}["max_tokens"]))
        if req.shrink is None:
            return fit_history(lambda k: self.render(req.messages), self.count_tokens, 0, budget)
        return fit_history(lambda k: self.render(req.shrink(k) if k else req.messages), self.count_tokens,
                           req.max_drop, budget)

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
            f, req = fitted[i], requests[i]
            steps = req.describe(f.dropped) if req.describe else {"history_dropped": f.dropped}
            results[i] = ChatResult(text, latency_s=seconds,
                                    info={**steps, "prompt_tokens": f.tokens,
                                          **({"over_limit": True} if f.over_limit else {})})
            if on_result:
                on_result(i, results[i])  # type: ignore[arg-type]

        # A prompt the model cannot attend to even with no history left is a failed request of its own kind,
        # not a generation past the positions (transformers would only warn, and the answer is noise).
        fits = []
        for i, (f, o) in enumerate(zip(fitted, opts)):
            if self.max_positions is not None and f.tokens + int(o["max_tokens"]) > self.max_positions:
                results[i] = ChatResult(None, error=(
                    f"ContextOverflowError: the prompt takes {f.tokens} tokens with {f.dropped} history item(s) "
                    f"dropped, and with max_tokens {int(o['max_tokens'])} it is past the model's {self.max_positions} "
                    "positions (max_position_embeddings); the query and the candidates' names and parameters are never cut"),
                    attempts=0, info={"history_dropped": f.dropped, "prompt_tokens": f.tokens, "over_limit": True})
                if on_result:
                    on_result(i, results[i])  # type: ignore[arg-type]
            else:
                fits.append(i)
        greedy = [i for i in fits if float(opts[i]["temperature"]) <= GREEDY_MAX_TEMPERATURE]
        sampled = [i for i in fits if float(opts[i]["temperature"]) > GREEDY_MAX_TEMPERATURE]
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


def model_positions(model: Any) -> int | None:
    """The positions a loaded model can attend to (``max_position_embeddings`` or an older config's name
    for it), None when its config does not say."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def hf_name(model_path: str | None, adapter: str | None) -> str:
    """``hf:<model folder>[@<adapter folder>]``, with the tiny stand-in's marker when it is one, or the real
    model's name when ``petool models fetch`` made the folder (``hf:smollm2(SmolLM2-135M-Instruct)``), so
    every manifest and construction record says which model wrote it."""

    base = Path(str(model_path)).name if model_path else "in-memory"
    name = f"hf:{base}" + (f"@{Path(adapter).name}" if adapter else "")
    if model_path and is_standin(model_path):
        name += f"({STANDIN_NAME})"
    elif model_path and fetched_label(model_path):
        name += f"({fetched_label(model_path)})"
    return name

