"""What a training run learns from, and the refusal to learn from the test split by accident.

The released PEToolBench data that the kit evaluates on is the TEST split. An adapter trained on it and
then scored in notebook 07 would be scored on its own training data, so training never falls back to it.
The sources, in order:

1. ``train_data``: a benchmark in the release layout (file or folder), or the released LLaMA-Factory
   training files ``user_entries_sft_{p,r,c}.json`` / ``user_entries_dpo_{p,r,c}.json`` that
   ``petool download`` fetches (alpaca layout: ``instruction`` = the setting's prompt, ``input`` = the
   query, ``output`` or ``chosen``/``rejected`` = calls), or a folder holding them;
2. ``<run_dir>/benchmark/train.json``, the train split the construction notebooks (01-05) write;
3. the released data (``data``) only with ``allow_test_data: true``, and only for the tiny stand-in
   (a pipeline demo): every artifact of such a run says it was trained on the test split.

Anything else is a :class:`TrainingDataError` that names these options.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from petool_utils.benchmark.data import DataError, Entry, SETTING_FILE_SUFFIX, load_benchmark, load_entries, parse_entry, split_prompt
from petool_utils.benchmark.locate import locate_benchmark, missing_input_hint
from petool_utils.benchmark.prompts import HISTORY_DESCRIPTIONS, entry_messages
from petool_utils.io import read_json
from petool_utils.training.records import assistant, shorten_entries

CONSTRUCTED = "constructed"
TRAIN_DATA = "train_data"
RELEASED_TEST = "released_test"
TEST_DATA_LABEL = "trained on the released TEST split: pipeline demo only"
RELEASED_PAIRS = "released"


class TrainingDataError(ValueError):
    """No train split to learn from (or one that is not allowed)."""


@dataclass
class TrainingData:
    """The entries (and, for the released DPO files, the authors' pairs) and where they came from."""

    entries: list[Entry]
    source: str
    path: str
    pairs: list[dict[str, Any]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def on_test_data(self) -> bool:
        return self.source == RELEASED_TEST

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "path": self.path, "entries": len(self.entries),
                **({"released_pairs": len(self.pairs)} if self.pairs is not None else {}),
                **({"label": TEST_DATA_LABEL} if self.on_test_data else {})}


def refusal(run_dir: str | os.PathLike[str], kind: str) -> TrainingDataError:
    section = "08_sft_qlora.sft" if kind == "sft" else "09_dpo.dpo"
    released = "user_entries_sft_{p,r,c}.json" if kind == "sft" else "user_entries_dpo_{p,r,c}.json"
    train = Path(run_dir) / "benchmark" / "train.json"
    return TrainingDataError(
        f"{kind.upper()}: no train split. {train} not found ({missing_input_hint(train)}) and no "
        "train_data is given; the released PEToolBench entries are the TEST split, and an adapter trained on "
        "them would be scored on its own training data in notebook 07, so petool will not train on them. "
        "Options: (1) build a train split with the construction notebooks 01-05 (`petool run --profile ...` "
        "writes <run_dir>/benchmark/train.json); (2) set train_data: PATH (in params."
        f"{section}, or `petool train {kind} ... --train-data PATH`), e.g. the released {released} that "
        "`petool download` fetches, or any benchmark file in the release layout; (3) for the tiny stand-in "
        "demo only: allow_test_data: true (its outputs are labelled as trained on the test split)."
    )


def setting_of(instruction: str) -> str:
    """The setting whose history description a prompt carries (the longest description first, since the
    preferred-only one is a prefix of the others)."""
    for s, desc in sorted(HISTORY_DESCRIPTIONS.items(), key=lambda kv: -len(kv[1])):
        if desc in instruction:
            return s
    raise ValueError("no setting's history description in the prompt")


def _call(value: Any, file: Path, rid: str, field_name: str) -> dict[str, Any]:
    try:
        call = json.loads(value) if isinstance(value, str) else value
        if not isinstance(call, dict) or "tool_name" not in call:
            raise ValueError("no tool_name")
        return {"tool_name": call["tool_name"], "parameters": call.get("parameters") or {}}
    except (ValueError, TypeError) as exc:
        raise DataError(file, rid, field_name, f"not a one-line JSON tool call ({exc})") from exc


def _setting_from_name(path: Path) -> str | None:
    stem = path.name.split(".")[0]
    for s, c in SETTING_FILE_SUFFIX.items():
        if stem.endswith(f"_{c}"):
            return s
    return None


def read_alpaca(path: str | os.PathLike[str]) -> tuple[list[Entry], list[dict[str, Any]] | None]:
    """A released LLaMA-Factory file as entries (one setting each) and, for a DPO file, its pairs.

    Each record becomes an entry whose history and candidates are parsed from its prompt, so it can be
    fitted by dropping history like any other; the reference call is ``output`` (SFT) or ``chosen`` (DPO).
    The functionality group is not in this layout, so DPO pairs cannot be re-derived from it: the
    authors' own pairs are used as they are (source ``released``).
    """

    file = Path(path)
    rows = read_json(file)
    if not isinstance(rows, list):
        raise DataError(file, "-", "<root>", "expected a JSON list of records")
    by_name = _setting_from_name(file)
    entries: list[Entry] = []
    pairs: list[dict[str, Any]] = []
    is_dpo = bool(rows) and isinstance(rows[0], dict) and "chosen" in rows[0]
    for i, r in enumerate(rows):
        rid = f"{file.name}#{i}"
        if not isinstance(r, dict) or "instruction" not in r:
            raise DataError(file, rid, "instruction", "missing (expected the alpaca layout of the released training files)")
        try:
            setting = by_name or setting_of(r["instruction"])
            _, _, cands, _ = split_prompt(r["instruction"])
        except ValueError as exc:
            raise DataError(file, rid, "instruction", f"not a PEToolBench prompt ({exc})") from exc
        ref = _call(r["chosen"] if is_dpo else r.get("output"), file, rid, "chosen" if is_dpo else "output")
        entry = parse_entry({"entry_id": rid, "query": r.get("input", ""), f"instruction_{setting}": r["instruction"],
                             "apis_candidate": cands, "api_call_ground_truth": ref}, file, i, settings=(setting,))
        entries.append(entry)
        if is_dpo:
            rejected = _call(r["rejected"], file, rid, "rejected")
            pairs.append({"entry_id": rid, "setting": setting, "prompt": entry_messages(entry, setting),
                          "chosen": assistant(json.dumps(ref, ensure_ascii=False)),
                          "rejected": assistant(json.dumps(rejected, ensure_ascii=False)),
                          "chosen_source": RELEASED_PAIRS, "rejected_source": RELEASED_PAIRS})
    return entries, (pairs if is_dpo else None)


def _is_alpaca(path: Path) -> bool:

    rows = read_json(path)
    return isinstance(rows, list) and bool(rows) and isinstance(rows[0], dict) and "instruction" in rows[0] \
        and "apis_candidate" not in rows[0]


def read_train_data(path: str | os.PathLike[str], kind: str) -> tuple[list[Entry], list[dict[str, Any]] | None]:
    """``train_data``: the released training files (a folder holding them, or one of them), a
    ``train.json`` folder, or any benchmark in the release layout."""
    p = Path(path)
    if not p.exists():
        raise TrainingDataError(f"train_data {str(path)!r}: no such file or folder ({missing_input_hint(p)})")
    if p.is_dir():
        released = sorted(p.glob(f"user_entries_{kind}_[prc].json"))
        if released:
            files = released
        elif (p / "train.json").exists():
            return load_entries(p / "train.json"), None
        else:
            return load_benchmark(p), None
    else:
        if not _is_alpaca(p):
            return load_entries(p), None
        files = [p]
    entries: list[Entry] = []
    pairs: list[dict[str, Any]] | None = None
    for f in files:
        e, pr = read_alpaca(f)
        entries.extend(e)
        if pr is not None:
            pairs = (pairs or []) + pr
    return entries, pairs


def resolve_training_data(params: Any, *, tiny: bool) -> TrainingData:
    """The training entries of a run (see the module docstring), before slicing and shortening."""

    constructed = Path(params.run_dir) / "benchmark" / "train.json"
    if params.train_data:
        entries, pairs = read_train_data(params.train_data, params.kind)
        return TrainingData(entries, TRAIN_DATA, str(params.train_data), pairs)
    if constructed.exists():
        return TrainingData(load_entries(constructed), CONSTRUCTED, str(constructed))
    if not params.allow_test_data:
        raise refusal(params.run_dir, params.kind)
    if not tiny:
        raise TrainingDataError(
            f"{params.kind.upper()}: allow_test_data is for the tiny stand-in demo only (base_model: tiny); "
            f"a real model must train on a train split. {refusal(params.run_dir, params.kind)}")
    data = locate_benchmark(params.data)  # the one search order
    return TrainingData(load_benchmark(data), RELEASED_TEST, str(data))


def interleave_settings(entries: Sequence[Entry]) -> list[Entry]:
    """One-setting entries (the released per-setting files, read one file after the other) in turn by
    setting: p0, r0, c0, p1, r1, c1, ... So ``limit`` / ``max_records`` take the three settings in equal
    shares; read in file order, ``limit: 60`` gave 60 preferred records and none of the others.

    Entries that carry several settings (a test entry, a constructed split) keep their order: each of
    them gives a record in every setting anyway.
    """
    queues: dict[str, list[Entry]] = {}
    multi: list[Entry] = []
    for e in entries:
        if len(e.histories) == 1:
            queues.setdefault(next(iter(e.histories)), []).append(e)
        else:
            multi.append(e)
    if not queues:
        return list(entries)
    out: list[Entry] = list(multi)
    lanes = list(queues.values())
    for i in range(max(len(q) for q in lanes)):
        out.extend(q[i] for q in lanes if i < len(q))
    return out


def select(entries: Sequence[Entry], params: Any) -> list[Entry]:
    """Settings in turn (:func:`interleave_settings`), then the ``offset``/``limit`` slice, then
    ``max_history``/``max_candidates`` shortening."""

    end = None if params.limit is None else params.offset + params.limit
    ordered = interleave_settings(entries)
    return shorten_entries(ordered[params.offset: end], params.max_history, params.max_candidates, params.seed)
