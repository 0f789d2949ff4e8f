"""The one reader of prediction files: what Table 1 (:mod:`.grid`), notebook 10 (:mod:`.error_report`),
``petool score`` and the ranker audit read, so a failed request, a missing entry and a duplicate line
count the same everywhere. The line rule itself is :func:`petool_utils.evaluation.store.resolve_lines`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import DataError, canonical_id
from petool_utils.benchmark.locate import require_input
from petool_utils.evaluation.store import is_failed, resolve_lines

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
    path = require_input(path)
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
