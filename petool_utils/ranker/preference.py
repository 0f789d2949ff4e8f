"""Preference: which provider this user wants, read from the interaction history of one setting.

The unit of preference is the provider (the ``<Tool>`` of ``<Cat>.<Tool>.<API>``): a user who called
several APIs of one provider and liked them will want that provider's version of a new function too.

* ``preferred``: every past call shows a provider the user chose, so use counts as evidence for.
* ``ratings``: a liked call is evidence for its provider, a disliked call evidence against, and a
  single dislike outweighs any number of likes of other providers (the user has tried and rejected it).
* ``chronological``: interactions are oldest first; a provider the user last used in the oldest third of
  the history and never came back to was abandoned (evidence against); one used later is wanted, the
  more recently the more.
* ``none``: no evidence; the functionality score alone decides.

A last, weaker signal holds in every setting with a history: users settle on one provider per kind of
service, so a candidate provider whose name marks it as a *sibling* of a provider the user already uses
(``Azure Smartable`` beside a used ``A.I. Smartable``) is a rival the user passed over, not a favourite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from petool_utils.data import HistoryItem
from petool_utils.ranker.functionality import provider_similarity
from petool_utils.ranker.text import tool_part


@dataclass(frozen=True)
class PreferenceWeights:
    liked: float = 1.0
    disliked: float = -3.0
    rival: float = -0.5
    rival_min_similarity: float = 0.34
    abandoned_before: float = 1 / 3


@dataclass(frozen=True)
class ProviderEvidence:
    """What the history says about providers: a signed score per used provider."""

    score: dict[str, float]
    used: frozenset[str]


def provider_evidence(history: Sequence[HistoryItem], setting: str, w: PreferenceWeights = PreferenceWeights()) -> ProviderEvidence:
    """Signed evidence per provider for one setting's history (see the module docstring)."""
    score: dict[str, float] = {}
    n = len(history)
    if setting == "chronological" and n:
        last: dict[str, int] = {}
        for i, h in enumerate(history):
            last[tool_part(h.tool_call.tool_name)] = i
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
    return ProviderEvidence(score=score, used=frozenset(score))


def preference_scores(providers: Sequence[str], ev: ProviderEvidence, w: PreferenceWeights = PreferenceWeights(), rivals: bool = True) -> list[float]:
    """Preference for each candidate provider: direct evidence, else the rival penalty, else 0."""
    liked = [t for t, s in ev.score.items() if s > 0]
    out = []
    for p in providers:
        if p in ev.score:
            out.append(ev.score[p])
        elif rivals and any(provider_similarity(p, t) >= w.rival_min_similarity for t in liked):
            out.append(w.rival)
        else:
            out.append(0.0)
    return out
