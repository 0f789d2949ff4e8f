"""Preference: which provider this user wants, read from the interaction history of one setting.

The unit of preference is the provider (the ``<Tool>`` of ``<Cat>.<Tool>.<API>``): a user who called
several APIs of one provider and liked them will want that provider's version of a new function too.

* ``preferred``: every past call shows a provider the user chose, so use counts as evidence for.
* ``ratings``: a liked call is evidence for its provider, a disliked call evidence against, and a
  single dislike outweighs any number of likes of other providers (the user has tried and rejected it).
* ``chronological``: interactions are oldest first; a provider the user last used in the older half of
  the history and never came back to was abandoned (evidence against); one used later is wanted, the
  more recently the more.
* ``none``: no evidence; the functionality score alone decides.

When the user's own history says nothing about any provider of the group (about half of the
preferred-only entries: the user's favourite for this function simply never came up), the choice falls
back on a fitted prior (:mod:`.prior`): how many *training* users liked (or rejected) each provider in
their histories. Without a prior (``offline:ranker``) nothing but the entry's own prompt is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from petool_utils.benchmark.data import HistoryItem
from petool_utils.predictors.ranker.text import tool_part


@dataclass(frozen=True)
class PreferenceWeights:
    liked: float = 1.0
    disliked: float = -3.0
    abandoned_before: float = 1 / 3
    """chronological, one provider on its own: abandoned when its last use falls before this fraction of
    the history (the rule the prior's votes use)."""
    group_relative: bool = True
    """chronological, inside the chosen group: of two or more providers the history names, the one used
    last is wanted and the others were abandoned; a lone provider is judged by ``lone_abandoned_before``."""
    lone_abandoned_before: float = 1 / 2


@dataclass(frozen=True)
class ProviderEvidence:
    """What the history says about providers: a signed score per used provider."""

    score: dict[str, float]
    used: frozenset[str]
    last: dict[str, int] = field(default_factory=dict)
    """Index of each provider's last use (oldest first)."""
    n: int = 0


def provider_evidence(history: Sequence[HistoryItem], setting: str, w: PreferenceWeights = PreferenceWeights()) -> ProviderEvidence:
    """Signed evidence per provider for one setting's history (see the module docstring)."""
    score: dict[str, float] = {}
    n = len(history)
    last: dict[str, int] = {}
    for i, h in enumerate(history):
        last[tool_part(h.tool_call.tool_name)] = i
    if setting == "chronological" and n:
        for t, i in last.items():
            recent = (i + 0.5) / n >= w.abandoned_before
            score[t] = w.liked if recent else w.disliked
        # more recent use is the stronger preference: order the liked ones by their last use
        for t, i in last.items():
            if score[t] > 0:
                score[t] += (i + 1) / (10.0 * n)
    else:
        for h in history:
            t = tool_part(h.tool_call.tool_name)
            if setting == "ratings" and h.rating == 0:
                score[t] = score.get(t, 0.0) + w.disliked
            else:
                score[t] = score.get(t, 0.0) + w.liked / max(1.0, float(n))
        # a liked provider's evidence saturates: one like is already a preference
        for t, s in score.items():
            if s > 0:
                score[t] = w.liked + s
    return ProviderEvidence(score=score, used=frozenset(score), last=last, n=n)


def group_preference(providers: Sequence[str], ev: ProviderEvidence, setting: str,
                     w: PreferenceWeights = PreferenceWeights()) -> list[float]:
    """The user's evidence for each member of one functionality group (0 where the history is silent).

    Chronological histories are read against the group (``w.group_relative``): a user who switched
    from one provider of this function to another used the old one first, so among the members the
    history names, the last used is wanted and the others were abandoned; a member named alone was
    abandoned if it was not used in the later part of the history.
    """
    if setting != "chronological" or not w.group_relative or not ev.n:
        return preference_scores(providers, ev)
    named = {p: ev.last[p] for p in providers if p in ev.last}
    if not named:
        return [0.0] * len(providers)
    if len(named) == 1:
        (p, i), = named.items()
        lone = w.liked if (i + 0.5) / ev.n >= w.lone_abandoned_before else w.disliked
        return [lone if q == p else 0.0 for q in providers]
    latest = max(named, key=lambda p: named[p])
    return [0.0 if q not in named else (w.liked if q == latest else w.disliked) for q in providers]


def preference_scores(providers: Sequence[str], ev: ProviderEvidence) -> list[float]:
    """The user's own evidence for each candidate provider (0 where the history is silent)."""
    return [ev.score.get(p, 0.0) for p in providers]
