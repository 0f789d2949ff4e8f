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
from typing import Any, Sequence

from petool_utils.models.base import ChatLLM, ChatRequest, ChatResult, ResultCallback, request_key

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
        ident = self.backend.identity()
        keys = [request_key(ident, r.messages, r.options) for r in requests]
        results: list[ChatResult | None] = [None] * len(requests)
        first_of: dict[str, int] = {}
        followers: dict[int, list[int]] = {}
        todo: list[int] = []
        for i, key in enumerate(keys):
            if key in first_of:
                followers.setdefault(first_of[key], []).append(i)
                continue
            t0 = time.perf_counter()
            hit = self.cache.get(key)
            if hit is not None:
                self.hits += 1
                results[i] = ChatResult(hit, cached=True, attempts=0, latency_s=time.perf_counter() - t0)
                if on_result:
                    on_result(i, results[i])  # type: ignore[arg-type]
                continue
            first_of[key] = i
            todo.append(i)
        self.misses += len(todo)

        def deliver(j: int, res: ChatResult) -> None:
            i = todo[j]
            if res.ok:
                self.cache.put(keys[i], self.name, res.text)  # type: ignore[arg-type]
            results[i] = res
            if on_result:
                on_result(i, res)
            for f in followers.get(i, []):
                results[f] = res
                if on_result:
                    on_result(f, res)

        try:
            if todo:
                got = self.backend.chat_many([requests[i] for i in todo], on_result=deliver)
                for j, res in enumerate(got):  # a backend that does not call back still delivers
                    if results[todo[j]] is None:
                        deliver(j, res)
        finally:
            self.cache.flush()
        for i, key in enumerate(keys):  # followers of a cache hit
            if results[i] is None:
                results[i] = results[first_of.get(key, i)] or self._from_hit(key)
        return results  # type: ignore[return-value]

    def _from_hit(self, key: str) -> ChatResult:
        return ChatResult(self.cache.get(key), cached=True, attempts=0)

    def close(self) -> None:
        self.cache.flush()
        self.backend.close()
