"""The LLM seam: ``chat(messages, **opts) -> text`` with one SQLite response cache around any backend.

Backends (OpenAI-compatible servers, local Hugging Face models, the offline stand-in of the
construction stages) implement :class:`ChatLLM`. Caching is a wrapper, not a backend feature
(lm-evaluation-harness's ``CachingLM`` is the model): the key is a hash of the backend's identity,
the messages and every generation option, so a changed prompt or temperature is a new request.
Sampled requests carry ``sample_index`` in their options, so K samples stay K different answers.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

Messages = list[dict[str, str]]


@runtime_checkable
class ChatLLM(Protocol):
    """One chat model. ``name`` identifies it in cache keys, manifests and reports.

    ``chat`` takes OpenAI-style messages and generation options (``temperature``, ``max_tokens``,
    ``seed``, ``sample_index``...) and returns the assistant's text. It may raise on transport errors;
    callers decide about retries.
    """

    name: str

    def chat(self, messages: Messages, **opts: Any) -> str: ...


def request_key(model: str, messages: Messages, opts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of (model, messages, options): the cache key of a request."""
    payload = json.dumps({"model": model, "messages": messages, "opts": opts}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ResponseCache:
    """A SQLite table ``key -> response``; safe across threads and processes (WAL, one writer at a time)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a crash loses at most the last commits, never corrupts; FULL would fsync per response
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT, created REAL)"
        )
        self._conn.commit()

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
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class CachedLLM:
    """Wraps any :class:`ChatLLM`; a hit returns the stored text without calling the backend."""

    def __init__(self, backend: ChatLLM, cache: ResponseCache | str | Path):
        self.backend = backend
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.name = backend.name
        self.hits = 0
        self.misses = 0

    def chat(self, messages: Messages, **opts: Any) -> str:
        key = request_key(self.name, messages, opts)
        hit = self.cache.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        text = self.backend.chat(messages, **opts)
        self.cache.put(key, self.name, text)
        return text
