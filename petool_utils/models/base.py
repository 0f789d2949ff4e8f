"""The LLM seam: ``chat_many(requests) -> results``, one interface for every backend.

Construction (stages 02 and 05), evaluation (``LLMPredictor``) and DPO sampling all talk to a model
through :class:`ChatLLM`, so a backend written once (an OpenAI-compatible server, a local Hugging
Face model, the offline stand-in) serves all three, and the one cache (:class:`~.cache.CachedLLM`)
wraps any of them. The shape follows lm-evaluation-harness's ``LM``: requests in, results out, in
order; concurrency, batching and retries are the backend's business.

A request is messages plus generation options. ``sample_index`` is an option that only makes the
k-th sample of one prompt a request of its own (a different cache key, a different seed); it is never
sent to a server. ``shrink`` lets a backend that knows its context limit re-render the prompt with
the oldest history items dropped; the query and the candidates are never cut.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from petool_utils.models.spec import ModelSpec, Registry, SpecError
from petool_utils.secrets import REDACTION_RULE

Messages = list[dict[str, str]]
ResultCallback = Callable[[int, "ChatResult"], None]

LOCAL_OPTIONS = frozenset({"sample_index"})
"""Options that shape a request's identity but are never sent to a backend's model."""


@dataclass(frozen=True)
class ChatRequest:
    """One chat request. ``shrink(k)`` renders the same request shortened by k steps (the k oldest history
    items dropped, then candidate descriptions cut: ``predictors.llm.entry_request``), ``max_drop`` steps
    at most; None: the prompt cannot be shortened. ``describe(k)`` says what step k did (for ``info``)."""

    messages: Messages
    options: Mapping[str, Any] = field(default_factory=dict)
    shrink: Callable[[int], Messages] | None = field(default=None, compare=False, repr=False)
    max_drop: int = 0
    describe: Callable[[int], dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    def sent_options(self) -> dict[str, Any]:
        return {k: v for k, v in self.options.items() if k not in LOCAL_OPTIONS}


@dataclass
class ChatResult:
    """A request's outcome: ``text``, or ``error`` (the cause, secrets scrubbed) after all retries.

    ``info`` carries what the backend measured: ``history_dropped``, ``prompt_tokens``, ``over_limit``.
    """

    text: str | None
    error: str | None = None
    attempts: int = 1
    cached: bool = False
    latency_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class LLMError(RuntimeError):
    """A request failed after all retries (raised by :meth:`ChatLLM.chat`, never by ``chat_many``)."""


class FatalLLMError(RuntimeError):
    """A failure no retry can mend (wrong key, unknown model): the whole run stops at the first one."""


def request_key(identity: str, messages: Messages, options: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of (backend identity, messages, options, the redaction rule): a
    request's cache key. The rule is in the key so that answers stored under an older rule (one that
    replaced a one-letter key inside every answer) are asked again, never trusted."""
    payload = json.dumps({"model": identity, "messages": messages, "opts": dict(options),
                          "redaction": REDACTION_RULE}, sort_keys=True,
                         ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def derived_seed(*parts: Any) -> int:
    """A stable 63-bit seed from any JSON-able parts (Python's ``hash`` is salted per process)."""
    material = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return int.from_bytes(hashlib.sha256(material.encode("utf-8")).digest()[:8], "big") % (2**63)


class ChatLLM(ABC):
    """A chat model. ``name`` identifies it in manifests, reports and artifacts.

    :meth:`chat_many` returns one :class:`ChatResult` per request, in request order, and calls
    ``on_result(index, result)`` as each finishes (possibly from another thread), so a caller can write
    each answer the moment it exists. A request that fails after the backend's retries comes back with
    ``error`` set; only a :class:`FatalLLMError` is raised.
    """

    name: str = "llm"

    @abstractmethod
    def chat_many(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[ChatResult]:
        """Answer every request (see the class docstring)."""

    def chat_stream(self, requests: Iterable[tuple[int, ChatRequest]], on_result: ResultCallback) -> None:
        """Answer ``(index, request)`` pairs as ``requests`` yields them; ``on_result(index, result)`` for each,
        with the caller's index, and nothing returned.

        The iterable is consumed lazily by a backend that can start sending before it is exhausted (the
        OpenAI backend pulls the next request when a slot frees up), so rendering prompts and looking them
        up in the cache overlap with the first requests on the wire. This default drains it and calls
        :meth:`chat_many`.
        """
        pairs = list(requests)
        called: set[int] = set()

        def relay(j: int, res: ChatResult) -> None:
            called.add(j)
            on_result(pairs[j][0], res)

        got = self.chat_many([r for _, r in pairs], on_result=relay)
        for j, res in enumerate(got):  # a backend that does not call back still delivers
            if j not in called:
                on_result(pairs[j][0], res)

    def identity(self) -> str:
        """What, besides the request, determines an answer: the cache key's backend part."""
        return self.name

    def describe(self) -> dict[str, Any]:
        """The backend's settings for a run manifest (never a secret)."""
        return {"backend": type(self).__name__, "name": self.name}

    def chat(self, messages: Messages, **options: Any) -> str:
        """One request, synchronously; raises :class:`LLMError` when it fails after all retries."""
        res = self.chat_many([ChatRequest(messages, options)])[0]
        if not res.ok:
            raise LLMError(f"{self.name}: request failed after {res.attempts} attempt(s): {res.error}")
        return res.text  # type: ignore[return-value]

    def close(self) -> None:
        """Release clients and models."""

    @classmethod
    def from_spec(cls, spec: ModelSpec, **kwargs: Any) -> "ChatLLM":
        """The backend a parsed spec names (:func:`make_llm` calls this); each registered backend says how
        its spec's name and argument map to its constructor."""
        raise NotImplementedError(f"{cls.__name__} cannot be built from a spec ({spec.text})")


# -- registry ----------------------------------------------------------------------------------------

BACKENDS: Registry[ChatLLM] = Registry("LLM backend", ChatLLM)
"""Every LLM backend by spec kind; lazy entries keep openai and torch out of this module's import."""
BACKENDS.register("openai", "petool_utils.models.openai_backend:OpenAIBackend")
BACKENDS.register("hf", "petool_utils.models.hf_backend:HFBackend")
BACKENDS.register("offline-standin", "petool_utils.construction.standin:OfflineStandinLLM")


def register_backend(kind: str) -> Callable[[type[ChatLLM]], type[ChatLLM]]:
    """Class decorator: register a :class:`ChatLLM` subclass under ``kind`` (the part before ``:``); it is
    built by its ``from_spec``. Anything that is not a ChatLLM subclass is refused (``TypeError``)."""
    return BACKENDS.register(kind)


def backend_kinds() -> list[str]:
    return BACKENDS.names()


def make_llm(spec: str | ModelSpec, **kwargs: Any) -> ChatLLM:
    """The backend a spec names: ``openai:<model>``, ``hf:<path>[@<adapter>]`` or ``offline-standin``.

    The one factory of LLM backends: construction, evaluation and DPO sampling all come here. ``kwargs``
    go to the backend's ``from_spec``; a backend rejects options it does not know.
    """
    try:
        parsed = ModelSpec.parse(spec, kinds=None)
        cls = BACKENDS.get(parsed.kind)
    except (SpecError, KeyError):
        raise ValueError(f"unknown LLM spec {str(spec)!r}; expected one of: "
                         + ", ".join(f"{k}:..." if k != "offline-standin" else k for k in BACKENDS.names())) from None
    return cls.from_spec(parsed, **kwargs)
