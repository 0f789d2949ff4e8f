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

import contextlib
import errno
import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from petool_utils.io import WriteError

from petool_utils.models.base import ChatLLM, ChatRequest, ChatResult, ResultCallback, request_key
from petool_utils.secrets import redact_text, secret_env_values

COMMIT_EVERY = 64
COMMIT_INTERVAL_S = 0.1


CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
WRITE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
                         sqlite3.SQLITE_PERM})
"""The disk refused: full, an I/O error, read-only, or the file cannot be made."""


class CacheCorruptWarning(UserWarning):
    """A damaged response cache was moved aside and a fresh one started."""


def _primary_code(exc: BaseException) -> int | None:
    """SQLite's primary result code (``sqlite_errorcode`` is the extended one: SQLITE_IOERR_SHMSIZE is an IOERR)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_corrupt(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and _primary_code(exc) in CORRUPT_CODES


class ResponseCache:
    """``key -> response`` in SQLite; safe across threads and processes (WAL, one writer at a time).

    A damaged file (truncated, overwritten, garbage mid-file: SQLite's "file is not a database" or
    "database disk image is malformed", found by ``quick_check`` on open or by any later read or write)
    is renamed to ``<name>.corrupt-<UTC time>`` with a :class:`CacheCorruptWarning` naming both files,
    and a fresh cache takes its place: the cache only saves asking again, the prediction files are the
    record. A write the disk refuses (full, quota, I/O error) is a :class:`~petool_utils.io.WriteError`
    naming the cache file; the answers committed before it stay.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._deferred: BaseException | None = None  # a commit the timer could not make
        self.moved_aside: list[str] = []
        """The damaged files moved aside during this object's life (for the run manifest)."""
        self._broken = False
        try:
            self._open()
            problem = self._conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                self._raise_write_error(exc)
            self._move_aside(exc)
        else:
            if problem != "ok":  # garbage in pages no query of the open has read yet
                self._move_aside(f"quick_check: {problem}")

    def _open(self) -> None:
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

    def _move_aside(self, exc: BaseException | str) -> None:
        """Rename the damaged file (and its WAL) out of the way and open a fresh cache at the same path."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self._conn.close()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        dest = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while dest.exists():
            n += 1
            dest = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, dest)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{dest}{suffix}"))
        self.moved_aside.append(str(dest))
        warnings.warn(f"{self.path}: the response cache is damaged ({exc}); moved it aside to {dest} and started a "
                      "fresh one (answers already in the prediction files are kept; other requests are sent again)",
                      CacheCorruptWarning, stacklevel=3)
        self._open()

    def _raise_write_error(self, exc: sqlite3.Error) -> None:
        """A refused write as a :class:`WriteError` naming the file; any other error as it is."""
        if _primary_code(exc) not in WRITE_CODES:
            raise exc
        self._broken = True
        raise WriteError(self.path, OSError(errno.ENOSPC if "full" in str(exc) else errno.EIO, str(exc)),
                         "the answers cached before it are kept") from exc

    def get(self, key: str) -> str | None:
        with self._lock:
            try:
                row = self._conn.execute("SELECT response FROM responses WHERE key=?", (key,)).fetchone()
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise
                self._move_aside(exc)
                return None
        return None if row is None else row[0]

    def put(self, key: str, model: str, response: str) -> None:
        """Store an answer. Text that SQLite cannot hold as UTF-8 (a lone surrogate in a server's reply) is
        not cached: it is asked again next time, and its prediction line is written all the same."""
        with self._lock:
            if self._deferred is not None:
                exc, self._deferred = self._deferred, None
                raise exc
            if self._broken:
                return
            row = (key, model, response, time.time())
            try:
                try:
                    self._insert_locked(row)
                except sqlite3.DatabaseError as exc:
                    if not _is_corrupt(exc):
                        raise
                    self._move_aside(exc)
                    self._insert_locked(row)
            except UnicodeEncodeError:
                return
            except sqlite3.DatabaseError as exc:
                self._raise_write_error(exc)

    def _insert_locked(self, row: tuple[Any, ...]) -> None:
        self._conn.execute("INSERT OR REPLACE INTO responses(key, model, response, created) VALUES (?,?,?,?)", row)
        self._pending += 1
        if self._pending >= COMMIT_EVERY or time.monotonic() - self._last_commit >= COMMIT_INTERVAL_S:
            self._commit_locked()
        elif self._timer is None:
            # An open write transaction holds SQLite's one write lock: the last answers of a burst must not
            # wait for the next burst (a minute of generation later) to be committed, or another process
            # writing the same cache times out ("database is locked").
            self._timer = threading.Timer(COMMIT_INTERVAL_S, self._flush_soon)
            self._timer.daemon = True
            self._timer.start()

    def _flush_soon(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush()
        except (sqlite3.Error, WriteError) as exc:  # raised to the caller at its next put
            self._deferred = exc

    def _commit_locked(self) -> None:
        self._conn.commit()
        self._pending = 0
        self._last_commit = time.monotonic()

    def flush(self) -> None:
        with self._lock:
            if self._pending and not self._broken:
                try:
                    self._commit_locked()
                except sqlite3.DatabaseError as exc:
                    if _is_corrupt(exc):  # the uncommitted answers go with the damaged file
                        self._move_aside(exc)
                    else:
                        self._raise_write_error(exc)

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        """Commit and close; after a refused write, close without committing (nothing more can be kept)."""
        try:
            self.flush()
        finally:
            with self._lock, contextlib.suppress(sqlite3.Error):
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self._conn.close()


class CachedLLM(ChatLLM):
    """Any backend behind the cache. Identical requests within one call are sent once."""

    def __init__(self, backend: ChatLLM, cache: ResponseCache | str | Path):
        self.backend = backend
        self._owns_cache = not isinstance(cache, ResponseCache)
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.name = backend.name
        self.hits = 0
        self.misses = 0

    def identity(self) -> str:
        return self.backend.identity()

    def describe(self) -> dict[str, Any]:
        out = {**self.backend.describe(), "cache": str(self.cache.path)}
        if self.cache.moved_aside:
            out["cache_moved_aside_as_damaged"] = list(self.cache.moved_aside)
        return out

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
        """Commit the cache (and close it when this object opened it), then release the backend."""
        try:
            self.cache.close() if self._owns_cache else self.cache.flush()
        finally:
            self.backend.close()
