"""The run store: one JSON line per finished prediction, written so that a killed run loses nothing done.

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

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import DataError, canonical_id
from petool_utils.io import atomic_write_json, atomic_write_jsonl, iter_jsonl, read_json, repair_torn_tail
from petool_utils.report.redaction import is_secret_name

LINE_FIELDS = ("entry_id", "setting", "response", "latency_s", "error")


def _eid(value: Any) -> str:
    """Entry ids are ints in the release and strings elsewhere; compare them in one canonical text form."""
    return canonical_id(value)


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

    def __init__(self, path: str | os.PathLike[str], secrets: Iterable[str] = ()):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.secrets = [s for s in secrets if s]
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
            line = json.dumps(rec, ensure_ascii=False)
            if self.secrets and any(s in line for s in self.secrets):
                rec = redact(rec, self.secrets)
                line = json.dumps(rec, ensure_ascii=False)
            recs.append(rec)
            lines.append(line + "\n")
        if not lines:
            return
        with self._lock:
            if self._fh is None:
                self._fh = open(self.path, "a", encoding="utf-8")
            self._fh.write("".join(lines))
            self._fh.flush()
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

    def _sync_locked(self) -> None:
        if self._fh is not None and self._unsynced:
            os.fsync(self._fh.fileno())
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        """Sync, and leave one line per entry behind (a retried failure's old line goes)."""
        with self._lock:
            if self._fh is not None:
                self._sync_locked()
                self._fh.close()
                self._fh = None
            self._compact()

    def __enter__(self) -> "PredictionStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- reading: the one reader of prediction files and the one rule for their lines -------------------
#
# Table 1 (evaluation.grid), notebook 10 (evaluation.error_report) and `petool score` all read through
# here, so a failed request, a missing entry and a duplicate line count the same everywhere.

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


@dataclass(frozen=True)
class LineProblem:
    """A line that was skipped, and why; ``torn_tail`` marks an unterminated last line (a killed writer)."""

    file: str
    line: int
    problem: str
    torn_tail: bool = False

    def __str__(self) -> str:
        return f"{self.file}: line {self.line}: {self.problem}"


@dataclass
class PredictionLines:
    """One file read: its usable lines (``(line number, record)``, ``setting`` filled in), the skipped ones."""

    path: Path
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)
    n_lines: int = 0


def setting_files(pred_dir: str | os.PathLike[str]) -> list[Path]:
    """The ``<setting>.jsonl`` files of one model's predictions folder, in the paper's setting order."""
    pred_dir = Path(pred_dir)
    return [pred_dir / f"{s}.jsonl" for s in ALL_SETTINGS if (pred_dir / f"{s}.jsonl").is_file()]


def setting_from_name(path: str | os.PathLike[str]) -> str | None:
    """``.../chronological.jsonl`` -> ``chronological``; None when the stem is not a setting."""
    name = Path(path).name
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else Path(name).stem
    return stem if stem in ALL_SETTINGS else None


def _check_line(rec: Any, fallback: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """A record ready to use, or the reason it cannot be."""
    if not isinstance(rec, dict):
        return None, f"expected a JSON object {{entry_id, setting, response, ...}}, got a JSON {type(rec).__name__}"
    if "entry_id" not in rec:
        return None, "field 'entry_id': missing"
    try:
        canonical_id(rec["entry_id"])
    except ValueError as exc:
        return None, f"field 'entry_id': {exc}"
    setting = rec.get("setting") or fallback
    if setting is None:
        return None, ("field 'setting': missing, and the file name is not <setting>.jsonl "
                      f"(expected one of {', '.join(ALL_SETTINGS)})")
    if setting not in ALL_SETTINGS:
        return None, f"field 'setting': unknown setting {setting!r} (expected one of {', '.join(ALL_SETTINGS)})"
    if fallback is not None and rec.get("setting") not in (None, fallback):
        return None, f"field 'setting': {rec['setting']!r} in a file named {fallback}.jsonl"
    response = rec.get("response")
    if response is not None and not isinstance(response, str):
        return None, f"field 'response': expected text or null, got a JSON {type(response).__name__}"
    return {**rec, "setting": setting}, None


def read_prediction_lines(path: str | os.PathLike[str]) -> PredictionLines:
    """Read one predictions file line by line; never raises on its content.

    A line that is not JSON (torn by a killed writer, or corrupted), not UTF-8, or not a prediction
    record (no ``entry_id``, a ``response`` that is not text, an unknown ``setting``) is skipped and
    recorded with its line number. A file without a ``setting`` field takes it from its name
    (``ratings.jsonl``). A missing file is ``FileNotFoundError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    out = PredictionLines(path)
    fallback = setting_from_name(path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    last = len(lines) - 1 if lines and lines[-1] else -1  # index of an unterminated last line
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        out.n_lines += 1
        lineno = i + 1
        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.problems.append(LineProblem(str(path), lineno, f"not UTF-8 text (byte {exc.start} of the line)"))
            continue
        except (json.JSONDecodeError, RecursionError) as exc:
            torn = i == last
            why = "unterminated last line (a run killed while writing it)" if torn else "not valid JSON"
            detail = f" ({exc.msg} at column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            out.problems.append(LineProblem(str(path), lineno, why + detail, torn_tail=torn))
            continue
        rec, problem = _check_line(rec, fallback)
        if rec is None:
            out.problems.append(LineProblem(str(path), lineno, problem or "unusable"))
            continue
        out.records.append((lineno, rec))
    return out


@dataclass
class SettingAnswers:
    """One setting's lines after :func:`resolve_lines`: ``{entry id as text: record}``."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)

    def responses(self) -> dict[str, str | None]:
        """``{id: response text}`` for every entry with a line (None for a failed request)."""
        return {k: (None if is_failed(r) else r.get("response")) for k, r in self.records.items()}

    def failed(self) -> set[str]:
        """Ids whose request failed on every try (no successful line)."""
        return {k for k, r in self.records.items() if is_failed(r)}

    def errors(self) -> dict[str, str]:
        """``{id: error}`` of the failed entries."""
        return {k: str(r.get("error")) for k, r in self.records.items() if is_failed(r)}


@dataclass
class PredictionSet:
    """Prediction files read and resolved: per setting the standing line of each entry, plus every
    skipped line and every file that held no usable line."""

    settings: dict[str, SettingAnswers] = field(default_factory=dict)
    problems: list[LineProblem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    empty_files: list[Path] = field(default_factory=list)

    def ids(self) -> set[str]:
        return {k for a in self.settings.values() for k in a.records}

    def responses(self) -> dict[str, dict[str, str | None]]:
        """``{setting: {id: response text}}`` (None for a failed request)."""
        return {s: a.responses() for s, a in self.settings.items()}

    @property
    def bad_lines(self) -> list[LineProblem]:
        """Skipped lines other than an unterminated last line (which a killed run leaves by design)."""
        return [p for p in self.problems if not p.torn_tail]


def read_predictions(paths: Iterable[str | os.PathLike[str]]) -> PredictionSet:
    """The one reader: several prediction files (or folders of ``<setting>.jsonl``), resolved by
    :func:`resolve_lines` per setting and file, merged by setting.

    The same entry and setting answered in two *different* files is a :class:`DataError`: it almost
    always means two models' files were passed together. Bad lines are skipped and listed in
    ``problems``; they are never a traceback.
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files.extend(setting_files(p) if p.is_dir() else [p])
    out = PredictionSet(files=files)
    source: dict[tuple[str, str], Path] = {}
    for path in files:
        read = read_prediction_lines(path)
        out.problems.extend(read.problems)
        if not read.records:
            out.empty_files.append(path)
            continue
        by_setting: dict[str, list[dict[str, Any]]] = {}
        for _, rec in read.records:
            by_setting.setdefault(rec["setting"], []).append(rec)
        for setting, recs in by_setting.items():
            bucket = out.settings.setdefault(setting, SettingAnswers())
            for key, rec in resolve_lines(recs).items():
                prev = source.get((setting, key))
                if prev is not None and prev != path:
                    raise DataError(path, rec["entry_id"], "entry_id",
                                    f"setting {setting!r} already answered in {prev}; score one model's files at a time")
                source[(setting, key)] = path
                bucket.records[key] = rec
    order = {s: i for i, s in enumerate(ALL_SETTINGS)}
    out.settings = dict(sorted(out.settings.items(), key=lambda kv: order.get(kv[0], len(order))))
    return out


def read_resolved(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """One file as ``{entry id as text: the standing record}`` by the line rule (:func:`resolve_lines`),
    read without touching the file (no lock needed); bad lines skipped (see :func:`read_prediction_lines`),
    a missing file is empty."""
    return resolve_lines(rec for _, rec in read_prediction_lines(path).records) if Path(path).exists() else {}


load_predictions = read_resolved
"""The same reader under its older name."""


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
        return {k: redact(v, secrets) for k, v in obj.items() if not is_secret_name(k)}
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


def is_own_method(predictor_name: str) -> bool:
    """petool's ranker (``offline-ranker``, with or without a prior): our method, not a stand-in."""
    return predictor_name.startswith("offline-ranker")


def is_standin(predictor_name: str) -> bool:
    """An offline baseline (random, retrieval, history, popularity) or a stand-in model: labelled
    ``standin: true`` in its manifest. The ranker is not one (:func:`is_own_method`)."""
    return any(w in predictor_name for w in ("offline", "standin")) and not is_own_method(predictor_name)


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
        # An offline baseline or a stand-in model says so in every artifact it touches; petool's own
        # ranker is neither (it is the method, not a stand-in for one) and says that instead.
        "standin": is_standin(predictor_name),
        **({"method": "petool's own method (offline, no LLM)"} if is_own_method(predictor_name) else {}),
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
