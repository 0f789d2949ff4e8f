"""OpenAI-compatible chat models (OpenAI, vLLM, SGLang, Ollama, llama.cpp server) as predictors.

Only the model name comes from the spec; the server and the key come from the environment
(``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, or their ``PETOOL_`` prefixed twins), so that no parameter,
notebook, report or manifest can ever hold a secret. The openai client's own retries are switched off
(``max_retries=0``): retries, backoff and the per-request timeout are counted here, where the run store
can see which requests finally failed.

Every request is looked up in the SQLite :class:`~petool_utils.models.llm.ResponseCache` first, keyed by
model + messages + generation options (:func:`~petool_utils.models.llm.request_key`). The cache is keyed by the
model *name*, not the server: point two different servers serving the same model name at different
cache files.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Sequence
from urllib.parse import urlsplit, urlunsplit

from petool_utils.benchmark.data import Entry
from petool_utils.models.llm import Messages, ResponseCache, request_key
from petool_utils.benchmark.prompts import entry_messages

BASE_URL_VARS = ("PETOOL_OPENAI_BASE_URL", "OPENAI_BASE_URL")
API_KEY_VARS = ("PETOOL_OPENAI_API_KEY", "OPENAI_API_KEY")
# Local servers (vLLM, SGLang, llama.cpp, Ollama) accept any key; the openai client insists on one.
PLACEHOLDER_KEY = "EMPTY"

DEFAULT_GEN_OPTS: dict[str, Any] = {"temperature": 0.1, "max_tokens": 256}


def open_cache(path: str | Path) -> ResponseCache:
    """A :class:`ResponseCache` whose commits do not fsync (``synchronous=NORMAL`` in WAL mode).

    With the default FULL, every put costs an fsync (about 4 ms here), which serialises a run of
    thousands of concurrent requests. NORMAL stays consistent after a killed process; only a power
    loss can drop the last few cached answers, and a lost cache entry just means one request again.
    """
    cache = ResponseCache(path)
    with cache._lock:  # noqa: SLF001 - llm.ResponseCache has no option for this yet
        cache._conn.execute("PRAGMA synchronous=NORMAL")  # noqa: SLF001
    return cache


class ConfigurationError(RuntimeError):
    """The environment does not say which server to talk to."""


def _first_env(names: Sequence[str]) -> str | None:
    for n in names:
        v = os.environ.get(n)
        if v:
            return v
    return None


def server_from_env() -> tuple[str | None, str]:
    """(base_url, api_key) from the environment; raises when neither is set.

    With only a base URL (a local vLLM/Ollama server) the key is a placeholder; with neither, the
    official endpoint would answer 401 to every request, so fail at once with the variable names.
    """
    base_url = _first_env(BASE_URL_VARS)
    key = _first_env(API_KEY_VARS)
    if key is None and base_url is None:
        raise ConfigurationError(
            "No OpenAI-compatible server configured: set OPENAI_API_KEY (api.openai.com) or OPENAI_BASE_URL "
            "(e.g. http://localhost:8000/v1 for vLLM); PETOOL_OPENAI_API_KEY / PETOOL_OPENAI_BASE_URL also work."
        )
    return base_url, key or PLACEHOLDER_KEY


def public_base_url(base_url: str | None) -> str | None:
    """The base URL without user info, query or fragment: safe to put in a manifest."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    """Replace every occurrence of a secret in ``text`` (error messages can echo the key)."""
    for s in secrets:
        if s and s != PLACEHOLDER_KEY:
            text = text.replace(s, "***")
    return text


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: wait ``min(cap, base * 2**attempt) * U(0.5, 1.5)``.

    ``max_retries`` is the number of retries after the first try (so at most ``max_retries + 1``
    requests per prompt). A ``Retry-After`` header from a 429/503 raises the wait, still capped.
    """

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        d = min(self.max_delay, self.base_delay * (2**attempt)) * rng.uniform(0.5, 1.5)
        if retry_after is not None:
            d = max(d, min(self.max_delay, retry_after))
        return d


@dataclass
class ChatResult:
    """One finished request: text, or ``error`` after all retries; ``cached`` when no request was sent."""

    response: str | None
    latency_s: float
    error: str | None = None
    attempts: int = 0
    cached: bool = False


def _retry_after(exc: Exception) -> float | None:
    resp = getattr(exc, "response", None)
    headers = getattr(resp, "headers", None)
    if not headers:
        return None
    try:
        return float(headers.get("retry-after"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def classify_exception(exc: BaseException) -> bool:
    """True when retrying may help: 408/409/429, 5xx, timeouts, dropped connections, garbled bodies."""
    import openai

    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, KeyError)):
        return True  # a malformed body from a flaky server or proxy
    # Anything else (a TypeError from an unknown generation option, say) is a bug: retrying cannot help.
    return isinstance(exc, (ConnectionError, OSError))


class OpenAIChatPredictor:
    """Predictor for ``openai:<model>``: one chat request per entry, many in flight.

    ``predict`` is synchronous (it runs its own event loop); the evaluation engine calls
    :meth:`acomplete` directly so that each finished request reaches the run store at once.
    """

    def __init__(
        self,
        model: str,
        *,
        concurrency: int = 16,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        cache: ResponseCache | str | Path | None = None,
        gen_opts: dict[str, Any] | None = None,
        seed: int = 0,
    ):
        if not model:
            raise ValueError("openai spec needs a model name: openai:<model>")
        self.model = model
        self.name = f"openai:{model}"
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.retry = retry or RetryPolicy()
        self.cache = cache if (cache is None or isinstance(cache, ResponseCache)) else open_cache(cache)
        self.gen_opts = {**DEFAULT_GEN_OPTS, **(gen_opts or {})}
        self._rng = random.Random(seed)
        self.base_url, self._api_key = server_from_env()
        self._client = None
        self._sem: asyncio.Semaphore | None = None
        self.requests_sent = 0
        self.cache_hits = 0

    # -- what may be recorded -------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The predictor's settings for the run manifest: no key, base URL without credentials."""
        return {
            "backend": "openai-compatible",
            "model": self.model,
            "base_url": public_base_url(self.base_url) or "https://api.openai.com/v1 (default)",
            "gen_opts": dict(self.gen_opts),
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "retry": {"max_retries": self.retry.max_retries, "base_delay": self.retry.base_delay,
                      "max_delay": self.retry.max_delay},
        }

    # -- async core ---------------------------------------------------------------------------------
    def _get_client(self):
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        self._sem = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        return self._sem

    async def _send(self, messages: Messages, opts: dict[str, Any]) -> str:
        client = self._get_client()
        extra = {k: v for k, v in opts.items() if k not in ("temperature", "max_tokens", "sample_index")}
        resp = await client.chat.completions.create(
            model=self.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=opts.get("temperature"),
            max_tokens=opts.get("max_tokens"),
            timeout=self.timeout,
            **extra,
        )
        if isinstance(resp, str) or not getattr(resp, "choices", None):
            raise ValueError("malformed completion: no choices")
        content = resp.choices[0].message.content
        if content is None:
            raise ValueError("malformed completion: no message content")
        return content

    async def acomplete(self, messages: Messages, **opts: Any) -> ChatResult:
        """Cache lookup, then up to ``1 + max_retries`` tries under the concurrency bound. Never raises
        for request failures: the result carries ``error`` (secrets scrubbed) instead."""
        opts = {**self.gen_opts, **opts}
        key = request_key(self.name, messages, opts)
        t0 = time.perf_counter()
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return ChatResult(hit, time.perf_counter() - t0, cached=True)
        attempt = 0
        t0 = time.perf_counter()
        while True:
            attempt += 1
            # The bound is on requests in flight: a request waiting out its backoff frees its slot.
            async with self._semaphore():
                self.requests_sent += 1
                try:
                    text = await asyncio.wait_for(self._send(messages, opts), timeout=self.timeout + 5.0)
                except Exception as exc:  # noqa: BLE001 - every failure is classified, none is lost
                    last_err = scrub(f"{type(exc).__name__}: {exc}", [self._api_key])[:500]
                    if not classify_exception(exc) or attempt > self.retry.max_retries:
                        return ChatResult(None, time.perf_counter() - t0, error=last_err, attempts=attempt)
                    wait = self.retry.delay(attempt - 1, self._rng, _retry_after(exc))
                else:
                    if self.cache is not None:
                        self.cache.put(key, self.name, text)
                    return ChatResult(text, time.perf_counter() - t0, attempts=attempt)
            await asyncio.sleep(wait)

    # -- Predictor protocol -------------------------------------------------------------------------
    def predict(self, entries: Sequence[Entry], setting: str) -> list[str]:
        """Raw responses in entry order; a request that failed after all retries raises."""
        results = run_sync(self._predict_all(entries, setting))
        bad = [(e.entry_id, r.error) for e, r in zip(entries, results) if r.error is not None]
        if bad:
            raise RuntimeError(f"{len(bad)} request(s) failed after retries; first: entry {bad[0][0]}: {bad[0][1]}")
        return [r.response or "" for r in results]

    async def _predict_all(self, entries: Sequence[Entry], setting: str) -> list[ChatResult]:
        try:
            return list(await asyncio.gather(*(self.acomplete(entry_messages(e, setting)) for e in entries)))
        finally:
            await self.aclose()


def run_sync(coro: Awaitable[Any]) -> Any:
    """Run a coroutine from synchronous code, also inside Jupyter (whose loop is already running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


class OpenAIChatLLM:
    """Synchronous :class:`~petool_utils.models.llm.ChatLLM` over the same client, for the construction stages.

    One request per call, with the same retries and (optionally) the same cache; a request that fails
    after all retries raises ``RuntimeError`` (the caller's stage decides what to do with it).
    """

    def __init__(self, model: str, *, timeout: float = 60.0, retry: RetryPolicy | None = None,
                 cache: ResponseCache | str | Path | None = None, gen_opts: dict[str, Any] | None = None):
        self._pred = OpenAIChatPredictor(model, concurrency=1, timeout=timeout, retry=retry, cache=cache,
                                         gen_opts=gen_opts)
        self.name = self._pred.name

    @property
    def requests_sent(self) -> int:
        return self._pred.requests_sent

    def chat(self, messages: Messages, **opts: Any) -> str:
        async def one() -> ChatResult:
            try:
                return await self._pred.acomplete(messages, **opts)
            finally:
                await self._pred.aclose()

        res: ChatResult = run_sync(one())
        if res.error is not None:
            raise RuntimeError(f"{self.name}: request failed after {res.attempts} attempt(s): {res.error}")
        return res.response or ""

