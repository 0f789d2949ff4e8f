"""Training records from any benchmark in the release's record layout.

SFT records are TRL's conversational prompt/completion layout: the prompt is exactly what the model
sees at evaluation time (system = the setting's prompt, user = the query, via
:func:`petool_utils.benchmark.prompts.entry_messages`), the completion is the reference call, so TRL masks the
prompt and the loss falls on the call only. DPO records share that prompt and carry chosen/rejected
assistant messages.

Records longer than ``max_length`` are fitted, not dropped: :func:`fit_records` drops their OLDEST
history items with the one fitting rule that evaluation uses (``models.context.fit_history`` through
``predictors.llm.entry_request``), keeping room for the answer, and counts what it shortened.

``shorten_entry`` exists for small models: it cuts the history and the candidate list (always keeping
the reference tool and its functionality group) and re-renders the prompts, so the shortened entry is
itself a valid benchmark entry and evaluation sees the same prompt the model was trained on.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, ToolCall
from petool_utils.benchmark.prompts import candidates_json, entry_messages, render_prompt, apply_layout
from petool_utils.models.context import fit_history
from petool_utils.predictors.llm import entry_request


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


def trainer_rows(records: Sequence[dict[str, Any]], columns: Sequence[str], layout: str = "system_user") -> list[dict[str, Any]]:
    """Only the columns TRL reads (bookkeeping fields would otherwise reach the collator), the prompt in
    the training ``layout`` (``benchmark.prompts.apply_layout``; the records files keep the evaluation
    layout)."""

    return [{c: (apply_layout(r[c], layout) if c == "prompt" else r[c]) for c in columns} for r in records]


def entry_settings(entry: Entry, settings: Sequence[str]) -> list[str]:
    """The training settings this entry has a prompt for (a released per-setting record has one)."""
    return [s for s in settings if s in entry.histories]


def training_sft_records(entries: Sequence[Entry], settings: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`sft_record` for every (entry, setting) the entry has, entry-major."""
    return [sft_record(e, s) for e in entries for s in entry_settings(e, settings)]


def chat_token_counter(tok: Any, layout: str = "system_user") -> Callable[[list[dict[str, str]]], int]:
    """Tokens of a conversation as the trainer sees it: in ``layout``, the tokenizer's chat template,
    special tokens in."""

    return lambda messages: len(tok.apply_chat_template(apply_layout(messages, layout), tokenize=True, return_dict=False))


def char_proxy_counter(chars_per_token: float = 4.0) -> Callable[[list[dict[str, str]]], int]:
    """A tokenizer-free proxy (characters / 4, as issue 14 measured): where no Llama tokenizer is at hand."""
    return lambda messages: int(sum(len(m["content"]) for m in messages) / chars_per_token + 0.999)


@dataclass
class FitReport:
    """What fitting did to a set of records: how many were shortened (and by how many history items in
    all), and how many were dropped because even an empty history leaves them over ``max_length``."""

    records: int = 0
    kept: int = 0
    shortened: int = 0
    history_items_dropped: int = 0
    descriptions_trimmed: int = 0
    dropped_over_limit: int = 0

    @property
    def shortened_share(self) -> float:
        return self.shortened / self.records if self.records else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "shortened_share": round(self.shortened_share, 4)}


def fit_records(records: Sequence[dict[str, Any]], entries: Mapping[Any, Entry] | Sequence[Entry],
                count: Callable[[list[dict[str, str]]], int], max_length: int,
                answer_keys: Sequence[str], prompt_count: Callable[[list[dict[str, str]]], int] | None = None,
                answer_tokens: int = 0) -> tuple[list[dict[str, Any]], FitReport]:
    """Fit every record the way evaluation fits a prompt: drop the OLDEST history items
    (:func:`petool_utils.models.context.fit_history`, the one rule), never the query, the candidates or
    the answer.

    Two budgets, both met: the whole conversation (``count`` of prompt plus the longest answer) within
    ``max_length``, and, with ``prompt_count`` (the hf backend's own count,
    ``hf_backend.prompt_token_counter``), the prompt within ``max_length - answer_tokens``: the budget DPO
    sampling and evaluation fit the same prompt into (``config.prompt_budget``). An answer shorter than
    ``answer_tokens`` (every call, nearly) then leaves the prompt exactly as evaluation will see it.

    A fitted record carries the shortened prompt, ``history_dropped`` and ``description_cap``: a record
    still too long with no history has every candidate description cut (``DESCRIPTION_CAPS``, counted
    as ``descriptions_trimmed``). Only a record too long even then is dropped (and counted): cutting it
    anywhere else would cut the candidates' names and parameters, or the call. ``entries`` (by id) re-render the prompt; a record whose entry is unknown can
    only be kept whole or dropped.
    """

    by_id = entries if isinstance(entries, Mapping) else {e.entry_id: e for e in entries}
    report = FitReport(records=len(records))
    kept: list[dict[str, Any]] = []
    for r in records:
        answers = [r[k] for k in answer_keys]
        entry = by_id.get(r["entry_id"])
        if entry is not None and r["setting"] in entry.histories:
            req = entry_request(entry, r["setting"], {})
            shrink, max_drop, describe = req.shrink, req.max_drop, req.describe
        else:
            shrink, max_drop, describe = None, 0, (lambda k: {"history_dropped": k, "description_cap": None})
        prompt = r["prompt"]

        def tokens(msgs: list[dict[str, str]]) -> int:
            whole = max(count(msgs + a) for a in answers)
            return whole if prompt_count is None else max(whole, prompt_count(msgs) + answer_tokens)

        fitted = fit_history(lambda k: shrink(k) if k else prompt, tokens, max_drop, max_length)
        if fitted.over_limit:
            report.dropped_over_limit += 1
            continue
        report.kept += 1
        steps = describe(fitted.dropped)
        if fitted.dropped:
            report.shortened += 1
            report.history_items_dropped += steps["history_dropped"]
            report.descriptions_trimmed += steps["description_cap"] is not None
        kept.append({**r, "prompt": fitted.value, **steps})
    return kept, report
