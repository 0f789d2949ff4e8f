"""The non-functional signal: which provider resembles the tools this user already prefers.

PEToolBench builds a user's preferred tools by retrieving tools with *similar non-functional
attributes* (the paper's §3.2.2): provider, documentation style, the way a description is written. So
when the history never touches the request's functionality group (about half the preferred-only
entries), the group member that looks most like the history's tools is a better guess than list order.

What one prompt shows of a tool's non-functional side: the provider's name (its words and its style:
a version suffix, spaces or camelCase), its category, and for the candidates the API description
(empty or written out, its length). The score of a candidate against the history (:func:`nonfunctional_score`)
adds, with round weights:

* ``name``: the largest word overlap (Jaccard) between its provider's name and a history provider's;
* ``style``: the share of history providers written in the same name style (:func:`name_style`);
* ``category``: the share of history calls in its category;
* ``description``: the share of its description's words that the history's instructions use.

It only orders members the user's own evidence leaves tied; whether it is on is decided by
group-disjoint cross-validation on the dev slice (docs/ranker.md, design checks): off by default,
because no held-out fold gained from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from petool_utils.benchmark.data import CandidateTool, HistoryItem
from petool_utils.predictors.ranker.text import category_part, content_words, name_words, tool_part


@dataclass(frozen=True)
class NonFunctionalWeights:
    name: float = 1.0
    style: float = 0.5
    category: float = 0.5
    description: float = 0.5


def name_style(provider: str) -> tuple[bool, bool, bool]:
    """(has a version suffix, has a space, is camelCase or one word): how a provider writes its name."""
    return (bool(re.search(r"_v\d+$", provider)), " " in provider, bool(re.fullmatch(r"[A-Za-z0-9.]+", provider)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def nonfunctional_score(cand: CandidateTool, history: Sequence[HistoryItem],
                        w: NonFunctionalWeights = NonFunctionalWeights()) -> float:
    """How much ``cand``'s provider resembles the providers of ``history`` (0 for an empty history)."""
    if not history:
        return 0.0
    providers = [tool_part(h.tool_call.tool_name) for h in history]
    distinct = sorted(set(providers))
    p = tool_part(cand.tool_name)
    nw = name_words(p)
    name = max(_jaccard(nw, name_words(q)) for q in distinct)
    style = sum(name_style(q) == name_style(p) for q in distinct) / len(distinct)
    cat = category_part(cand.tool_name)
    category = sum(category_part(h.tool_call.tool_name) == cat for h in history) / len(history)
    dw = content_words(cand.tool_description)
    hw = frozenset().union(*(content_words(h.instruction) for h in history))
    description = len(dw & hw) / len(dw) if dw else 0.0
    return round(w.name * name + w.style * style + w.category * category + w.description * description, 4)
