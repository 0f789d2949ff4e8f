"""The one response cache: a SQLite table around any :class:`~.base.ChatLLM`.

Caching is a wrapper, not a backend feature (lm-evaluation-harness's ``CachingLM`` is the model): the key
is a hash of the backend's identity, the messages and every option (``sample_index`` included), so a
changed prompt, temperature or adapter is a new request and K samples stay K answers. Hits are split
from misses, only the misses reach the backend, and no backend knows there is a cache.

Writes are grouped: a commit every 64 answers or 100 ms (WAL, ``synchronous=NORMAL``). A killed process
loses at most the uncommitted answers of the cache, which only means asking again: the run store's
prediction lines, not the cache, are the record of what was answered.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from petool_utils.models.base import ChatLLM, ChatRequest, ChatResult, ResultCallback, request_key
from petool_utils.secrets import redact_text, secret_env_values

COMMIT_EVERY = 64
COMMIT_INTERVAL_S = 0.1


class ResponseCache:
    """``key -> response`` in SQLite; safe across threads and processes (WAL, one writer at a time)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a crash loses at most the last commits, never corrupts the file
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT, created REAL)"
        )
        self._conn.commit()
        self._pending = 0
        self._last_commit = time.monotonic()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT response FROM responses WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, model: str, response: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO responses(key, model, response, created) VALUES (?,?,?,?)",
                (key, model, response, time.time()),
            )
            self._pending += 1
            if self._pending >= COMMIT_EVERY or time.monotonic() - self._last_commit >= COMMIT_INTERVAL_S:
                self._commit_locked()

    def _commit_locked(self) -> None:
        self._conn.commit()
        self._pending = 0
        self._last_commit = time.monotonic()

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._commit_locked()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.commit()
            self._conn.close()


class CachedLLM(ChatLLM):
    """Any backend behind the cache. Identical requests within one call are sent once."""

    def __init__(self, backend: ChatLLM, cache: ResponseCache | str | Path):
        self.backend = backend
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.name = backend.name
        self.hits = 0
        self.misses = 0

    def identity(self) -> str:
        return self.backend.identity()

    def describe(self) -> dict[str, Any]:
        return {**self.backend.describe(), "cache": str(self.cache.path)}

    def chat_many(self, requests: Sequence[ChatRequest], on_result: ResultCallback | None = None) -> list[ChatResult]:
        """Hits are answered from the cache, the first of identical requests is sent and the others follow
        its answer; the misses reach the backend as a stream (:meth:`ChatLLM.chat_stream`), so a backend
        that sends while the stream is still being read has its first requests out before the last prompt
        is even rendered (``requests`` may be a lazy sequence)."""
        ident = self.backend.identity()
        secrets = secret_env_values()
        results: list[ChatResult | None] = [None] * len(requests)
        keys: list[str | None] = [None] * len(requests)
        sent_for: dict[str, int] = {}  # key -> the index whose request went to the backend
        followers: dict[int, list[int]] = {}

        def emit(i: int, res: ChatResult) -> None:
            results[i] = res
            if on_result:
                on_result(i, res)

        def misses() -> Iterator[tuple[int, ChatRequest]]:
            for i, req in enumerate(requests):
                key = keys[i] = request_key(ident, req.messages, req.options)
                first = sent_for.get(key)
                if first is not None:  # identical to a request already sent: follow its answer
                    if results[first] is not None:
                        emit(i, results[first])  # type: ignore[arg-type]
                    else:
                        followers.setdefault(first, []).append(i)
                    continue
                t0 = time.perf_counter()
                hit = self.cache.get(key)
                if hit is not None:
                    self.hits += 1
                    emit(i, ChatResult(hit, cached=True, attempts=0, latency_s=time.perf_counter() - t0))
                    continue
                sent_for[key] = i
                self.misses += 1
                yield i, req

        def deliver(i: int, res: ChatResult) -> None:
            if res.ok:
                # the stored copy by the one redaction rule; the caller gets the answer as it came
                self.cache.put(keys[i], self.name, redact_text(res.text, secrets)[0])  # type: ignore[arg-type]
            emit(i, res)
            for f in followers.pop(i, []):
                emit(f, res)

        try:
            self.backend.chat_stream(misses(), deliver)
        finally:
            self.cache.flush()
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self.cache.flush()
        self.backend.close()
