"""The evaluation prompts, rendered byte for byte as the release has them, from the authors' own templates.

``FORMAT_ENTRY_INPUT`` and ``FORMAT_ENTRY_INPUT_WO_HISTORY`` (the no-history ablation) and the three history
descriptions are copied verbatim from the authors' ``prompts/prompt_template.py`` (travis-xu/PEToolBench);
a test checks them against ``official_templates.json`` and every dev-slice entry against its released prompt.
The history and candidate blocks are ``json.dumps`` of the records with ``ensure_ascii=False``, as released.
"""

from __future__ import annotations

import json
from typing import Sequence

from petool_utils.benchmark.data import CandidateTool, Entry, HistoryItem

FORMAT_ENTRY_INPUT = "\nYour task is to use a tool that not only meets real-time user instructions but also aligns with user preferences.\n{history_description}\nInteraction history is:\n{interaction_history}\n\nAvailable tools you can call with input parameters are listed here:\n{apis_candidate}\n\nGenerate your tool call in the following format:\n{{\"tool_name\": the tool's name, \"parameters\": input parameters in JSON string format on a single line}}\nExample output #1:\n{{\"tool_name\": \"<Search>.<Arxiv Search>.<Get Arxiv Article Information>\", \"parameters\": {{\"query\": \"machine learning\", \"sort_by\": \"date\", \"limit\": 3}}\nExample output #2:\n{{\"tool_name\": \"<Travel>.<flight | flight aggregator>.<flight>\", \"parameters\": {{}}}}\n\nRemember:\nGenerate only the tool call in JSON format without any additional outputs.\nYou will now receive a user instruction; please generate the tool call. \nBegin!\n\n"

FORMAT_ENTRY_INPUT_WO_HISTORY = "\nYour task is to use a tool that meets real-time user instructions.\nAvailable tools you can call with input parameters are listed here:\n{apis_candidate}\n\nGenerate your tool call in the following format:\n{{\"tool_name\": the tool's name, \"parameters\": input parameters in JSON string format on a single line}}\nExample output #1:\n{{\"tool_name\": \"<Search>.<Arxiv Search>.<Get Arxiv Article Information>\", \"parameters\": {{\"query\": \"machine learning\", \"sort_by\": \"date\", \"limit\": 3}}\nExample output #2:\n{{\"tool_name\": \"<Travel>.<flight | flight aggregator>.<flight>\", \"parameters\": {{}}}}\n\nRemember:\nGenerate only the tool call in JSON format without any additional outputs.\nYou will now receive a user instruction; please generate the tool call. \nBegin!\n\n"

HISTORY_DESCRIPTIONS = {
    "preferred": "These preferences can be inferred from the user's interaction history provided below, including past user instructions and corresponding tool calls.",
    "ratings": "These preferences can be inferred from the user's interaction history provided below, including past user instructions and corresponding tool calls, with user's binary ratings reflecting the user's satisfaction with the tool calls.",
    "chronological": "These preferences can be inferred from the user's interaction history provided below, including past user instructions and corresponding tool calls, which are in chronological order where user is more preferred with latter tool calls than earlier ones.",
}


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


def render_prompt(setting: str, history: Sequence[HistoryItem], candidates: Sequence[CandidateTool]) -> str:
    """A setting's system prompt from its parts; ``setting='none'`` gives the authors' no-history prompt."""
    if setting == "none":
        return FORMAT_ENTRY_INPUT_WO_HISTORY.format(apis_candidate=candidates_json(candidates))
    if setting not in HISTORY_DESCRIPTIONS:
        raise ValueError(f"unknown setting {setting!r}; expected preferred, ratings, chronological or none")
    return FORMAT_ENTRY_INPUT.format(history_description=HISTORY_DESCRIPTIONS[setting],
                                     interaction_history=history_json(history, setting),
                                     apis_candidate=candidates_json(candidates))


def trim_descriptions(candidates: Sequence[CandidateTool], cap: int) -> list[CandidateTool]:
    """Copies of the candidates with every description (the tool's and each parameter's) cut to ``cap``
    characters; names, parameter names and types stay whole. The last resort of prompt fitting
    (``predictors.llm.entry_request``), applied to every candidate alike: cutting only the tools outside
    the reference's group would mark the group in the prompt (whole descriptions against cut ones), a
    cue that evaluation, which has no reference, could not give."""
    out = []
    for c in candidates:
        t = c.model_copy(deep=True)
        t.tool_description = t.tool_description[:cap]
        for param in (*t.required_parameters, *t.optional_parameters):
            if param.description is not None:
                param.description = param.description[:cap]
        out.append(t)
    return out


def entry_prompt(entry: Entry, setting: str, history: Sequence[HistoryItem] | None = None,
                 candidates: Sequence[CandidateTool] | None = None) -> str:
    """The system prompt for an entry (``history`` / ``candidates`` override the entry's own, e.g. when
    fitting a prompt into a budget)."""
    hist = entry.history(setting) if history is None else history
    return render_prompt(setting, hist, entry.candidates if candidates is None else candidates)


SYSTEM_USER = "system_user"
USER_ONLY = "user_only"
LAYOUTS = (SYSTEM_USER, USER_ONLY)


def apply_layout(messages: list[dict[str, str]], layout: str = SYSTEM_USER) -> list[dict[str, str]]:
    """The prompt's messages in a training layout. ``system_user`` (petool's default, the evaluation
    layout): system = the setting's prompt, user = the query. ``user_only`` (the authors' training
    layout): LLaMA-Factory's alpaca converter joins ``instruction`` (the setting's prompt) and ``input``
    (the query) with a newline into ONE user turn, with no system prompt of the dataset's own (the chat
    template may still add its default one)."""
    if layout == SYSTEM_USER:
        return list(messages)
    if layout != USER_ONLY:
        raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
    if not messages or messages[0]["role"] != "system":
        return list(messages)
    system, rest = messages[0]["content"], messages[1:]
    if rest and rest[0]["role"] == "user":
        return [{"role": "user", "content": "\n".join(x for x in (system, rest[0]["content"]) if x)}, *rest[1:]]
    return [{"role": "user", "content": system}, *rest]


def entry_messages(entry: Entry, setting: str, history: Sequence[HistoryItem] | None = None,
                   candidates: Sequence[CandidateTool] | None = None) -> list[dict[str, str]]:
    """The authors' message layout: system = the setting's prompt, user = the query."""
    return [
        {"role": "system", "content": entry_prompt(entry, setting, history, candidates)},
        {"role": "user", "content": entry.query},
    ]
