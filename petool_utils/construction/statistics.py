"""Stage 06: the paper's Table 3 (instances and history lengths per setting and split), Figure 4
(category distribution) and the fidelity table (how the histories are built: issue 15's comparison) for any
benchmark in the release layout, constructed or released."""

from __future__ import annotations

import json
from collections import Counter
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from petool_utils import SETTINGS
from petool_utils.benchmark.data import Entry, HistoryItem, split_api_name
from petool_utils.construction.preferences import tool_id
from petool_utils.predictors.ranker.text import norm_api


def table3(splits: Mapping[str, Sequence[Entry]]) -> pd.DataFrame:
    """One row per (split, setting): instances, history length (mean/min/max), tools, groups, categories."""
    rows = []
    for split, entries in splits.items():
        for s in SETTINGS:
            have = [e for e in entries if getattr(e, f"instruction_{s}", None) is not None]
            lengths = [len(e.history(s)) for e in have]
            tools = {e.reference.tool_name for e in have}
            rows.append({
                "split": split,
                "setting": s,
                "instances": len(have),
                "avg_history_length": round(sum(lengths) / len(lengths), 2) if lengths else 0.0,
                "min_history_length": min(lengths, default=0),
                "max_history_length": max(lengths, default=0),
                "reference_tools": len(tools),
                "functionality_groups": len({e.func for e in have if e.func is not None}),
                "categories": len({split_api_name(t)[0] for t in tools}),
                "avg_candidates": round(sum(len(e.candidates) for e in have) / len(have), 2) if have else 0.0,
            })
    return pd.DataFrame(rows)


def category_distribution(entries: Sequence[Entry]) -> pd.DataFrame:
    """Entries per category of the reference tool, largest first (Figure 4's data)."""
    counts = pd.Series([split_api_name(e.reference.tool_name)[0] for e in entries], dtype="object").value_counts()
    df = counts.rename_axis("category").reset_index(name="entries")
    df = df.sort_values(["entries", "category"], ascending=[False, True]).reset_index(drop=True)
    df["share"] = (df["entries"] / max(1, len(entries))).round(4)
    return df


def figure4(dist: pd.DataFrame, title: str):
    """A plotly pie of the category distribution (the paper draws Figure 4 as a pie)."""
    import plotly.express as px

    return px.pie(dist, names="category", values="entries", title=title, hole=0.3)


def _item_key(it: HistoryItem) -> str:
    return json.dumps([it.instruction, it.tool_call.tool_name, it.tool_call.parameters], sort_keys=True, ensure_ascii=False)


FIDELITY_ROWS = {
    "popularity_concentration": "share of a group's entries whose reference is the group's most common one",
    "tool_comb_modal_agreement": "tool_comb positions holding the tool most users hold there (share): users walk "
                                 "one sampling order",
    "tool_comb_shared_prefix": "tool_comb: tools a list holds in the most common order before it parts from it "
                               "(median): how far users walk the one order",
    "tool_comb_adjacent_same_category": "tool_comb: adjacent tools of one category (share of the adjacent pairs "
                                        "whose categories the benchmark shows): a draw's non-functional "
                                        "neighbours, which the restart rule keeps out of the seed's groups",
    "query_is_scenario": "query = the reference API's tool-use Example.Scenario (share)",
    "query_is_history_instruction": "query = an instruction of the rating-integrated history (share)",
    "query_history_item_disliked": "of those, the history item is a disliked one (share)",
    "ref_params_are_example": "reference parameters = the API's Example.Parameters (share)",
    "n_groups": "functionality groups with an entry",
    "group_size_median": "group size (apis_same_func): median",
    "group_size_max": "group size: max",
    "candidates_in_group": "candidates in the reference's group (mean)",
    "candidates_in_category": "candidates in the reference's category (mean)",
    "candidates_ref_name_outside_group": "candidates outside the reference's group with the reference's API name "
                                         "(mean): clones the grouping left out",
    "candidates_user_tools_other_category": "candidates of another category than the reference's that are the "
                                            "user's own tools (mean)",
    "group_members_same_name": "listed members of the reference's group with the reference's API name (share of "
                               "reference-member pairs): ToolBench's groups are mostly one API under many tools",
    "group_members_same_description": "listed members of the reference's group with the reference's description, "
                                      "word for word (share of reference-member pairs)",
    "disliked_min": "non-preferred (disliked) items per rating-integrated history: min",
    "ref_api_in_preferred_history": "the reference API appears in the user's preferred history (share of entries)",
    "ref_tool_in_preferred_history": "the reference's tool appears in the preferred history (share of entries)",
    "liked_share_ratings": "liked share in rating-integrated histories (mean)",
    "disliked_per_entry": "non-preferred (disliked) items per rating-integrated history (mean)",
    "disliked_one_tool": "the disliked items are one tool's (share of entries with any)",
    "chronological_disliked_first": "chronological: every non-preferred item before every preferred one (share)",
    "ratings_chronological_same_items": "ratings and chronological histories hold the same items (share)",
    "distinct_apis_preferred_history": "distinct APIs in the preferred history (mean)",
    "history_length_min": "history_length (full history): min",
    "history_length_median": "history_length: median",
    "history_length_max": "history_length: max",
    "history_length_std": "history_length: standard deviation",
    "preferred_items_shown_mean": "items shown in the preferred-only prompt (mean)",
    "empty_reference_parameters": "reference call with empty parameters (share)",
    "reference_params_as_history": "reference call names the parameters its API's history calls name most often "
                                   "(share of entries whose API is in some history)",
}
"""The statistics of issue 15's comparison table, by key, with what each measures."""


def fidelity(entries: Sequence[Entry]) -> dict[str, float]:
    """How a benchmark's histories are built (the statistics in :data:`FIDELITY_ROWS`), for any benchmark in
    the release layout. The non-preferred items of an entry are the items rated 0 in its rating-integrated
    history; the chronological history is matched to them item by item."""
    n = len(entries)
    if n == 0:
        return {k: float("nan") for k in FIDELITY_ROWS}
    ref_api = ref_tool = disliked_first = same = empty = one_tool = with_disliked = 0
    liked, n_disliked, distinct, shown = [], [], [], []
    for e in entries:
        pref = e.history("preferred")
        ref = e.reference.tool_name
        ref_api += any(it.tool_call.tool_name == ref for it in pref)
        ref_tool += any(split_api_name(it.tool_call.tool_name)[:2] == split_api_name(ref)[:2] for it in pref)
        distinct.append(len({it.tool_call.tool_name for it in pref}))
        shown.append(len(pref))
        empty += e.reference.parameters == {}
        rat, chrono = e.history("ratings"), e.history("chronological")
        if rat:
            liked.append(sum(it.rating == 1 for it in rat) / len(rat))
        bad = {_item_key(it) for it in rat if it.rating == 0}
        n_disliked.append(len(bad))
        bad_tools = {split_api_name(it.tool_call.tool_name)[:2] for it in rat if it.rating == 0}
        with_disliked += bool(bad_tools)
        one_tool += len(bad_tools) == 1
        flags = [_item_key(it) in bad for it in chrono]
        disliked_first += flags == sorted(flags, reverse=True)
        same += sorted(_item_key(it) for it in rat) == sorted(_item_key(it) for it in chrono)
    lengths = np.array([e.history_length if e.history_length is not None else len(e.history("preferred"))
                        for e in entries], dtype=float)
    return {**_structure(entries), "disliked_min": float(min(n_disliked)),
        "ref_api_in_preferred_history": ref_api / n,
        "ref_tool_in_preferred_history": ref_tool / n,
        "liked_share_ratings": float(np.mean(liked)) if liked else float("nan"),
        "disliked_per_entry": float(np.mean(n_disliked)),
        "disliked_one_tool": one_tool / with_disliked if with_disliked else float("nan"),
        "chronological_disliked_first": disliked_first / n,
        "ratings_chronological_same_items": same / n,
        "distinct_apis_preferred_history": float(np.mean(distinct)),
        "history_length_min": float(lengths.min()),
        "history_length_median": float(np.median(lengths)),
        "history_length_max": float(lengths.max()),
        "history_length_std": float(lengths.std()),
        "preferred_items_shown_mean": float(np.mean(shown)),
        "empty_reference_parameters": empty / n,
        "reference_params_as_history": _params_as_history(entries),
    }


def _structure(entries: Sequence[Entry]) -> dict[str, float]:
    """Issue 24's structure statistics: how concentrated the preferred tools are, where the queries and
    reference parameters come from, the groups and the candidates."""
    n = len(entries)
    by_group: dict[str, Counter[str]] = {}
    scenario = hist = hist_disliked = example = 0
    in_group, in_cat, sizes = [], [], {}
    clones = mine = 0
    pairs = same_name = same_desc = 0
    for e in entries:
        ref = e.reference.tool_name
        by_group.setdefault(str(e.func), Counter())[ref] += 1
        sizes[str(e.func)] = len(e.same_func_names) or 1
        ex = e.api_ground_truth.Example or {}
        q = e.query.strip()
        scenario += q == str(ex.get("Scenario", "")).strip()
        match = [it for it in e.history("ratings") if it.instruction.strip() == q]
        hist += bool(match)
        hist_disliked += any(it.rating == 0 for it in match)
        example += e.reference.parameters == ex.get("Parameters", None)
        group = set(e.same_func_names)
        cat = split_api_name(ref)[0]
        in_group.append(sum(c in group for c in e.candidate_names))
        in_cat.append(sum(split_api_name(c)[0] == cat for c in e.candidate_names))
        ref_api, user = norm_api(split_api_name(ref)[2]), {t.strip() for t in e.tool_comb}
        for c in e.candidate_names:
            c_cat, c_tool, c_api = split_api_name(c)
            if c not in group:
                clones += norm_api(c_api) == ref_api
                mine += c_cat != cat and c_tool.strip() in user
        listed = {c.tool_name: c for c in e.candidates}
        if ref in listed:
            ref_name, ref_desc = norm_api(split_api_name(ref)[2]), listed[ref].tool_description.strip()
            for member in group - {ref}:
                if member in listed:
                    pairs += 1
                    same_name += norm_api(split_api_name(member)[2]) == ref_name
                    same_desc += listed[member].tool_description.strip() == ref_desc
    # one list an entry, not one a distinct list: users who walked the same order to the same length hold the same
    # list, and collapsing them would count the order's most common result once
    combs = [e.tool_comb for e in entries if e.tool_comb]
    agree, prefix = tool_comb_walk(combs)
    adjacent = tool_comb_adjacent_same_category(entries)
    return {
        "popularity_concentration": sum(c.most_common(1)[0][1] for c in by_group.values()) / n,
        "tool_comb_modal_agreement": agree,
        "tool_comb_shared_prefix": prefix,
        "tool_comb_adjacent_same_category": adjacent,
        "query_is_scenario": scenario / n,
        "query_is_history_instruction": hist / n,
        "query_history_item_disliked": hist_disliked / hist if hist else float("nan"),
        "ref_params_are_example": example / n,
        "n_groups": float(len(by_group)),
        "group_size_median": float(np.median(list(sizes.values()))),
        "group_size_max": float(max(sizes.values())),
        "candidates_in_group": float(np.mean(in_group)),
        "candidates_in_category": float(np.mean(in_cat)),
        "candidates_ref_name_outside_group": clones / n,
        "candidates_user_tools_other_category": mine / n,
        "group_members_same_name": same_name / pairs if pairs else float("nan"),
        "group_members_same_description": same_desc / pairs if pairs else float("nan"),
    }


def tool_comb_walk(combs: Sequence[Sequence[str]]) -> tuple[float, float]:
    """How alike users' tool lists are in order: the share of list positions holding the tool most lists hold
    there, and the median length of a list's run of those modal tools from its start. Both NaN without lists.

    The release's users hold their tools in one common order for a while (agreement 0.735, run 17 on the dev
    slice), which is how its users were drawn; users drawn independently score near 0 on both."""
    combs = [list(c) for c in combs if c]
    if not combs:
        return float("nan"), float("nan")
    width = max(map(len, combs))
    # ties broken by first appearance, as Counter does, so the result does not depend on hashing
    modal = [Counter(c[i] for c in combs if len(c) > i).most_common(1)[0][0] for i in range(width)]
    agree = float(np.mean([c[i] == modal[i] for c in combs for i in range(len(c))]))
    prefix = float(np.median([next((i for i, t in enumerate(c) if t != modal[i]), len(c)) for c in combs]))
    return agree, prefix


def tool_comb_adjacent_same_category(entries: Sequence[Entry]) -> float:
    """The share of adjacent ``tool_comb`` tools of one category, over the pairs whose two categories the
    entries show (a tool's category is read from every full name an entry holds: candidates, group, histories;
    a tool name seen in two categories is left out). NaN without such pairs.

    ``tool_comb`` lists a user's tools in draw order, a seed then its non-functional neighbours, so adjacent tools
    are mostly neighbours. The release's are of one category less often than two random tools of its lists
    (0.065 by this count on the dev slice): what a provider's non-functional side resembles is not its domain,
    and a same-category neighbour is the one most likely to share a group with the seed, a draw the restart
    rule discards."""
    cats: dict[str, set[str]] = {}

    def see(name: str) -> None:
        if name.startswith("<"):
            cat, tool, _ = split_api_name(name)
            cats.setdefault(tool.strip(), set()).add(cat)

    for e in entries:
        for name in [*e.candidate_names, *e.same_func_names, e.reference.tool_name]:
            see(name)
        for setting in ("preferred", "ratings"):
            for it in e.history(setting):
                see(it.tool_call.tool_name)
    one = {t: next(iter(c)) for t, c in cats.items() if len(c) == 1}
    pairs = same = 0
    for e in entries:
        comb = [t.strip() for t in e.tool_comb or []]
        for a, b in zip(comb, comb[1:]):
            if a in one and b in one:
                pairs += 1
                same += one[a] == one[b]
    return same / pairs if pairs else float("nan")


def _params_as_history(entries: Sequence[Entry]) -> float:
    """The parameter convention of the reference calls: the release writes a new request's call with the
    parameters of the API's tool-use example (the history items), so the reference names the same
    parameters as that API's most frequent history call; a benchmark whose references drop the optional
    ones teaches a different convention."""
    seen: dict[str, dict[frozenset[str], int]] = {}
    for e in entries:
        for it in e.history("ratings") or e.history("preferred"):
            counts = seen.setdefault(it.tool_call.tool_name, {})
            key = frozenset(it.tool_call.parameters)
            counts[key] = counts.get(key, 0) + 1
    hits = total = 0
    for e in entries:
        counts = seen.get(e.reference.tool_name)
        if counts:
            total += 1
            hits += frozenset(e.reference.parameters) == max(counts, key=lambda k: (counts[k], sorted(k)))
    return hits / total if total else float("nan")


def fidelity_table(benchmarks: Mapping[str, Sequence[Entry]]) -> pd.DataFrame:
    """One row per statistic, one column per benchmark (e.g. the released dev slice beside a constructed split)."""
    cols = {name: fidelity(entries) for name, entries in benchmarks.items()}
    df = pd.DataFrame({"statistic": list(FIDELITY_ROWS.values()), "key": list(FIDELITY_ROWS)})
    for name, stats in cols.items():
        df[name] = [round(stats[k], 4) for k in FIDELITY_ROWS]
    return df


RELEASE_RECORDED = {
    "popularity_concentration": 0.898, "query_is_scenario": 0.488, "query_is_history_instruction": 0.257,
    "query_history_item_disliked": 1.0, "ref_params_are_example": 0.791, "empty_reference_parameters": 0.291,
    "n_groups": 109.0, "group_size_median": 2.0, "group_size_max": 6.0, "candidates_in_group": 2.4,
    "candidates_in_category": 4.7, "disliked_per_entry": 4.2, "disliked_min": 2.0, "liked_share_ratings": 0.788,
    "history_length_median": 57.0, "history_length_max": 100.0, "ref_tool_in_preferred_history": 0.489,
    "ref_api_in_preferred_history": 0.0, "chronological_disliked_first": 1.0, "ratings_chronological_same_items": 1.0,
}
"""The full release's figures (1,000 test entries, as issue 24 records them), for a checkout without the
released data; with it, the release column is computed from the records instead."""

FIDELITY_TOLERANCE: dict[str, tuple[str, float]] = {
    "popularity_concentration": ("abs", 0.10), "query_is_scenario": ("abs", 0.10),
    "query_is_history_instruction": ("abs", 0.10), "query_history_item_disliked": ("abs", 0.10),
    "ref_params_are_example": ("abs", 0.10), "ref_tool_in_preferred_history": ("abs", 0.15),
    "tool_comb_adjacent_same_category": ("abs", 0.10),
    "group_size_median": ("range", 2.0),
    "group_members_same_name": ("abs", 0.10), "group_members_same_description": ("abs", 0.10), "candidates_in_group": ("abs", 0.6), "candidates_in_category": ("abs", 1.2),
    "disliked_per_entry": ("abs", 0.6), "disliked_min": ("abs", 0.0), "disliked_one_tool": ("abs", 0.05),
    "liked_share_ratings": ("abs", 0.04),
    "history_length_median": ("rel", 0.35), "history_length_max": ("rel", 0.35),
    "ref_api_in_preferred_history": ("abs", 0.0), "chronological_disliked_first": ("abs", 0.0),
    "ratings_chronological_same_items": ("abs", 0.0),
}
"""How far a faithful build may be from the release, per statistic: ``abs`` (absolute difference), ``rel``
(relative to the release's value) or ``range`` (the group-size median must lie in [2, 3]: the release's 2 and
2.5). Statistics without a tolerance depend on the corpus's size or wording (the number of groups, the empty
parameters of a corpus whose APIs all take inputs) and are shown, not judged."""


def tolerance_text(key: str) -> str:
    kind, value = FIDELITY_TOLERANCE.get(key, ("", 0.0))
    return {"abs": f"± {value:g}", "rel": f"± {value:.0%}", "range": "in [2, 3]"}.get(kind, "shown only")


def within_tolerance(key: str, value: float, release: float) -> bool | None:
    """Whether a faithful build's ``value`` is within :data:`FIDELITY_TOLERANCE` of the release's; None when the
    statistic is not judged (or either side is missing)."""
    if key not in FIDELITY_TOLERANCE or value != value or release != release:
        return None
    kind, tol = FIDELITY_TOLERANCE[key]
    if kind == "range":
        return 2.0 <= value <= 3.0
    if kind == "rel":
        return abs(value - release) <= tol * abs(release) + 1e-9
    return abs(value - release) <= tol + 1e-9


def release_figures(released: Sequence[Entry] | None) -> tuple[str, dict[str, float]]:
    """The release column: computed from the released entries when they are here, else the recorded figures."""
    if released:
        return f"released ({len(released)} entries)", fidelity(released)
    return "released (recorded figures, 1,000 entries)", {k: RELEASE_RECORDED.get(k, float("nan")) for k in FIDELITY_ROWS}


RELEASE_BASELINES = {"offline:popularity": {"tool": 81.8, "param": float("nan")},
                     "offline:history": {"tool": 57.0, "param": float("nan")},
                     "offline:ranker": {"tool": float("nan"), "param": float("nan")}}
"""The full release's offline baselines as issue 24 records them (Tool Acc %, mean of the three settings), for a
checkout without the released data."""


def fidelity_with_release(entries: Sequence[Entry], released: Sequence[Entry] | None,
                          name: str = "constructed (train+test)") -> pd.DataFrame:
    """Notebook 06's fidelity table: every statistic of a built benchmark beside the release's value (computed
    from the release when it is here, else :data:`RELEASE_RECORDED`), the tolerance, and whether it is met."""
    rel_name, rel = release_figures(released)
    df = fidelity_table({name: entries})
    df.insert(2, rel_name, [round(rel[k], 4) for k in FIDELITY_ROWS])
    df["tolerance"] = [tolerance_text(k) for k in FIDELITY_ROWS]
    df["within"] = [within_tolerance(k, v, rel[k]) for k, v in zip(FIDELITY_ROWS, df[name])]
    return df


def twin_shown_rates(entries: Sequence[Entry], apis_of_tool: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """How often the reference tool's other APIs are shown in the preferred history, split by whether the
    entry's disliked tool has an API of the same name (a *twin*: the two tools compete there too) or not.
    ``apis_of_tool``: ``<Category>.<Tool>`` -> the tool's API full names in the corpus.

    The release shows a twin far less often than another API of the reference tool (the dev slice: 7% against
    18%), so a twin is held out of the history with probability ``hold_share = 1 - twin rate / other rate``:
    stage 05's ``hold_rival_groups`` reads its default from this. Entries whose disliked items are not one
    tool's are skipped."""
    counts = {"twin": [0, 0], "other": [0, 0]}
    for e in entries:
        ref = e.api_call_ground_truth.tool_name
        disliked = {tool_id(h.tool_call.tool_name) for h in e.histories.get("ratings", []) if h.rating == 0}
        if len(disliked) != 1:
            continue
        rival = {norm_api(split_api_name(a)[2]) for a in apis_of_tool.get(next(iter(disliked)), [])}
        shown = {h.tool_call.tool_name for h in e.histories.get("preferred", [])}
        for a in apis_of_tool.get(tool_id(ref), []):
            if a != ref:
                c = counts["twin" if norm_api(split_api_name(a)[2]) in rival else "other"]
                c[0] += a in shown
                c[1] += 1
    rate = {k: (v[0] / v[1] if v[1] else float("nan")) for k, v in counts.items()}
    share = 1.0 - rate["twin"] / rate["other"] if rate["other"] > 0 else float("nan")
    return {"twins_shown": counts["twin"][0], "twins": counts["twin"][1], "others_shown": counts["other"][0],
            "others": counts["other"][1], "twin_rate": rate["twin"], "other_rate": rate["other"],
            "hold_share": float(min(1.0, max(0.0, share))) if share == share else share}
