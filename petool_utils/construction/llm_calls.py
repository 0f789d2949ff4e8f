"""Calling the construction LLM: backend by name, the response cache, JSON replies with a retry.

``llm`` is a spec string: ``offline-standin`` (the deterministic stand-in, default offline) or
``openai:<model>`` (any OpenAI-compatible server; key and base URL come from the environment, never from
parameters). Every call goes through :class:`petool_utils.models.cache.CachedLLM`, so a re-run costs nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from petool_utils.construction.llm_prompts import RETRY_MESSAGE, task_messages
from petool_utils.models.base import ChatLLM, make_llm as make_backend
from petool_utils.models.cache import CachedLLM
from petool_utils.models.standin import STANDIN_NAME


def make_llm(spec: str, cache_path: str | Path, seed: int = 0, fault_rate: float = 0.0,
             concurrency: int = 16) -> CachedLLM:
    """The construction LLM for a spec (``offline-standin`` or ``openai:<model>``), behind the one cache."""
    if spec == STANDIN_NAME:
        backend = make_backend(spec, seed=seed, fault_rate=fault_rate)
    elif spec.startswith("openai:"):
        backend = make_backend(spec, concurrency=concurrency, seed=seed)
    else:
        raise ValueError(f"unknown llm {spec!r}: use '{STANDIN_NAME}' or 'openai:<model>'")
    return CachedLLM(backend, cache_path)


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, else a fenced block, else the outermost [...] or {...}.

    Raises ``ValueError`` naming what was wrong, which goes back to the model in the retry message.
    """
    text = text.strip()
    candidates = [text]
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        candidates.append(fence.group(1).strip())
    spans = [(text.find(o), text.rfind(c)) for o, c in (("[", "]"), ("{", "}"))]
    for i, j in sorted(spans):  # the bracket that opens first is the outermost value
        if 0 <= i < j:
            candidates.append(text[i : j + 1])
    last = None
    for c in candidates:
        try:
            return json.loads(c)
        except json.JSONDecodeError as exc:
            last = exc
    raise ValueError(f"not valid JSON: {last}")


class TaskResult:
    """A parsed reply, or the failure after all retries; ``attempts`` counts the calls made."""

    def __init__(self, value: Any, attempts: int, error: str | None = None):
        self.value, self.attempts, self.error = value, attempts, error

    @property
    def ok(self) -> bool:
        return self.error is None


def run_task(llm: ChatLLM, task: str, payload: dict[str, Any], expect: type, max_retries: int = 2,
             **opts: Any) -> TaskResult:
    """Ask, parse JSON of type ``expect``; on a bad reply ask again with the problem stated.

    Each retry carries ``sample_index`` in its options: part of the cache key (so a retry is never
    answered from the cache with the reply that failed) and, by the LLM seam's convention, never sent
    to a server.
    """
    messages = task_messages(task, payload)
    error = "no reply"
    for attempt in range(max_retries + 1):
        call_opts = dict(opts, sample_index=attempt) if attempt else dict(opts)
        reply = llm.chat(messages, **call_opts)
        try:
            value = extract_json(reply)
            if not isinstance(value, expect):
                raise ValueError(f"expected a JSON {expect.__name__}, got {type(value).__name__}")
            return TaskResult(value, attempt + 1)
        except ValueError as exc:
            error = str(exc)
            messages = messages[:2] + [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": RETRY_MESSAGE.format(problem=error)},
            ]
    return TaskResult(None, max_retries + 1, error)
