"""Local Hugging Face models (``hf:<path>[@<adapter>]``): batched generation with the model's chat template.

Decisions worth knowing:

* **Left padding.** Decoder-only models continue from the last position, so prompts of different
  lengths are padded on the left; with the attention mask, a batch gives the same greedy output as
  one prompt at a time (a test checks it on a tiny Llama).
* **Greedy at low temperature.** ``temperature <= 0.1`` (the paper's 0.1 included) decodes greedily:
  sampling at T=0.1 is almost always the argmax anyway, and greedy makes a run reproducible
  bit for bit. Above that, ``do_sample=True`` at the given temperature, seeded.
* **Context limit.** When a prompt exceeds ``max_context`` tokens (4,000 as in the paper; the prompt
  only, not the generated tokens), the OLDEST history items are dropped until it fits; the query and
  the candidate list are never cut. The prompt is re-rendered with
  :func:`~petool_utils.benchmark.prompts.entry_messages`, and the number of dropped items is returned per entry
  (the run store saves it as ``history_dropped``). If even an empty history does not fit, the prompt
  is used as it is and ``over_limit`` is set.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from petool_utils.benchmark.data import Entry
from petool_utils.models.llm import Messages
from petool_utils.benchmark.prompts import entry_messages

GREEDY_MAX_TEMPERATURE = 0.1


@dataclass
class GenerationResult:
    text: str
    history_dropped: int = 0
    prompt_tokens: int = 0
    over_limit: bool = False


def _default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


class HFGenerator:
    """A loaded model + tokenizer: chat-template rendering, token counting, batched generation."""

    def __init__(self, model: Any, tokenizer: Any, device: str | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device or str(next(model.parameters()).device)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token

    @classmethod
    def load(cls, model_path: str | os.PathLike[str], adapter: str | os.PathLike[str] | None = None,
             device: str | None = None, dtype: Any = None) -> "HFGenerator":
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = device or _default_device()
        if dtype is None:
            dtype = torch.float32 if device == "cpu" else "auto"
        tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=dtype)
        if adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter))
        model.to(device)
        model.eval()
        return cls(model, tokenizer, device)

    def render(self, messages: Messages) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def generate(self, prompts: Sequence[str], *, temperature: float, max_new_tokens: int,
                 num_return_sequences: int = 1) -> list[list[str]]:
        """Texts rendered by :meth:`render` -> for each, ``num_return_sequences`` continuations."""
        import torch

        tok = self.tokenizer
        enc = tok(list(prompts), return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        greedy = temperature <= GREEDY_MAX_TEMPERATURE
        kwargs: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": tok.pad_token_id,
            "eos_token_id": tok.eos_token_id,
            "num_return_sequences": num_return_sequences,
            "do_sample": not greedy,
        }
        if greedy:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=float(temperature), top_p=1.0, top_k=0)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        texts = [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
        k = num_return_sequences
        return [texts[i * k : (i + 1) * k] for i in range(len(prompts))]


class HFPredictor:
    """Predictor for ``hf:<path>[@<adapter>]``: the setting's prompt through the model's chat template."""

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        adapter: str | os.PathLike[str] | None = None,
        max_context: int = 4000,
        max_new_tokens: int = 256,
        temperature: float = 0.1,
        batch_size: int = 8,
        device: str | None = None,
        dtype: Any = None,
        generator: HFGenerator | None = None,
    ):
        from petool_utils.models.tiny import STANDIN_NAME, is_standin

        self.model_path, self.adapter = str(model_path), (str(adapter) if adapter else None)
        self.max_context, self.max_new_tokens = int(max_context), int(max_new_tokens)
        self.temperature, self.batch_size = float(temperature), max(1, int(batch_size))
        self.gen = generator or HFGenerator.load(model_path, adapter, device=device, dtype=dtype)
        name = f"hf:{Path(self.model_path).name}" + (f"@{Path(self.adapter).name}" if self.adapter else "")
        if is_standin(self.model_path):
            name += f"({STANDIN_NAME})"
        self.name = name

    def describe(self) -> dict[str, Any]:
        return {"backend": "transformers", "model_path": self.model_path, "adapter": self.adapter,
                "max_context": self.max_context, "max_new_tokens": self.max_new_tokens,
                "temperature": self.temperature, "greedy": self.temperature <= GREEDY_MAX_TEMPERATURE,
                "batch_size": self.batch_size, "device": self.gen.device}

    def fit_prompt(self, entry: Entry, setting: str) -> tuple[str, int, int, bool]:
        """(prompt text, history items dropped, prompt tokens, over_limit) under ``max_context``.

        Fewer history items never make a prompt longer, so the smallest number to drop is found by
        bisection over the count (oldest first).
        """
        history = entry.history(setting)

        def attempt(k: int) -> tuple[str, int]:
            text = self.gen.render(entry_messages(entry, setting, history=history[k:]))
            return text, self.gen.count_tokens(text)

        text, n = attempt(0)
        if n <= self.max_context or not history:
            return text, 0, n, n > self.max_context
        lo, hi = 1, len(history)
        best = attempt(hi)
        if best[1] > self.max_context:
            return best[0], hi, best[1], True
        while lo < hi:
            mid = (lo + hi) // 2
            cand = attempt(mid)
            if cand[1] <= self.max_context:
                hi, best = mid, cand
            else:
                lo = mid + 1
        return best[0], hi, best[1], False

    def predict_with_info(self, entries: Sequence[Entry], setting: str) -> list[GenerationResult]:
        """One :class:`GenerationResult` per entry, in order (batches are formed by prompt length)."""
        fitted = [self.fit_prompt(e, setting) for e in entries]
        order = sorted(range(len(entries)), key=lambda i: fitted[i][2])
        results: list[GenerationResult | None] = [None] * len(entries)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            outs = self.gen.generate([fitted[i][0] for i in idx], temperature=self.temperature,
                                     max_new_tokens=self.max_new_tokens)
            for i, o in zip(idx, outs):
                _, dropped, n_tok, over = fitted[i]
                results[i] = GenerationResult(o[0], dropped, n_tok, over)
        return results  # type: ignore[return-value]

    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        return [r.text for r in self.predict_with_info(entries, setting)]


class HFChatLLM:
    """Synchronous :class:`~petool_utils.models.llm.ChatLLM` on a local model, for sampling (DPO) and stages.

    Options: ``temperature``, ``max_tokens``, ``seed``, ``sample_index``. A sampled request seeds torch
    from (seed, sample_index, messages), so sample k of a prompt is the same text on every run and
    different sample indices give different draws. ``chat_n`` returns several samples in one call.
    """

    def __init__(self, model_path: str | os.PathLike[str] | None = None, adapter: str | os.PathLike[str] | None = None,
                 *, max_new_tokens: int = 256, temperature: float = 0.1, seed: int = 0, device: str | None = None,
                 dtype: Any = None, generator: HFGenerator | None = None, name: str | None = None):
        if generator is None:
            if model_path is None:
                raise ValueError("HFChatLLM needs model_path or generator")
            generator = HFGenerator.load(model_path, adapter, device=device, dtype=dtype)
        self.gen = generator
        self.max_new_tokens, self.temperature, self.seed = max_new_tokens, temperature, seed
        base = Path(str(model_path)).name if model_path else "in-memory"
        self.name = name or (f"hf:{base}" + (f"@{Path(str(adapter)).name}" if adapter else ""))

    def chat_n(self, messages: Messages, n: int, **opts: Any) -> list[str]:
        import torch

        temperature = float(opts.get("temperature", self.temperature))
        max_tokens = int(opts.get("max_tokens", self.max_new_tokens))
        if temperature > GREEDY_MAX_TEMPERATURE:
            material = f"{opts.get('seed', self.seed)}:{opts.get('sample_index', 0)}:{messages!r}"
            torch.manual_seed(int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big") % (2**63))
        text = self.gen.render(messages)
        return self.gen.generate([text], temperature=temperature, max_new_tokens=max_tokens,
                                 num_return_sequences=n)[0]

    def chat(self, messages: Messages, **opts: Any) -> str:
        return self.chat_n(messages, 1, **opts)[0]
