"""Calling the construction LLM: backend by name, the response cache, JSON replies with batched retries.

``llm`` is a spec string: ``offline-standin`` (the deterministic stand-in, default offline),
``openai:<model>`` (any OpenAI-compatible server; key and base URL come from the environment, never from
parameters) or ``hf:<folder>`` (a local model in-process, e.g. ``petool models fetch smollm2``'s folder). Every call goes through :class:`petool_utils.models.cache.CachedLLM`, so a re-run costs nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from petool_utils.construction.llm_prompts import JSON_MODES, RETRY_MESSAGE, reply_options, task_messages
from petool_utils.models.base import ChatLLM, ChatRequest, make_llm as make_backend
from petool_utils.models.cache import CachedLLM
from petool_utils.models.spec import ModelSpec, SpecError
from petool_utils.construction.standin import STANDIN_NAME


def make_llm(spec: str, cache_path: str | Path, seed: int = 0, fault_rate: float = 0.0,
             concurrency: int = 16, timeout: float = 60.0) -> CachedLLM:
    """The construction LLM for a spec (``offline-standin``, ``openai:<model>`` or ``hf:<folder>``), behind the one cache.

    ``concurrency`` (requests in flight) and ``timeout`` (seconds per request) apply to ``openai:`` specs;
    ``fault_rate`` to the stand-in only.
    """
    try:
        parsed = ModelSpec.parse(spec, kinds=(STANDIN_NAME, "openai", "hf"))
    except SpecError:
        raise ValueError(f"unknown llm {spec!r}: use '{STANDIN_NAME}', 'openai:<model>' or 'hf:<folder>'") from None
    if parsed.kind == STANDIN_NAME:
        options = {"seed": seed, "fault_rate": fault_rate}
    elif parsed.kind == "openai":
        options = {"concurrency": concurrency, "timeout": timeout, "seed": seed}
    else:
        options = {"seed": seed}
    return CachedLLM(make_backend(parsed, **options), cache_path)


def check_json_mode(spec: str, json_mode: str | None) -> str:
    """``json_mode`` for a construction llm: ``schema`` only where a server reads ``response_format``
    (``openai:``; the in-process backends do not constrain decoding, and would silently ignore it)."""
    mode = json_mode or "none"
    if mode not in JSON_MODES:
        raise ValueError(f"json_mode must be one of {JSON_MODES}, got {json_mode!r}")
    if mode != "none" and not spec.startswith("openai:"):
        raise ValueError(f"json_mode: {mode} needs an openai: llm (a server that reads response_format, such as "
                         f"llama.cpp's); got llm {spec!r}")
    return mode


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
    """A parsed reply, or the failure after all retries; ``attempts`` counts the calls made.

    ``request_failed``: the last request got no reply at all (the backend gave up after its own retries
    on 429/5xx/timeouts). Such a task is not an unusable reply: a stage leaves it out of its progress
    file, so that running the stage again asks again.
    """

    def __init__(self, value: Any, attempts: int, error: str | None = None, request_failed: bool = False):
        self.value, self.attempts, self.error, self.request_failed = value, attempts, error, request_failed

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def json_retries(self) -> int:
        """Calls made again because a reply was unusable (not counting requests that got no reply)."""
        return max(0, self.attempts - 1)


def _parse(reply: str, expect: type) -> Any:
    value = extract_json(reply)
    if not isinstance(value, expect):
        raise ValueError(f"expected a JSON {expect.__name__}, got {type(value).__name__}")
    return value


def run_tasks(llm: ChatLLM, tasks: Sequence[tuple[str, dict[str, Any], type]], max_retries: int = 2,
              json_mode: str = "none", **opts: Any) -> list[TaskResult]:
    """Ask every ``(task, payload, expected JSON type)`` at once; re-ask the unusable replies in rounds.

    Round 0 sends every first try in one :meth:`ChatLLM.chat_many` call (the backend keeps up to its
    ``concurrency`` requests in flight); round k sends, again at once, the retries of the replies that
    round k-1 could not parse, each with the problem stated. A retry carries ``sample_index=k`` in its
    options: part of the cache key (so a retry is never answered from the cache with the reply that
    failed) and, by the seam's convention, never sent to a server. Each task's conversation is exactly
    the one a task-by-task loop would have, so the results equal a sequential run's.

    ``json_mode="schema"`` sends each task's reply schema as ``response_format`` (a server that constrains
    decoding to it, llama.cpp's, then returns JSON of the right shape; :func:`.llm_prompts.response_format`)
    and bounds the reply's length (``max_tokens``; :func:`.llm_prompts.reply_options`).
    """
    convs = [task_messages(task, payload) for task, payload, _ in tasks]
    extra = [reply_options(task, json_mode, payload) for task, payload, _ in tasks]
    results: list[TaskResult | None] = [None] * len(tasks)
    errors = ["no reply"] * len(tasks)
    pending = list(range(len(tasks)))
    for attempt in range(max_retries + 1):
        if not pending:
            break
        call_opts = dict(opts, sample_index=attempt) if attempt else dict(opts)
        got = llm.chat_many([ChatRequest(convs[i], {**call_opts, **extra[i]}) for i in pending])
        retry = []
        for i, res in zip(pending, got):
            if not res.ok:
                results[i] = TaskResult(None, attempt + 1, f"request failed: {res.error}", request_failed=True)
                continue
            try:
                results[i] = TaskResult(_parse(res.text, tasks[i][2]), attempt + 1)  # type: ignore[arg-type]
            except ValueError as exc:
                errors[i] = str(exc)
                convs[i] = convs[i][:2] + [{"role": "assistant", "content": res.text},  # type: ignore[dict-item]
                                           {"role": "user", "content": RETRY_MESSAGE.format(problem=errors[i])}]
                retry.append(i)
        pending = retry
    for i in pending:
        results[i] = TaskResult(None, max_retries + 1, errors[i])
    return results  # type: ignore[return-value]


def run_task(llm: ChatLLM, task: str, payload: dict[str, Any], expect: type, max_retries: int = 2,
             json_mode: str = "none", **opts: Any) -> TaskResult:
    """One task (see :func:`run_tasks`)."""
    return run_tasks(llm, [(task, payload, expect)], max_retries, json_mode, **opts)[0]
