"""The evaluation prompts, rendered from typed records byte for byte as the release has them.

The texts below are the released ones; a test checks every dev-slice entry in all three settings.
"""

from __future__ import annotations

import json
from typing import Sequence

from petool_utils.benchmark.data import CANDIDATES_MARK, CandidateTool, Entry, HistoryItem

_OPENING = "\nYour task is to use a tool that not only meets real-time user instructions but also aligns with user preferences.\n"
_HISTORY_BASE = (
    "These preferences can be inferred from the user's interaction history provided below, "
    "including past user instructions and corresponding tool calls"
)
HISTORY_DESCRIPTIONS = {
    "preferred": _HISTORY_BASE + ".\n",
    "ratings": _HISTORY_BASE
    + ", with user's binary ratings reflecting the user's satisfaction with the tool calls.\n",
    "chronological": _HISTORY_BASE
    + ", which are in chronological order where user is more preferred with latter tool calls than earlier ones.\n",
}
HISTORY_INTRO = "Interaction history is:\n"
# The released opening sentence cut at "meets real-time user instructions." (the paper's ablation).
NO_HISTORY_OPENING = "\nYour task is to use a tool that not only meets real-time user instructions.\n"
CANDIDATES_INTRO_NO_HISTORY = "Available tools you can call with input parameters are listed here:\n"

FORMAT_TAIL = (
    "\n\nGenerate your tool call in the following format:\n"
    '{"tool_name": the tool\'s name, "parameters": input parameters in JSON string format on a single line}\n'
    "Example output #1:\n"
    '{"tool_name": "<Search>.<Arxiv Search>.<Get Arxiv Article Information>", "parameters": {"query": "machine learning", "sort_by": "date", "limit": 3}\n'
    "Example output #2:\n"
    '{"tool_name": "<Travel>.<flight | flight aggregator>.<flight>", "parameters": {}}\n\n'
    "Remember:\n"
    "Generate only the tool call in JSON format without any additional outputs.\n"
    "You will now receive a user instruction; please generate the tool call. \n"
    "Begin!\n\n"
)


def _dump(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def history_json(items: Sequence[HistoryItem], setting: str) -> str:
    """The history block: ``rating`` kept only in the rating-integrated setting."""
    rows = []
    for it in items:
        row = it.model_dump(mode="json", exclude_unset=True)
        if setting != "ratings":
            row.pop("rating", None)
        rows.append(row)
    return _dump(rows)


def candidates_json(cands: Sequence[CandidateTool]) -> str:
    return _dump([c.model_dump(mode="json", exclude_unset=True) for c in cands])


def render_prompt(
    setting: str,
    history: Sequence[HistoryItem],
    candidates: Sequence[CandidateTool],
) -> str:
    """A setting's system prompt from its parts; ``setting='none'`` gives the paper's no-history ablation.

    The no-history prompt is the same prompt with the history description and block removed and the
    opening sentence ending at "meets real-time user instructions.".
    """
    if setting == "none":
        return NO_HISTORY_OPENING + CANDIDATES_INTRO_NO_HISTORY + candidates_json(candidates) + FORMAT_TAIL
    if setting not in HISTORY_DESCRIPTIONS:
        raise ValueError(f"unknown setting {setting!r}; expected preferred, ratings, chronological or none")
    return (
        _OPENING
        + HISTORY_DESCRIPTIONS[setting]
        + HISTORY_INTRO
        + history_json(history, setting)
        + CANDIDATES_MARK
        + candidates_json(candidates)
        + FORMAT_TAIL
    )


def entry_prompt(entry: Entry, setting: str, history: Sequence[HistoryItem] | None = None) -> str:
    """The system prompt for an entry (``history`` overrides the entry's own, e.g. when truncating)."""
    hist = entry.history(setting) if history is None else history
    return render_prompt(setting, hist, entry.candidates)


def entry_messages(entry: Entry, setting: str, history: Sequence[HistoryItem] | None = None) -> list[dict[str, str]]:
    """The authors' message layout: system = the setting's prompt, user = the query."""
    return [
        {"role": "system", "content": entry_prompt(entry, setting, history)},
        {"role": "user", "content": entry.query},
    ]
