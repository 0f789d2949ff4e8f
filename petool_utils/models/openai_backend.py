"""The ``openai:<model>`` backend: any OpenAI-compatible chat server (OpenAI, vLLM, SGLang, Ollama, a
llama.cpp server, ``transformers serve``) behind the :class:`~petool_utils.models.base.ChatLLM` seam.

Only the model name comes from the spec; the server and the key come from the environment
(``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, or their ``PETOOL_`` prefixed twins), so that no parameter,
notebook, report or manifest can ever hold a secret. Many requests are in flight at once (bounded by
``concurrency``); the openai client's own retries are switched off (``max_retries=0``): retries, backoff
and the per-request timeout are counted here, and each failure's cause is reported. A 401/403 (wrong
key) or 404 (unknown model or wrong URL) stops the whole call at once: no retry can mend them.

The cache is not here: wrap the backend in :class:`~petool_utils.models.cache.CachedLLM`. Its identity
is the model *name* and the server's public URL, so two servers serving one model name stay apart.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import random
import ssl
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Iterable, Iterator, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from petool_utils.models.base import (
    ChatLLM,
    ChatRequest,
    ChatResult,
    FatalLLMError,
    Messages,
    ResultCallback,
)
from petool_utils.models.spec import ModelSpec
from petool_utils.secrets import redact_text, secret_env_values, warn_if_echoed

BASE_URL_VARS = ("PETOOL_OPENAI_BASE_URL", "OPENAI_BASE_URL")
API_KEY_VARS = ("PETOOL_OPENAI_API_KEY", "OPENAI_API_KEY")
# Local servers (vLLM, SGLang, llama.cpp, Ollama) accept any key; the openai client insists on one.
PLACEHOLDER_KEY = "EMPTY"


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


DEFAULT_MAX_REPLY_BYTES = 256 * 1024
"""The largest reply body read (256 KiB): 256 new tokens of JSON are a few KB, so a reply past this is a
runaway server, and it is refused before it is held in memory, cached or written."""


class ReplyTooLargeError(RuntimeError):
    """A reply body past ``max_reply_bytes``: a failed request of its own kind, not retried (a runaway
    generation would run away again), and nothing of it kept."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: wait ``min(cap, base * 2**attempt) * U(0.5, 1.5)``.

    ``max_retries`` is the number of retries after the first try (so at most ``max_retries + 1``
    requests per prompt). A ``Retry-After`` header from a 429/503 raises the wait, still capped.

    A timeout is not retried at the same deadline: a prompt that takes a slow server 69 s times out at
    60 s every time, and each retry pays the whole prompt again. The attempt after a timeout gets
    ``timeout_growth`` times the deadline, and after ``max_timeouts`` timeouts the request stops (its error
    names the deadlines and the flag to raise).
    """

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout_growth: float = 2.0
    max_timeouts: int = 2

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        d = min(self.max_delay, self.base_delay * (2**attempt)) * rng.uniform(0.5, 1.5)
        if retry_after is not None:
            d = max(d, min(self.max_delay, retry_after))
        return d


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
    """True when retrying may help: 408/409/429, 5xx, timeouts, dropped connections (also mid-body), garbled
    bodies; not a reply past the size cap."""
    import openai

    if isinstance(exc, ReplyTooLargeError):
        return False
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, asyncio.TimeoutError)):
        return True
    import httpx2

    if isinstance(exc, httpx2.TransportError):  # a connection dropped while the body is read (outside the SDK)
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ValueError, KeyError)):
        return True  # a malformed body from a flaky server or proxy
    # Anything else (a TypeError from an unknown generation option, say) is a bug: retrying cannot help.
    return isinstance(exc, (ConnectionError, OSError))


def is_timeout(exc: BaseException) -> bool:
    """The attempt ran past its deadline (ours, or the client's own read timeout)."""
    import openai

    return isinstance(exc, (openai.APITimeoutError, asyncio.TimeoutError))



FATAL_STATUS = {401: "the server refused the key: check OPENAI_API_KEY (or PETOOL_OPENAI_API_KEY)",
                403: "the key may not use this model or server: check OPENAI_API_KEY (or PETOOL_OPENAI_API_KEY)",
                404: "unknown model or wrong server: check the model name and OPENAI_BASE_URL (or PETOOL_OPENAI_BASE_URL)"}


def fatal_status(exc: BaseException) -> int | None:
    """The HTTP status of a failure that no retry can mend, else None."""
    import openai

    if isinstance(exc, openai.APIStatusError) and exc.status_code in FATAL_STATUS:
        return exc.status_code
    return None


class OpenAIBackend(ChatLLM):
    """``openai:<model>``: one chat request per :class:`ChatRequest`, ``concurrency`` in flight."""

    @classmethod
    def from_spec(cls, spec: ModelSpec, **kwargs: Any) -> "OpenAIBackend":
        """``openai:<model>``: the whole name is the server's model id (``qwen2.5:7b`` included)."""
        return cls(spec.rest, **kwargs)

    def __init__(self, model: str, *, concurrency: int = 16, timeout: float = 60.0, retry: RetryPolicy | None = None,
                 seed: int = 0, max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES):
        if not model:
            raise ValueError("openai spec needs a model name: openai:<model>")
        if int(concurrency) < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if not (float(timeout) > 0 and math.isfinite(float(timeout))):
            raise ValueError(f"timeout must be a positive, finite number of seconds, got {timeout}")
        if isinstance(max_reply_bytes, bool) or int(max_reply_bytes) < 1:
            raise ValueError(f"max_reply_bytes must be a whole number of bytes >= 1, got {max_reply_bytes!r}")
        self.model = model
        self.name = f"openai:{model}"
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_reply_bytes = int(max_reply_bytes)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self.base_url, self._api_key = server_from_env()
        self.requests_sent = 0

    def identity(self) -> str:
        return f"{self.name}@{public_base_url(self.base_url) or 'api.openai.com'}"

    def describe(self) -> dict[str, Any]:
        """The backend's settings for the run manifest: no key, base URL without credentials."""
        return {
            "backend": "openai-compatible",
            "model": self.model,
            "base_url": public_base_url(self.base_url) or "https://api.openai.com/v1 (default)",
            "concurrency": self.concurrency,
            "timeout_s": self.timeout,
            "timeout_is": "the deadline for a whole reply (sending to the last byte) of a first attempt",
            "max_reply_bytes": self.max_reply_bytes,
            "retry": {"max_retries": self.retry.max_retries, "base_delay": self.retry.base_delay,
                      "max_delay": self.retry.max_delay, "timeout_growth": self.retry.timeout_growth,
                      "max_timeouts": self.retry.max_timeouts},
        }

    def _secrets(self) -> dict[str, str]:
        """The key in use (whichever variable held it) and every secret of the environment."""
        return {"OPENAI_API_KEY": self._api_key, **secret_env_values()}

    def chat_many(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[ChatResult]:
        results: list[ChatResult | None] = [None] * len(requests)

        def keep(i: int, res: ChatResult) -> None:
            results[i] = res
            if on_result:
                on_result(i, res)

        self.chat_stream(enumerate(requests), keep)
        return results  # type: ignore[return-value]

    def chat_stream(self, requests: Iterable[tuple[int, ChatRequest]], on_result: ResultCallback) -> None:
        run_sync(self._run(iter(requests), on_result))

    async def _run(self, requests: Iterator[tuple[int, ChatRequest]], on_result: ResultCallback) -> None:
        """Pull the next request only when one of the ``concurrency`` slots is free, and hand the slot to it:
        the first answers are on their way while later prompts are still being rendered."""
        from openai import AsyncOpenAI, DefaultAioHttpClient

        # aiohttp as the transport (the SDK's documented option "for improved concurrency performance"):
        # httpx's pool re-polls every idle connection for each request it assigns, which at 32 requests in
        # flight cost more CPU than the requests themselves.
        client = AsyncOpenAI(api_key=self._api_key, base_url=self.base_url, max_retries=0, timeout=self.timeout,
                             http_client=DefaultAioHttpClient(timeout=self.timeout, verify=_tls_context()))
        sem = asyncio.Semaphore(self.concurrency)
        stop: list[str] = []
        secrets = self._secrets()
        tasks: list[asyncio.Task] = []

        async def one(i: int, req: ChatRequest) -> None:
            res = await self._complete(client, sem, req, stop, secrets, slot_held=True)
            if res is not None:  # None: not sent, the run stopped at a fatal error
                on_result(i, res)

        try:
            for item in requests:  # rendered while the slots are busy: sent the moment one frees
                await sem.acquire()
                if stop:  # a fatal reply stopped the run
                    sem.release()
                    break
                tasks.append(asyncio.create_task(one(*item)))
                await asyncio.sleep(0)  # let it go out before the next prompt is rendered
            await asyncio.gather(*tasks)
        finally:
            await client.close()
        if stop:
            raise FatalLLMError(stop[0])

    async def _send(self, client: Any, messages: Messages, opts: Mapping[str, Any], deadline: float) -> str:
        # The client's own POST, not ``chat.completions.create``: the same URL, headers, timeout and
        # typed errors (APIStatusError & co., which the retry logic classifies), without the SDK walking
        # every message through its TypedDict transform and building a pydantic ChatCompletion. That walk
        # was a third of the client's CPU per request (benchmarks/eval_throughput.py, docs/evaluation.md).
        # Every option goes in the body, as ``extra_body`` would put the ones the SDK does not know.
        # The body is read here, as a stream (the SDK's raw-response header), so that a reply past
        # ``max_reply_bytes`` is dropped at the cap instead of being held whole.
        from openai._constants import RAW_RESPONSE_HEADER

        body = {"model": self.model, "messages": messages, **opts}
        resp = await client.post("/chat/completions", body=body, cast_to=object,
                                 options={"timeout": deadline, "headers": {RAW_RESPONSE_HEADER: "stream"}})
        return completion_text(json.loads(await read_capped(resp, self.max_reply_bytes)))

    def _after_failure(self, exc: Exception, attempt: int, deadlines: list[float], deadline: float,
                       secrets: Mapping[str, str], stop: list[str]) -> str | float:
        """A failed attempt's consequence: the request's final error (text), or the seconds to wait before
        the next attempt. A timeout adds its deadline to ``deadlines`` (the next one is longer)."""
        if is_timeout(exc):
            deadlines.append(deadline)
            if len(deadlines) >= self.retry.max_timeouts or attempt > self.retry.max_retries:
                return self._timeout_error(deadlines)
            return self.retry.delay(attempt - 1, self._rng, None)
        error = redact_text(f"{type(exc).__name__}: {exc}", secrets)[0][:500]
        status = fatal_status(exc)
        if status is not None:
            if not stop:
                stop.append(f"{self.name}: HTTP {status} from {public_base_url(self.base_url) or 'api.openai.com'}: "
                            f"{FATAL_STATUS[status]} (stopped at the first such reply; nothing else was sent)")
            return error
        if not classify_exception(exc) or attempt > self.retry.max_retries:
            return error
        return self.retry.delay(attempt - 1, self._rng, _retry_after(exc))

    def _timeout_error(self, deadlines: list[float]) -> str:
        tried = ", then ".join(f"{d:g} s" for d in deadlines)
        # the kind named first, as an exception's name starts any other request error
        return (f"ReplyDeadlineError: no complete reply within {tried} (--timeout {self.timeout:g} is the deadline "
                "for a whole reply, from sending to its last byte; each timed-out attempt is retried with "
                f"{self.retry.timeout_growth:g}x the deadline, {self.retry.max_timeouts} timeout(s) at most): "
                "raise --timeout if the server needs longer")

    async def _complete(self, client: Any, sem: asyncio.Semaphore, req: ChatRequest, stop: list[str],
                        secrets: Mapping[str, str], slot_held: bool = False) -> ChatResult | None:
        """Up to ``1 + max_retries`` tries under the concurrency bound; never raises for a request's failure.
        ``slot_held``: the caller already holds a slot of ``sem`` for the first try (and it is released here)."""
        opts = req.sent_options()
        attempt = 0
        deadline = self.timeout
        deadlines: list[float] = []  # the deadlines that passed
        t0 = time.perf_counter()
        while True:
            if stop and not slot_held:
                return None
            attempt += 1
            # The bound is on requests in flight: a request waiting out its backoff frees its slot.
            if not slot_held:
                await sem.acquire()
            slot_held = False
            try:
                if stop:
                    return None
                self.requests_sent += 1
                try:
                    # One deadline for the whole reply: the client's timeouts are per read, so a server
                    # trickling a byte a second would never trip them. A deadline on this task, not
                    # wait_for's extra task per request (Python 3.11).
                    async with asyncio.timeout(deadline):
                        text = await self._send(client, req.messages, opts, deadline)
                except Exception as exc:  # noqa: BLE001 - every failure is classified, none is lost
                    outcome = self._after_failure(exc, attempt, deadlines, deadline, secrets, stop)
                    if isinstance(outcome, str):  # the request's final error
                        return ChatResult(None, error=outcome, attempts=attempt, latency_s=time.perf_counter() - t0)
                    wait = outcome
                    deadline = self.timeout * self.retry.timeout_growth ** len(deadlines)
                else:
                    # the answer stays as sent; the cache and the run store redact their copies by the one rule
                    warn_if_echoed(text, secrets, self.name)
                    return ChatResult(text, attempts=attempt, latency_s=time.perf_counter() - t0)
            finally:
                sem.release()
            await asyncio.sleep(wait)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The TLS context a client would build with ``verify=True`` (the same function, so ``SSL_CERT_FILE``
    and ``SSL_CERT_DIR`` count), built once per process: reading the CA bundle takes 35-100 ms, and every
    ``chat_many`` call makes a client (its event loop is its own)."""
    import httpx2

    return httpx2.create_ssl_context(verify=True, trust_env=True)


async def read_capped(resp: Any, limit: int) -> bytes:
    """The body of a streamed response, refusing one past ``limit`` bytes (its declared length or what
    arrives) with :class:`ReplyTooLargeError`; the connection is closed either way."""
    try:
        declared = resp.http_response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ReplyTooLargeError(f"the reply declared {int(declared):,} bytes, past --max-reply-bytes {limit:,}; "
                                     "nothing of it was read or stored")
        buf = bytearray()
        async for chunk in resp.http_response.aiter_bytes():
            buf += chunk
            if len(buf) > limit:
                raise ReplyTooLargeError(f"the reply ran past --max-reply-bytes {limit:,} bytes; reading stopped "
                                         "there and nothing of it was stored")
        return bytes(buf)
    finally:
        await resp.close()


def completion_text(resp: Any) -> str:
    """The first choice's message content of a decoded chat completion; ValueError (retried) otherwise.

    A server that answers 200 with a body that is not a completion (a proxy's HTML page, a JSON error
    object) counts as a flaky reply, not as an answer.
    """
    try:
        content = resp["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        raise ValueError("malformed completion: no choices[0].message.content") from None
    if not isinstance(content, str):
        raise ValueError("malformed completion: no message content")
    return content


def run_sync(coro: Awaitable[Any]) -> Any:
    """Run a coroutine from synchronous code, also inside Jupyter (whose loop is already running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]

