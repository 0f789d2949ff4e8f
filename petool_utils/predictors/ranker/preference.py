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

When the user's own history says nothing about any provider of the group (about half of the
preferred-only entries: the user's favourite for this function simply never came up), the choice falls
back on the *population*: how many other users liked (or rejected) each provider in their histories.
That is collaborative filtering on interaction histories only (never on reference answers), and it is
the one place where the ranker sees more than the entry's own prompt: an LLM given one prompt cannot.
Reports state which population a number used (``population="off"`` turns it off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from petool_utils.benchmark.data import HistoryItem
from petool_utils.predictors.ranker.text import tool_part


@dataclass(frozen=True)
class PreferenceWeights:
    liked: float = 1.0
    disliked: float = -3.0
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


def preference_scores(providers: Sequence[str], ev: ProviderEvidence) -> list[float]:
    """The user's own evidence for each candidate provider (0 where the history is silent)."""
    return [ev.score.get(p, 0.0) for p in providers]


class ProviderPopularity:
    """How many users' histories speak for (+1) or against (-1) each provider, per setting.

    Filled from interaction histories only. ``add`` is idempotent per (setting, user key), so the same
    user seen twice (once through ``fit``, once in the batch being predicted) is counted once.
    """

    def __init__(self) -> None:
        self._votes: dict[str, dict[object, dict[str, int]]] = {}

    def add(self, key: object, history: Sequence[HistoryItem], setting: str) -> None:
        if not history:
            return
        ev = provider_evidence(history, setting)
        self._votes.setdefault(setting, {})[key] = {p: (1 if s > 0 else -1) for p, s in ev.score.items()}

    def table(self, setting: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for votes in self._votes.get(setting, {}).values():
            for p, v in votes.items():
                out[p] = out.get(p, 0) + v
        return out

    def copy(self) -> "ProviderPopularity":
        new = ProviderPopularity()
        new._votes = {s: dict(d) for s, d in self._votes.items()}
        return new

    def __len__(self) -> int:
        return sum(len(d) for d in self._votes.values())
