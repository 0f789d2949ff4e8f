"""Stage 05a: a user's interaction history and the new instructions, as the paper and the release build them.

**One history per user.** The preferred-only history is made of the user's preferred APIs (every API of
every preferred tool, stage 04), each item being that API's tool-use example from stage 02, word for word
(instruction plus call), as in the release. An API appears at most once in a history, so items within a
history are distinct; the same API has the same wording in every user's history, as in the release
(there the item is the API's example in 5,069 of 5,069 checkable cases). The order is a seeded shuffle;
"oldest first" is the list order.

**Queries are held out.** For ``queries_per_user`` of the user's preferred tools that offer a group (drawn
uniformly among those tools), one grouped API of the tool is held out: neither it nor any other API of its group enters the history (in the release the reference
API, and its whole group, never appear in the preferred history). The LLM writes a new instruction for
it; the entry's query is that instruction, or, in the release's proportions (``query_source="release"``), the
API's own tool-use scenario or a disliked history item's instruction, with the example's parameters
(``params_source="release"``).

**Ratings and chronological are derived, per entry,** from that one history plus the entry's
non-preferred items: APIs of ONE competing tool of the query's group (a tool offering the same
functionality that the user does not prefer), each as its tool-use example, as in the release (there all
disliked items of an entry come from one tool, which always offers the reference's group). How many:
enough for a liked share of ``liked_share`` among the items shown, at least ``min_disliked``, at most
``max_disliked`` and at most what the competing tool has. A prompt shows the last ``max_history`` items:
the preferred-only prompt shows the last ``max_history`` preferred items; the rating-integrated and
chronological prompts show the same items, every non-preferred item plus the most recent preferred ones
to fill the window. Rating-integrated: liked (1) preferred items and disliked (0) non-preferred ones,
shuffled; chronological: the non-preferred items first (the older taste), then the preferred ones in
history order.

Every item is checked before it is used (an API whose example fails a check never enters a history), and
every new instruction too; what fails is dropped under a named reason (``FILTER_REASONS``) and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from petool_utils.benchmark.data import HistoryItem, ToolCall, split_api_name
from petool_utils.construction.llm_calls import run_tasks
from petool_utils.construction.preferences import UserPreference, tool_id, tool_parts
from petool_utils.construction.understanding import UnderstoodTool
from petool_utils.models.base import ChatLLM, LLMError

FILTER_REASONS = ("invalid_json", "malformed_item", "unknown_tool", "invalid_parameters", "tool_name_leaked",
                  "duplicate")


class Query(BaseModel):
    """A new instruction for a held-out preferred API, with the entry's non-preferred (disliked) APIs."""

    group: str
    instruction: str
    tool_name: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    disliked: list[str] = Field(default_factory=list, description="APIs of one competing tool, in drawn order")
    query_source: str = Field("new", description="where the instruction comes from: the API's tool-use example "
                                                 "(scenario), a disliked history item (history) or the LLM (new)")
    params_source: str = Field("new", description="where the parameters come from: example, history or new")


class UserData(BaseModel):
    """A user's preferred-only history (API names, oldest first; each item is the API's example) and queries."""

    user_id: str
    tools: list[str]
    history: list[str]
    queries: list[Query]


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
        self.json_retries += res.json_retries
        if not res.ok:
            self.counts["invalid_json"] += 1
        return res.ok

    def reject(self, reason: str) -> None:
        self.n_seen += 1
        self.counts[reason] += 1

    def accept(self, raw: Any, allowed: Mapping[str, UnderstoodTool], seen: set[str], default_tool: str,
               leak_tools: Sequence[str]) -> dict[str, Any] | None:
        """A new instruction ``{"instruction", "tool_name", "parameters"}`` if it passes every check, else None."""
        self.n_seen += 1
        if not isinstance(raw, dict) or not isinstance(raw.get("instruction"), str) or not raw["instruction"].strip():
            reason = "malformed_item"
        else:
            tool, params = raw.get("tool_name", default_tool), raw.get("parameters", {})
            reason = check_call(tool, params, allowed)
            if reason is None and leaked(raw["instruction"], leak_tools):
                reason = "tool_name_leaked"
            if reason is None and _norm(raw["instruction"]) in seen:
                reason = "duplicate"
        if reason:
            self.counts[reason] += 1
            return None
        seen.add(_norm(raw["instruction"]))
        self.n_kept += 1
        return {"instruction": raw["instruction"].strip(), "tool_name": tool, "parameters": params}

    def log(self) -> dict[str, Any]:
        return {"n_generated": self.n_seen, "n_kept": self.n_kept, "counts": dict(self.counts),
                "json_retries": self.json_retries}


def example_item(t: UnderstoodTool, rating: int | None = None) -> HistoryItem:
    """An API's tool-use example as a history item (what every item of the release is)."""
    call = ToolCall(tool_name=t.full_name, parameters=t.example.parameters)
    if rating is None:
        return HistoryItem(instruction=t.example.instruction, tool_call=call)
    return HistoryItem(instruction=t.example.instruction, tool_call=call, rating=rating)


def usable_examples(tools: Mapping[str, UnderstoodTool], flt: ItemFilter) -> set[str]:
    """The APIs whose example may be a history item (valid call, no tool name in the text); others counted."""
    ok = set()
    for name, t in tools.items():
        reason = check_call(name, t.example.parameters, {name: t})
        if reason is None and leaked(t.example.instruction, [name]):
            reason = "tool_name_leaked"
        if reason:
            flt.reject(reason)
        else:
            flt.n_seen += 1
            flt.n_kept += 1
            ok.add(name)
    return ok


def disliked_count(n_preferred: int, available: int, max_history: int | None, liked_share: float,
                   max_disliked: int, min_disliked: int = 1) -> int:
    """How many non-preferred items an entry gets (see the module docstring): enough for ``liked_share`` among
    the items shown, at least ``min_disliked`` (the release: at least 2), at most ``max_disliked`` and what
    there is."""
    if available <= 0 or n_preferred <= 0:
        return 0
    shown = min(n_preferred, max_history) if max_history else n_preferred
    n = max(1, min_disliked, round(shown * (1.0 - liked_share) / liked_share))
    n = min(n, max_disliked, available)
    if max_history:
        n = min(n, max_history - 1)  # keep at least one preferred item in the window
    return max(0, n)


QUERY_SOURCES = ("release", "fresh")
PARAMS_SOURCES = ("release", "fresh")
RELEASE_QUERY_PROVENANCE = {"scenario": 0.49, "history": 0.26, "new": 0.25}
"""Where the release's queries come from (measured on the 514 dev-slice entries; the full release's figures
in issue 24 agree: 0.488 the reference API's ``Example.Scenario``, 0.257 a disliked history item's
instruction, the rest new). ``query_source: release`` draws each query's source with these weights; a
``history`` draw needs a disliked item of the query's group and becomes ``new`` without one."""


def query_provenance(rng: np.random.Generator, has_history_item: bool,
                     weights: Mapping[str, float] = RELEASE_QUERY_PROVENANCE) -> str:
    """One query's source, drawn with ``weights`` (``scenario`` / ``history`` / ``new``)."""
    keys = list(weights)
    p = np.array([float(weights[k]) for k in keys])
    src = keys[int(rng.choice(len(keys), p=p / p.sum()))]
    return "new" if src == "history" and not has_history_item else src


def _rival_apis(g: str, user: UserPreference, apis_of_tool: Mapping[str, Sequence[str]],
                usable: set[str]) -> dict[str, int]:
    """The user's competing tools of group ``g``, each with its number of usable APIs."""
    return {r: sum(a in usable for a in apis_of_tool.get(r, [])) for r in {tool_id(m) for m in user.non_preferred[g]}}


def _disliked_pool(g: str, user: UserPreference, apis_of_tool: Mapping[str, Sequence[str]], usable: set[str],
                   rng: np.random.Generator, min_disliked: int, want: int) -> list[str]:
    """The non-preferred APIs an entry may show: ONE competing tool of the query's group (one with ``want``
    usable APIs when the group has one, else one with ``min_disliked``: in the release the one disliked tool
    shows 5 items in 3 entries of 4, 2 to 4 in the others), its API of the group first, then its others in a
    seeded order. When it has fewer than ``min_disliked`` (the release never shows fewer than 2), the pool is
    topped up from the group's other competitors, then from a tool of the same category the user does not
    prefer."""
    count = _rival_apis(g, user, apis_of_tool, usable)
    rivals = sorted(count)
    if not rivals:
        return []
    able = ([r for r in rivals if count[r] >= want] or [r for r in rivals if count[r] >= min_disliked]
            or rivals)
    order = [able[int(rng.integers(len(able)))]] + [r for r in rivals if r not in able]
    if count[order[0]] < min_disliked:
        cat = tool_parts(order[0])[0]
        mine = set(user.tools) | set(rivals)
        same_cat = sorted(t for t in apis_of_tool if tool_parts(t)[0] == cat and t not in mine
                          and sum(a in usable for a in apis_of_tool[t]) >= min_disliked - count[order[0]])
        if same_cat:
            order.append(same_cat[int(rng.integers(len(same_cat)))])
    in_group = set(user.non_preferred[g])
    pool: list[str] = []
    for r in order:
        apis = [a for a in apis_of_tool.get(r, []) if a in usable]
        first = [a for a in apis if a in in_group]
        rest = [a for a in apis if a not in in_group]
        pool += first + [rest[i] for i in rng.permutation(len(rest))]
        if len(pool) >= min_disliked:
            break
    return pool


def hold_share(value: bool | float) -> float:
    """``hold_rival_groups`` as the share of the query tool's twin APIs held out: True 1, False 0, or a share."""
    share = float(value)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"hold_rival_groups must be true, false or a share in [0, 1], got {value!r}")
    return share


def user_rng(seed: int, user_id: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(re.sub(r"\D", "", user_id) or 0), *more])


def tool_sample(apis: Sequence[str], cap: int, rng: np.random.Generator, keep: str | None = None) -> list[str]:
    """The APIs of one preferred tool that a user has used: ``k`` of them, ``k`` uniform in 1..``cap`` and at
    most what the tool has. ``keep`` (a query's held-out API) is always one of them and then ``k >= 2``, so the
    query's tool keeps at least one other API in the history (the release: in each of its 47 entries whose full
    history fits the prompt, the reference's tool shows 1 to 4 items, never 0 and never 5)."""
    low = 2 if keep is not None else 1
    k = min(len(apis), int(rng.integers(low, max(cap, low) + 1)))
    rest = [a for a in apis if a != keep]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    return ([keep] + rest[:k - 1]) if keep is not None else rest[:k]


def plan_user(user: UserPreference, apis_of_tool: Mapping[str, Sequence[str]], usable: set[str], queries_per_user: int,
              max_history: int | None, liked_share: float, max_disliked: int, seed: int,
              min_disliked: int = 1, apis_per_tool: int | None = None, hold_rival_groups: bool | float = False,
              one_disliked_tool: bool = False, function_tools: Mapping[str, set[str]] | None = None
              ) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The user's history (API names) and the planned queries ``(group, preferred API, disliked APIs)``.

    ``one_disliked_tool``: a query is planned only for a group where one competing tool has ``min_disliked``
    usable APIs, so its non-preferred items are that one tool's (the release: in each of its 514 dev-slice
    entries they are 2 or more distinct APIs of one tool of the reference's group). Off, a group whose
    competitors have fewer is queried too, and its pool is topped up from another tool (:func:`_disliked_pool`).

    ``function_tools`` (group -> the tools offering its functionality, before the input-format split: see
    :func:`~petool_utils.construction.clustering.function_tools`): a query is not planned for a group whose
    functionality the user also has from another of the user's tools, one the input-format split put in another
    group. Such a user prefers two providers of one functionality, so the reference would be a coin toss between
    the group's provider and a candidate clone the history shows. None: no such check.

    ``apis_per_tool``: each preferred tool gives the history a seeded sample of at most this many of its APIs
    (:func:`tool_sample`, drawn with a generator of its own so the rest of the plan is unchanged); None: all of
    them."""
    rng = user_rng(seed, user.user_id)
    # a query is for a preferred TOOL first (uniformly among the user's tools that offer a group), then for
    # one of that tool's grouped APIs, so tools with many APIs are not over-represented among the queries
    groups_of_tool: dict[str, list[str]] = {}
    mine = set(user.tools)
    for g in sorted(user.preferred):
        if one_disliked_tool and max(_rival_apis(g, user, apis_of_tool, usable).values(), default=0) < min_disliked:
            continue
        if function_tools is not None and (function_tools.get(g, set()) - {tool_id(user.preferred[g])}) & mine:
            continue
        groups_of_tool.setdefault(tool_id(user.preferred[g]), []).append(g)
    qtools = sorted(groups_of_tool)
    n_q = min(queries_per_user, len(qtools))
    picked = sorted(qtools[i] for i in rng.choice(len(qtools), size=n_q, replace=False)) if n_q else []
    qgroups = sorted(groups_of_tool[t][int(rng.integers(len(groups_of_tool[t])))] for t in picked)
    held = {m for g in qgroups for m in [user.preferred[g], *user.non_preferred[g]]}
    held_groups = set(qgroups)
    share = hold_share(hold_rival_groups)
    if share > 0:  # the query tool's other APIs that a competitor of the query's group also offers
        hrng = user_rng(seed, user.user_id, 3000)
        for g in qgroups:
            t, rivals = tool_id(user.preferred[g]), {tool_id(m) for m in user.non_preferred[g]}
            twins = sorted(g2 for g2, m in user.preferred.items() if g2 not in held_groups
                           and tool_id(m) == t and rivals & {tool_id(o) for o in user.non_preferred[g2]})
            held_groups |= {g2 for g2 in twins if share >= 1 or hrng.random() < share}
        held |= {user.preferred[g] for g in held_groups}
    group_of = {m: g for g, m in user.preferred.items()}
    used = {t: [a for a in apis_of_tool[t] if a in usable] for t in user.tools}
    if apis_per_tool:
        srng = user_rng(seed, user.user_id, 2000)
        keep = {tool_id(user.preferred[g]): user.preferred[g] for g in qgroups}
        used = {t: tool_sample(used[t], apis_per_tool, srng, keep.get(t) if keep.get(t) in used[t] else None)
                for t in user.tools}
        used = {t: [a for a in apis_of_tool[t] if a in set(s)] for t, s in used.items()}  # the tool's own order
    history = [a for t in user.tools for a in used[t] if a not in held and group_of.get(a) not in held_groups]
    history = [history[i] for i in rng.permutation(len(history))]
    planned: list[tuple[str, str, list[str]]] = []
    for g in qgroups if history else []:
        want = disliked_count(len(history), max_disliked, max_history, liked_share, max_disliked, min_disliked)
        pool = _disliked_pool(g, user, apis_of_tool, usable, rng, min_disliked, want)
        k = disliked_count(len(history), len(pool), max_history, liked_share, max_disliked, min_disliked)
        planned.append((g, user.preferred[g], pool[:k]))
    return history, planned


def _provenance(q: dict[str, Any], api: UnderstoodTool, disliked: Sequence[str], group: set[str],
                tools: Mapping[str, UnderstoodTool], rng: np.random.Generator, query_source: str,
                params_source: str) -> tuple[dict[str, Any], str, str]:
    """The query as the release makes it (``release``): the instruction is the API's tool-use example, a
    disliked item of the group, or the LLM's new one (:data:`RELEASE_QUERY_PROVENANCE`); the parameters are
    the example's, or that disliked item's when they fit the API, never the LLM's. ``fresh`` keeps the LLM's."""
    rival = next((a for a in disliked if a in group), None)
    src = query_provenance(rng, rival is not None) if query_source == "release" else "new"
    out = dict(q)
    if src == "scenario":
        out["instruction"] = api.example.instruction
    elif src == "history":
        out["instruction"] = tools[rival].example.instruction
    psrc = "new"
    if params_source == "release":
        psrc = "example"
        out["parameters"] = dict(api.example.parameters)
        if src == "history" and check_call(api.full_name, tools[rival].example.parameters, {api.full_name: api}) is None:
            psrc, out["parameters"] = "history", dict(tools[rival].example.parameters)
    return out, src, psrc


def create_all(users: Sequence[UserPreference], tools: Mapping[str, UnderstoodTool], llm: ChatLLM,
               queries_per_user: int, seed: int, max_history: int | None = 20, liked_share: float = 0.78,
               max_disliked: int = 5, max_retries: int = 2, min_disliked: int = 1, query_source: str = "release",
               params_source: str = "release", json_mode: str = "none", apis_per_tool: int | None = None,
               hold_rival_groups: bool | float = False, one_disliked_tool: bool = False,
               function_tools: Mapping[str, set[str]] | None = None) -> tuple[list[UserData], dict[str, Any]]:
    """Every user's history and queries; returns them and the filter log (history items and new instructions).

    The new instructions of all users are asked at once (``run_tasks``: concurrent on a server, retries
    in rounds); a request that gets no reply at all raises :class:`LLMError` (its answer-less state is
    never written, and the cache makes the rerun cheap).
    """
    if query_source not in QUERY_SOURCES or params_source not in PARAMS_SOURCES:
        raise ValueError(f"query_source and params_source must be one of {QUERY_SOURCES}, got "
                         f"{query_source!r}, {params_source!r}")
    hflt, qflt = ItemFilter(), ItemFilter()
    usable = usable_examples(tools, hflt)
    apis_of_tool: dict[str, list[str]] = {}
    for name in tools:
        apis_of_tool.setdefault(tool_id(name), []).append(name)
    plans = [plan_user(u, apis_of_tool, usable, queries_per_user, max_history, liked_share, max_disliked, seed,
                       min_disliked, apis_per_tool, hold_rival_groups, one_disliked_tool, function_tools)
             for u in users]
    asks, where = [], []
    for ui, (u, (history, planned)) in enumerate(zip(users, plans)):
        for qi, (g, api, _) in enumerate(planned):
            payload = {"n_items": 1, "user_id": u.user_id, "tool": tool_payload(tools[api]),
                       "group_tools": [tool_payload(tools[o]) for o in u.non_preferred[g]],
                       "existing": [tools[api].example.instruction]}
            asks.append(("new_instructions", payload, list))
            where.append((ui, qi))
    results = run_tasks(llm, asks, max_retries, json_mode)
    failed = [r for r in results if r.request_failed]
    if failed:
        raise LLMError(f"{llm.name}: {len(failed)} new-instruction request(s) got no reply after the backend's "
                       f"retries ({failed[0].error}); run the stage again (answers so far are cached)")
    answers: dict[tuple[int, int], Any] = {w: r for w, r in zip(where, results)}
    data = []
    for ui, (u, (history, planned)) in enumerate(zip(users, plans)):
        seen = {_norm(tools[a].example.instruction) for a in history}
        queries = []
        for qi, (g, api, disliked) in enumerate(planned):
            res = answers[(ui, qi)]
            seen.add(_norm(tools[api].example.instruction))
            if not qflt.reply(res):
                continue
            for raw in res.value:
                ok = qflt.accept(raw, {api: tools[api]}, seen, default_tool=api,
                                 leak_tools=[api, *u.non_preferred[g]])
                if ok is not None:
                    group = {api, *u.non_preferred[g]}
                    ok, src, psrc = _provenance(ok, tools[api], disliked, group, tools,
                                                user_rng(seed, u.user_id, 1000 + qi), query_source, params_source)
                    queries.append(Query(group=g, disliked=disliked, query_source=src, params_source=psrc, **ok))
        data.append(UserData(user_id=u.user_id, tools=list(u.tools), history=history, queries=queries))
    log = {"stage": "05_data_creation", "generator": llm.name, "json_mode": json_mode,
           "history_items": hflt.log(),
           "new_instructions": qflt.log()}
    return data, log


def entry_histories(user: UserData, query: Query, query_index: int, tools: Mapping[str, UnderstoodTool],
                    max_history: int | None, seed: int) -> dict[str, list[HistoryItem]]:
    """The three histories a prompt shows for one entry (see the module docstring)."""
    window = max_history or len(user.history) + len(query.disliked)
    preferred = user.history[-window:] if window else []
    tail = user.history[-(window - len(query.disliked)):] if window > len(query.disliked) else []
    rated = [example_item(tools[a], 1) for a in tail] + [example_item(tools[a], 0) for a in query.disliked]
    order = user_rng(seed, user.user_id, 1 + query_index).permutation(len(rated))
    return {
        "preferred": [example_item(tools[a]) for a in preferred],
        "ratings": [rated[i] for i in order],
        "chronological": [example_item(tools[a]) for a in query.disliked] + [example_item(tools[a]) for a in tail],
    }

