"""The run store: one JSON line per finished prediction, written so that a killed run loses nothing done.

This module writes (and locks); :mod:`.reader` is the one reader of the files, :mod:`.manifest` writes
and checks ``manifest.json``.

Layout (what ``petool eval --out DIR`` writes)::

    DIR/<model_slug>/<setting>.jsonl   {"entry_id", "setting", "response", "latency_s", "error", ...}
    DIR/<model_slug>/manifest.json     model spec, options (no secrets), data sha256, versions, times

Why lines and not one JSON document: a line is appended with one ``write`` the moment its answer exists
(``fsync`` grouped every 64 lines or 100 ms); ``kill -9`` can at worst leave the last line unterminated,
which :func:`~petool_utils.io.repair_torn_tail` cuts on the next open, so only the requests in flight are
redone. Rewriting a whole results file after every response (the authors' pattern) costs O(n^2) and can
be caught half-written.

A line whose ``error`` is set records a request that failed after all retries. The line rule, the same
everywhere: per entry the last successful line wins; with no successful line, the last error line stands
(the entry failed). On open, the store is compacted (atomically) to that one line per entry, and the
next run retries the failures. One :class:`RunLock` per model folder keeps two runs from writing it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from petool_utils.benchmark.data import canonical_id
from petool_utils.io import WriteError, atomic_write_jsonl, iter_jsonl, json_line, repair_torn_tail
from petool_utils.secrets import Secrets, redact_obj, secrets_in

LINE_FIELDS = ("entry_id", "setting", "response", "latency_s", "error")


def _eid(value: Any) -> str:
    """Entry ids are ints in the release and strings elsewhere; compare them in one canonical text form."""
    return canonical_id(value)


_KEPT = "the lines written before it are kept: make room and run the same command again to resume"
FSYNC_EVERY = 64
FSYNC_INTERVAL_S = 0.1
LOCK_NAME = ".lock"


class RunLockedError(RuntimeError):
    """Another process is writing the same (output folder, model) run."""


class RunLock:
    """An advisory lock on one model's prediction folder, held for a whole evaluation.

    Two evaluations writing one folder would lose answers (one compacts a file the other appends to),
    so the second is refused with the holder's PID. ``flock`` is released by the kernel when its holder
    dies, so a ``kill -9`` never leaves a stale lock behind.
    """

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fh: Any = None

    def acquire(self) -> "RunLock":
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RunLockedError(
                f"{self.folder} is being written by another petool process (PID {holder}); wait for it to finish "
                "or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _prefer(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """The line rule, one line at a time: a later line replaces an earlier one unless the earlier
    succeeded and the later failed, for the same input (:func:`resolve_lines` applies it to a whole file).
    A later line asked of *other* inputs (its ``input_sha`` differs) always replaces: an answer to the
    old prompt is not an answer to the new one, even when the new request failed."""
    if old is None or new.get("error") is None or old.get("error") is not None:
        return True
    return _stale(old, new.get("input_sha"))


def _stale(rec: Mapping[str, Any], input_sha: str | None) -> bool:
    """The line answered other inputs than ``input_sha`` (lines written before fingerprints existed, or
    without one, are taken as current: nothing says otherwise)."""
    return input_sha is not None and rec.get("input_sha") is not None and rec["input_sha"] != input_sha


class PredictionStore:
    """Append-only JSONL of predictions for one (model, setting), resumable and crash-safe.

    Open it only under the folder's :class:`RunLock` (the engine does): opening compacts the file.
    Each answer is written (``write`` + ``flush``) the moment it exists, so a killed process keeps it;
    the ``fsync`` that guards against a power loss is grouped, every 64 lines or 100 ms.
    """

    def __init__(self, path: str | os.PathLike[str], secrets: Secrets | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.secrets = dict(secrets or {})
        self.repaired_bytes = repair_torn_tail(self.path)
        self._records: dict[str, dict[str, Any]] = {}
        n_lines = 0
        for rec in iter_jsonl(self.path):
            n_lines += 1
            if not isinstance(rec, dict) or "entry_id" not in rec:
                raise ValueError(f"{self.path}: line {n_lines}: record lacks 'entry_id'")
            key = _eid(rec["entry_id"])
            if _prefer(self._records.get(key), rec):
                self._records[key] = rec
        self.retrying = sorted(k for k, r in self._records.items() if r.get("error") is not None)
        self._n_lines = n_lines
        self._compact()
        self._lock = threading.Lock()
        self._fh = None
        self._unsynced = 0
        self._last_sync = time.monotonic()

    # -- reading ------------------------------------------------------------------------------------
    @property
    def finished_ids(self) -> set[str]:
        """Entries with a successful line (as text): a rerun skips exactly these."""
        return {k for k, r in self._records.items() if r.get("error") is None}

    def is_finished(self, entry_id: Any, input_sha: str | None = None) -> bool:
        """A successful line stands for this entry, and answered these inputs (``input_sha``, see
        :meth:`~petool_utils.benchmark.data.Entry.input_fingerprint`) when it is given."""
        rec = self._records.get(_eid(entry_id))
        return rec is not None and rec.get("error") is None and not _stale(rec, input_sha)

    def is_stale(self, entry_id: Any, input_sha: str) -> bool:
        """A line stands for this entry but answered other inputs (the benchmark changed under the run)."""
        rec = self._records.get(_eid(entry_id))
        return rec is not None and _stale(rec, input_sha)

    def records(self) -> dict[str, dict[str, Any]]:
        return dict(self._records)

    def __contains__(self, entry_id: Any) -> bool:
        """A line (of any outcome) stands for this entry."""
        return _eid(entry_id) in self._records

    def __len__(self) -> int:
        return len(self._records)

    # -- writing ------------------------------------------------------------------------------------
    def append(self, entry_id: Any, setting: str, response: str | None, latency_s: float,
               error: str | None = None, **extra: Any) -> None:
        rec: dict[str, Any] = {"entry_id": entry_id, "setting": setting, "response": response,
                               "latency_s": latency_s, "error": error}
        rec.update(extra)
        self.append_many([rec])

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write finished records with one ``write``; the standard five fields come first in a line.
        Known secret values are replaced before anything reaches the disk."""
        lines, recs = [], []
        for r in records:
            rec = {"entry_id": r["entry_id"], "setting": r.get("setting"), "response": r.get("response"),
                   "latency_s": round(float(r.get("latency_s") or 0.0), 6), "error": r.get("error")}
            rec.update({k: v for k, v in r.items() if k not in rec})
            line = json_line(rec)
            if self.secrets and secrets_in(line, self.secrets):
                rec = redact_obj(rec, self.secrets)
                line = json_line(rec)
            recs.append(rec)
            lines.append(line + "\n")
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        with self._lock:
            if self._fh is None:
                self._fh = open(self.path, "ab", buffering=0)
            self._write_locked(data)
            self._n_lines += len(lines)
            self._unsynced += len(lines)
            if self._unsynced >= FSYNC_EVERY or time.monotonic() - self._last_sync >= FSYNC_INTERVAL_S:
                self._sync_locked()
            for rec in recs:
                key = _eid(rec["entry_id"])
                if _prefer(self._records.get(key), rec):
                    self._records[key] = rec

    def _compact(self) -> None:
        """Superseded lines go, in one atomic rewrite: the file is the old or the new one."""
        if self._n_lines != len(self._records):
            atomic_write_jsonl(self.path, self._records.values())
            self._n_lines = len(self._records)

    def _write_locked(self, data: bytes) -> None:
        """Append ``data`` whole, or not at all: a write cut short (a full disk) is cut back off the file,
        so the store holds exactly the lines it held before, and the error names the file."""
        fd = self._fh.fileno()
        start = os.fstat(fd).st_size
        view = memoryview(data)
        try:
            while view:
                view = view[self._fh.write(view):]
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass  # the next open cuts a torn last line all the same
            raise WriteError(self.path, exc, _KEPT) from exc

    def _sync_locked(self) -> None:
        if self._fh is not None and self._unsynced:
            try:
                os.fsync(self._fh.fileno())
            except OSError as exc:
                raise WriteError(self.path, exc, _KEPT) from exc
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Sync, and leave one line per entry behind (a retried failure's old line goes)."""
        with self._lock:
            if self._fh is not None:
                try:
                    self._sync_locked()
                finally:
                    self._fh.close()
                    self._fh = None
            self._compact()

    def __enter__(self) -> "PredictionStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- the one rule for several lines of one entry (the store appends by it, the reader reads by it) ----

def is_failed(record: Mapping[str, Any]) -> bool:
    """A line records a failed request when its ``error`` is set (any value but null)."""
    return record.get("error") is not None


def resolve_lines(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The one rule for several lines of one entry: ``{entry id as text: the line that stands}``.

    Per entry (ids compared in their canonical text form, so ``24200`` and ``"24200"`` are one entry),
    the **last successful** line wins, wherever it is; an entry with no successful line keeps its
    **last error** line, and counts as *failed* (scored 0, and counted apart from *missing* entries,
    which have no line at all). A retried request that succeeded is therefore never undone by a later
    failure, and a file compacted by the run store reads the same as before.

    Records must carry ``entry_id``; order is the file order. The run store applies the same rule line
    by line (:func:`_prefer`) while it appends.
    """
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        key = _eid(rec["entry_id"])
        if _prefer(out.get(key), rec):
            out[key] = dict(rec)
    return out
