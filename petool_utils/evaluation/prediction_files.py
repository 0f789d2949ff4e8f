"""Reading predictions back from run-store files for scoring.

A run-store file holds one JSON line per attempt, ``{entry_id, setting, response, latency_s, error}``;
a resumed or retried run appends, so the *last* line of an entry is its answer. A line with an
``error`` and no ``response`` is a request that failed: the entry has no response and scores 0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from petool_utils import ALL_SETTINGS
from petool_utils.benchmark.data import DataError
from petool_utils.io import iter_jsonl

Responses = dict[str, str | None]
"""``str(entry_id) -> raw response`` (None: the request failed)."""


def setting_files(pred_dir: Path) -> list[Path]:
    """The ``<setting>.jsonl`` files of one model's predictions folder, in the paper's setting order."""
    return [pred_dir / f"{s}.jsonl" for s in ALL_SETTINGS if (pred_dir / f"{s}.jsonl").is_file()]


def setting_from_name(path: Path) -> str | None:
    """``.../chronological.jsonl`` -> ``chronological``; None when the stem is not a setting."""
    stem = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.stem
    return stem if stem in ALL_SETTINGS else None


def read_prediction_file(path: str | os.PathLike[str]) -> dict[str, Responses]:
    """One file's answers by setting; within the file the last line per (setting, entry) wins.

    Bad lines raise :class:`DataError` naming the file, the line and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: predictions file not found")
    fallback = setting_from_name(path)
    out: dict[str, Responses] = {}
    for lineno, rec in enumerate(iter_jsonl(path), 1):
        where = f"line {lineno}"
        if not isinstance(rec, dict) or "entry_id" not in rec:
            raise DataError(path, where, "entry_id", "missing (expected {entry_id, setting, response, ...})")
        setting = rec.get("setting") or fallback
        if setting is None:
            raise DataError(path, rec["entry_id"], "setting",
                            "missing, and the file name is not <setting>.jsonl; "
                            f"expected one of {', '.join(ALL_SETTINGS)}")
        if setting not in ALL_SETTINGS:
            raise DataError(path, rec["entry_id"], "setting", f"unknown setting {setting!r}")
        response: Any = rec.get("response")
        if response is not None and not isinstance(response, str):
            raise DataError(path, rec["entry_id"], "response", f"expected text or null, got {type(response).__name__}")
        out.setdefault(setting, {})[str(rec["entry_id"])] = response
    return out


def read_prediction_files(paths: Iterable[str | os.PathLike[str]]) -> dict[str, Responses]:
    """Several files merged by setting (shards of one run). The same entry and setting answered in two
    different files is an error: it usually means two models' files were passed together."""
    merged: dict[str, Responses] = {}
    source: dict[tuple[str, str], Path] = {}
    for p in paths:
        p = Path(p)
        for setting, answers in read_prediction_file(p).items():
            bucket = merged.setdefault(setting, {})
            for eid, resp in answers.items():
                prev = source.get((setting, eid))
                if prev is not None and prev != p:
                    raise DataError(p, eid, "entry_id",
                                    f"setting {setting!r} already answered in {prev}; score one model's files at a time")
                source[(setting, eid)] = p
                bucket[eid] = resp
    return merged
