"""Stage 05a: interaction histories in the three types and new instructions, with counted filters.

Every LLM item is checked before it is used; an item that fails is dropped under a named reason
(``FILTER_REASONS``) and counted, never silently. The checks are the ones a real model needs:
replies that are not JSON even after the retry, tools that do not exist, parameters outside the
tool's schema (or required ones missing), the tool's name leaked into the instruction, repeats, and
in the rating-integrated type a rating that contradicts the user's preference.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field
from tqdm.auto import tqdm

from petool_utils import SETTINGS
from petool_utils.construction.llm_calls import run_task
from petool_utils.construction.preferences import UserPreference
from petool_utils.construction.understanding import UnderstoodTool
from petool_utils.benchmark.data import split_api_name
from petool_utils.models.base import ChatLLM

FILTER_REASONS = ("invalid_json", "malformed_item", "unknown_tool", "invalid_parameters", "tool_name_leaked",
                  "duplicate", "inconsistent_rating")


class Item(BaseModel):
    """One accepted history item (``rating`` set only in the rating-integrated type)."""

    group: str
    instruction: str
    tool_name: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    rating: int | None = None


class UserData(BaseModel):
    """A user's accepted histories per setting (final order) and new instructions per group."""

    user_id: str
    histories: dict[str, list[Item]]
    queries: list[Item]


def tool_payload(t: UnderstoodTool) -> dict[str, Any]:
    return {
        "full_name": t.full_name,
        "functionality": t.functionality,
        "required_parameters": [p.model_dump(mode="json") for p in t.required_parameters],
        "optional_parameters": [p.model_dump(mode="json") for p in t.optional_parameters],
        "example": t.example.model_dump(mode="json"),
    }


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().casefold())


def check_call(tool_name: Any, params: Any, allowed: Mapping[str, UnderstoodTool]) -> str | None:
    """Why a call is invalid for the allowed tools, or None."""
    if not isinstance(tool_name, str) or tool_name not in allowed:
        return "unknown_tool"
    if not isinstance(params, dict):
        return "invalid_parameters"
    t = allowed[tool_name]
    names = {p.name for p in t.required_parameters} | {p.name for p in t.optional_parameters}
    if any(k not in names for k in params) or any(p.name not in params for p in t.required_parameters):
        return "invalid_parameters"
    return None


def leaked(instruction: str, tools: Sequence[str]) -> bool:
    """True when an instruction names one of the tools (the ``<Tool>`` part, case-insensitive)."""
    text = _norm(instruction)
    return any(len(tool) >= 3 and _norm(tool) in text for tool in {split_api_name(n)[1].strip() for n in tools})


class ItemFilter:
    """Accepts or rejects raw items; counts per reason."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter({r: 0 for r in FILTER_REASONS})
        self.n_seen = 0
        self.n_kept = 0
        self.json_retries = 0

    def reply(self, res: Any) -> bool:
        """Record an LLM reply (its retries; a reply never valid counts as ``invalid_json``); True if usable."""
        self.json_retries += res.attempts - 1
        if not res.ok:
            self.counts["invalid_json"] += 1
        return res.ok

    def accept(self, raw: Any, group: str, allowed: Mapping[str, UnderstoodTool], seen: set[str],
               preferred: str, with_rating: bool, default_tool: str | None = None,
               leak_tools: Sequence[str] | None = None) -> Item | None:
        """The item if it passes every check (and remember its instruction in ``seen``), else None."""
        self.n_seen += 1
        names = list(allowed) if leak_tools is None else list(leak_tools)
        reason, item = self._check(raw, group, allowed, seen, preferred, with_rating, default_tool, names)
        if reason:
            self.counts[reason] += 1
            return None
        seen.add(_norm(item.instruction))
        self.n_kept += 1
        return item

    @staticmethod
    def _check(raw: Any, group: str, allowed: Mapping[str, UnderstoodTool], seen: set[str], preferred: str,
               with_rating: bool, default_tool: str | None, leak_tools: Sequence[str]) -> tuple[str | None, Item | None]:
        if not isinstance(raw, dict) or not isinstance(raw.get("instruction"), str) or not raw["instruction"].strip():
            return "malformed_item", None
        if default_tool is not None:  # new instructions: {"instruction", "parameters"[, "tool_name"]}
            tool, params = raw.get("tool_name", default_tool), raw.get("parameters", {})
        else:
            call = raw.get("tool_call")
            if not isinstance(call, dict):
                return "malformed_item", None
            tool, params = call.get("tool_name"), call.get("parameters", {})
        bad = check_call(tool, params, allowed)
        if bad:
            return bad, None
        if leaked(raw["instruction"], leak_tools):
            return "tool_name_leaked", None
        if _norm(raw["instruction"]) in seen:
            return "duplicate", None
        rating = None
        if with_rating:
            rating = raw.get("rating")
            if rating not in (0, 1) or rating != int(tool == preferred):
                return "inconsistent_rating", None
        return None, Item(group=group, instruction=raw["instruction"].strip(), tool_name=tool, parameters=params,
                          rating=rating)


def _interleave(per_group: Mapping[str, list[Item]], rng: np.random.Generator) -> list[Item]:
    """Merge per-group sequences in a random order that keeps each group's own order (chronology)."""
    slots = [g for g in sorted(per_group) for _ in per_group[g]]
    rng.shuffle(slots)
    queues = {g: list(v) for g, v in per_group.items()}
    return [queues[g].pop(0) for g in slots]


def create_user_data(user: UserPreference, tools: Mapping[str, UnderstoodTool], llm: ChatLLM, flt: ItemFilter,
                     qflt: ItemFilter, items_per_group: int, queries_per_group: int, seed: int,
                     max_retries: int = 2) -> UserData:
    """Histories of the three types and new instructions for one user (LLM calls go through the cache)."""
    rng = np.random.default_rng([seed, int(re.sub(r"\D", "", user.user_id) or 0)])
    histories: dict[str, list[Item]] = {}
    for kind in SETTINGS:
        per_group: dict[str, list[Item]] = {}
        seen: set[str] = set()
        for g, pref in user.preferred.items():
            others = user.non_preferred[g]
            allowed = {n: tools[n] for n in [pref, *others]}
            payload = {"history_type": kind, "n_items": items_per_group, "user_id": user.user_id,
                       "preferred": tool_payload(tools[pref]), "others": [tool_payload(tools[o]) for o in others]}
            res = run_task(llm, "interaction_history", payload, list, max_retries)
            if not flt.reply(res):
                per_group[g] = []
                continue
            kept = [flt.accept(raw, g, allowed, seen, pref, kind == "ratings") for raw in res.value]
            per_group[g] = [k for k in kept if k is not None]
        if kind == "chronological":
            histories[kind] = _interleave(per_group, rng)
        else:
            flat = [it for g in sorted(per_group) for it in per_group[g]]
            histories[kind] = [flat[i] for i in rng.permutation(len(flat))]
    queries: list[Item] = []
    seen_all = {_norm(it.instruction) for h in histories.values() for it in h}
    for g, pref in user.preferred.items():
        existing = sorted({it.instruction for h in histories.values() for it in h if it.tool_name == pref})
        payload = {"n_items": queries_per_group, "user_id": user.user_id, "tool": tool_payload(tools[pref]),
                   "group_tools": [tool_payload(tools[o]) for o in user.non_preferred[g]], "existing": existing}
        res = run_task(llm, "new_instructions", payload, list, max_retries)
        if not qflt.reply(res):
            continue
        group_tools = [pref, *user.non_preferred[g]]
        for raw in res.value:
            it = qflt.accept(raw, g, {pref: tools[pref]}, seen_all, pref, False, default_tool=pref,
                             leak_tools=group_tools)
            if it is not None:
                queries.append(it)
    return UserData(user_id=user.user_id, histories=histories, queries=queries)


def create_all(users: Sequence[UserPreference], tools: Mapping[str, UnderstoodTool], llm: ChatLLM,
               items_per_group: int, queries_per_group: int, seed: int, progress: bool = True,
               max_retries: int = 2) -> tuple[list[UserData], dict[str, Any]]:
    """All users; returns their data and the filter log (counts per reason for history items and queries)."""
    flt, qflt = ItemFilter(), ItemFilter()
    data = [create_user_data(u, tools, llm, flt, qflt, items_per_group, queries_per_group, seed, max_retries)
            for u in tqdm(users, desc="05 data creation", disable=not progress)]
    log = {
        "stage": "05_data_creation",
        "generator": llm.name,
        "history_items": {"n_generated": flt.n_seen, "n_kept": flt.n_kept, "counts": dict(flt.counts),
                          "json_retries": flt.json_retries},
        "new_instructions": {"n_generated": qflt.n_seen, "n_kept": qflt.n_kept, "counts": dict(qflt.counts),
                             "json_retries": qflt.json_retries},
    }
    return data, log
