"""Training records from any benchmark in the release's record layout.

SFT records are TRL's conversational prompt/completion layout: the prompt is exactly what the model
sees at evaluation time (system = the setting's prompt, user = the query, via
:func:`petool_utils.benchmark.prompts.entry_messages`), the completion is the reference call, so TRL masks the
prompt and the loss falls on the call only. DPO records share that prompt and carry chosen/rejected
assistant messages.

``shorten_entry`` exists for small models: it cuts the history and the candidate list (always keeping
the reference tool and its functionality group) and re-renders the prompts, so the shortened entry is
itself a valid benchmark entry and evaluation sees the same prompt the model was trained on.
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, ToolCall
from petool_utils.benchmark.prompts import candidates_json, entry_messages, render_prompt


def shorten_entry(entry: Entry, max_history: int | None = None, max_candidates: int | None = None, seed: int = 0) -> Entry:
    """A copy of ``entry`` with at most ``max_history`` past interactions (the most recent ones) and at
    most ``max_candidates`` candidates, prompts re-rendered. ``None`` keeps everything.

    The reference tool and the other tools of its functionality group are always kept, so the
    personalised choice is still there to make; the other candidates kept are drawn with ``seed``.
    """
    def cut(items: list) -> list:
        if max_history is None:
            return list(items)
        return list(items[-max_history:]) if max_history > 0 else []

    histories = {s: cut(items) for s, items in entry.histories.items()}
    cands = list(entry.candidates)
    if max_candidates is not None and len(cands) > max_candidates:
        must = {entry.reference.tool_name, *entry.same_func_names}
        keep = {c.tool_name for c in cands if c.tool_name in must}
        others = [c.tool_name for c in cands if c.tool_name not in keep]
        rng = random.Random(f"{seed}:{entry.entry_id}")
        rng.shuffle(others)
        keep.update(others[: max(0, max_candidates - len(keep))])
        cands = [c for c in cands if c.tool_name in keep]  # original order kept
    short = entry.model_copy(deep=True)
    short.histories = histories
    short.candidates = cands
    short.apis_candidate = candidates_json(cands)
    for s in SETTINGS:
        if getattr(entry, f"instruction_{s}", None) is not None and s in histories:
            setattr(short, f"instruction_{s}", render_prompt(s, histories[s], cands))
    if entry.history_length is not None and max_history is not None:
        short.history_length = min(entry.history_length, max_history)
    return short


def shorten_entries(entries: Iterable[Entry], max_history: int | None, max_candidates: int | None, seed: int = 0) -> list[Entry]:
    return [shorten_entry(e, max_history, max_candidates, seed) for e in entries]


def assistant(content: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": content}]


def sft_record(entry: Entry, setting: str) -> dict[str, Any]:
    """One prompt/completion record; ``entry_id`` and ``setting`` ride along for bookkeeping."""
    return {
        "entry_id": entry.entry_id,
        "setting": setting,
        "prompt": entry_messages(entry, setting),
        "completion": assistant(entry.reference.to_json()),
    }


def sft_records(entries: Sequence[Entry], settings: Sequence[str] = SETTINGS) -> list[dict[str, Any]]:
    """SFT records for every entry in every setting (entry-major order, deterministic)."""
    return [sft_record(e, s) for e in entries for s in settings]


def dpo_record(entry: Entry, setting: str, chosen: ToolCall, rejected: ToolCall, sources: dict[str, str]) -> dict[str, Any]:
    """A conversational DPO pair; calls are written in the one-line format the prompt asks for."""
    return {
        "entry_id": entry.entry_id,
        "setting": setting,
        "prompt": entry_messages(entry, setting),
        "chosen": assistant(chosen.to_json()),
        "rejected": assistant(rejected.to_json()),
        "chosen_source": sources["chosen"],
        "rejected_source": sources["rejected"],
    }


def tokenizer_corpus(entries: Sequence[Entry], settings: Sequence[str] = SETTINGS) -> list[str]:
    """The text a tiny model's tokenizer is trained on: every prompt, query and reference call."""
    texts: list[str] = []
    for e in entries:
        for s in settings:
            texts.extend(m["content"] for m in entry_messages(e, s))
        texts.append(e.reference.to_json())
    return texts


TRAINER_COLUMNS_SFT = ("prompt", "completion")
TRAINER_COLUMNS_DPO = ("prompt", "chosen", "rejected")


def trainer_rows(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """Only the columns TRL reads (bookkeeping fields would otherwise reach the collator)."""
    return [{c: r[c] for c in columns} for r in records]


def load_training_entries(params: Any, run_dir: str | None = None) -> list[Entry]:
    """The entries a training run uses (see ``config.DataParams``), shortened as configured.

    Resolution: ``train_data`` if given; else ``<run_dir>/benchmark/train.json`` (what the
    construction notebooks write) if it exists; else the released data (``data``: file, folder,
    ``PETOOL_DATA_DIR`` or ../shared/petoolbench). Then ``offset``/``limit`` slice it.
    """
    from pathlib import Path

    from petool_utils.benchmark.data import load_benchmark, load_entries
    from petool_utils.paths import shared_petoolbench_dir

    if params.train_data:
        entries = load_benchmark(params.train_data)
    elif run_dir and (Path(run_dir) / "benchmark" / "train.json").exists():
        entries = load_entries(Path(run_dir) / "benchmark" / "train.json")
    else:
        data = params.data
        if data is None and shared_petoolbench_dir() is not None:
            data = shared_petoolbench_dir()
        entries = load_benchmark(data)
    end = None if params.limit is None else params.offset + params.limit
    entries = entries[params.offset : end]
    return shorten_entries(entries, params.max_history, params.max_candidates, getattr(params, "seed", 0))


def token_length(tok: Any, messages: list[dict[str, str]]) -> int:
    return len(tok.apply_chat_template(messages, tokenize=True, return_dict=False))


def fit_records(records: Sequence[dict[str, Any]], tok: Any, max_length: int, answer_keys: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split records into those whose prompt + longest answer fits ``max_length`` tokens and the rest.

    Over-long records are dropped rather than truncated: the trainer truncates on the right, which
    would cut away the call, the only part that carries loss.
    """
    kept, dropped = [], []
    for r in records:
        n = max(token_length(tok, r["prompt"] + r[k]) for k in answer_keys)
        (kept if n <= max_length else dropped).append(r)
    return kept, dropped
