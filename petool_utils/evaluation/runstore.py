"""The run store: one JSON line per finished prediction, written so that a killed run loses nothing done.

Layout (what ``petool eval --out DIR`` writes)::

    DIR/<model_slug>/<setting>.jsonl   {"entry_id", "setting", "response", "latency_s", "error", ...}
    DIR/<model_slug>/manifest.json     model spec, options (no secrets), data sha256, versions, times

Why lines and not one JSON document: a line is appended with one ``write`` then ``fsync``; ``kill -9``
can at worst leave the last line unterminated, which :func:`~petool_utils.io.repair_torn_tail` cuts on
the next open, so only the requests in flight are redone. Rewriting a whole results file after every
response (the authors' pattern) costs O(n^2) and can be caught half-written.

A line whose ``error`` is set records a request that failed after all retries. On open, the store is
compacted (atomically) to the last *successful* line per entry, so the next run retries the failures and
a file never holds two lines for one entry.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl, read_json, repair_torn_tail

LINE_FIELDS = ("entry_id", "setting", "response", "latency_s", "error")
SECRET_NAME = re.compile(r"(api[_-]?key|secret|passw|authori[sz]ation|bearer|cookie|(^|[_-])token$|access[_-]?token)", re.I)


def _eid(value: Any) -> str:
    """Entry ids are ints in the release and strings elsewhere; compare them as text."""
    return str(value)


class PredictionStore:
    """Append-only JSONL of predictions for one (model, setting), resumable and crash-safe."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired_bytes = repair_torn_tail(self.path)
        self._records: dict[str, dict[str, Any]] = {}
        n_lines = 0
        for rec in iter_jsonl(self.path):
            n_lines += 1
            if "entry_id" not in rec:
                raise ValueError(f"{self.path}: line {n_lines}: record lacks 'entry_id'")
            self._records[_eid(rec["entry_id"])] = rec  # last line wins
        self.retrying = sorted(k for k, r in self._records.items() if r.get("error") is not None)
        keep = {k: r for k, r in self._records.items() if r.get("error") is None}
        if len(keep) != n_lines:
            # Failures and superseded lines go, in one atomic rewrite: the file is the old or the new one.
            atomic_write_jsonl(self.path, keep.values())
        self._records = keep
        self._lock = threading.Lock()
        self._fh = None

    # -- reading ------------------------------------------------------------------------------------
    @property
    def finished_ids(self) -> set[str]:
        """Entries with a successful line (as text): a rerun skips exactly these."""
        return {k for k, r in self._records.items() if r.get("error") is None}

    def is_finished(self, entry_id: Any) -> bool:
        rec = self._records.get(_eid(entry_id))
        return rec is not None and rec.get("error") is None

    def records(self) -> dict[str, dict[str, Any]]:
        return dict(self._records)

    def __len__(self) -> int:
        return len(self._records)

    # -- writing ------------------------------------------------------------------------------------
    def append(self, entry_id: Any, setting: str, response: str | None, latency_s: float,
               error: str | None = None, **extra: Any) -> None:
        """Write one line (one ``write`` call, flushed and fsynced before returning)."""
        rec: dict[str, Any] = {"entry_id": entry_id, "setting": setting, "response": response,
                               "latency_s": latency_s, "error": error}
        rec.update(extra)
        self.append_many([rec])

    def append_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write several finished records with one ``write`` and one fsync (group commit).

        Each record needs ``entry_id``; the line format puts the five standard fields first.
        """
        lines, recs = [], []
        for r in records:
            rec = {"entry_id": r["entry_id"], "setting": r.get("setting"), "response": r.get("response"),
                   "latency_s": round(float(r.get("latency_s") or 0.0), 6), "error": r.get("error")}
            rec.update({k: v for k, v in r.items() if k not in rec})
            recs.append(rec)
            lines.append(json.dumps(rec, ensure_ascii=False) + "\n")
        if not lines:
            return
        with self._lock:
            if self._fh is None:
                self._fh = open(self.path, "a", encoding="utf-8")
            self._fh.write("".join(lines))
            self._fh.flush()
            os.fsync(self._fh.fileno())
            for rec in recs:
                self._records[_eid(rec["entry_id"])] = rec

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> "PredictionStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def load_predictions(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Read a predictions file as ``{entry_id (text): record}``, last line per entry winning."""
    out: dict[str, dict[str, Any]] = {}
    for rec in iter_jsonl(path):
        out[_eid(rec["entry_id"])] = rec
    return out


# -- manifest -----------------------------------------------------------------------------------------

def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_commit(repo: str | os.PathLike[str] | None = None) -> str | None:
    """The checkout's commit (with ``-dirty`` when it has local changes), or None outside git."""
    from petool_utils.paths import REPO_ROOT

    cwd = str(repo or REPO_ROOT)
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def redact(obj: Any, secrets: Iterable[str] = ()) -> Any:
    """Drop keys that name a secret and blank any value that contains one; recursive."""
    secrets = [s for s in secrets if s]
    if isinstance(obj, Mapping):
        return {k: redact(v, secrets) for k, v in obj.items() if not SECRET_NAME.search(str(k))}
    if isinstance(obj, (list, tuple)):
        return [redact(v, secrets) for v in obj]
    if isinstance(obj, str):
        for s in secrets:
            obj = obj.replace(s, "***")
        return obj
    return obj


def environment_secrets() -> list[str]:
    """Values of environment variables whose names say they are secrets (to scrub from artifacts)."""
    from petool_utils.report.redaction import secret_env_values

    return list(secret_env_values().values())


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def write_manifest(
    directory: str | os.PathLike[str],
    *,
    model_spec: str,
    predictor_name: str,
    options: Mapping[str, Any],
    settings: Iterable[str],
    data_path: str | os.PathLike[str] | None = None,
    counts: Mapping[str, Any] | None = None,
    started_at: str | None = None,
    finished_at: str | None = None,
) -> Path:
    """Write ``manifest.json``; a resumed run appends to ``runs`` and keeps the first ``created_at``.

    Options pass through :func:`redact` (names like ``api_key`` dropped, secret values from the
    environment blanked), so a manifest can be shared with a paper's artefacts as is.
    """
    from petool_utils import __version__

    directory = Path(directory)
    path = directory / "manifest.json"
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = read_json(path)
        except ValueError:
            previous = {}
    secrets = environment_secrets()
    data = None
    if data_path is not None:
        p = Path(data_path)
        data = {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}
    run = {"started_at": started_at or _now(), "finished_at": finished_at or _now(),
           "counts": dict(counts or {})}
    manifest = {
        "model_spec": model_spec,
        "predictor": predictor_name,
        # An offline method or a stand-in model says so in every artifact it touches.
        "standin": any(w in predictor_name for w in ("offline", "standin")),
        "settings": list(settings),
        "options": redact(dict(options), secrets),
        "data": data,
        "petool_version": __version__,
        "git_commit": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "created_at": previous.get("created_at", run["started_at"]),
        "runs": list(previous.get("runs", [])) + [run],
    }
    manifest = redact(manifest, secrets)
    return atomic_write_json(path, manifest)
