"""Fitting a prompt into a token budget by dropping the oldest history items: one rule for evaluation
(the HF backend) and training (SFT/DPO records), so a model is trained on the prompts it is tested on.

The query and the candidate list are never cut; history items go oldest first. Fewer items never make
a prompt longer, so the smallest number to drop is found by bisection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Fitted(Generic[T]):
    """The fitted rendering, the history items dropped, its token count, and ``over_limit`` when even
    an empty history does not fit (the prompt is then used as it is: nothing else may be cut)."""

    value: T
    dropped: int
    tokens: int
    over_limit: bool


def fit_history(render: Callable[[int], T], count: Callable[[T], int], max_drop: int, budget: int) -> Fitted[T]:
    """The rendering with the fewest oldest items dropped whose ``count`` is at most ``budget``.

    ``render(k)`` renders with the ``k`` oldest history items dropped (``0 <= k <= max_drop``).
    """
    first = render(0)
    n = count(first)
    if n <= budget or max_drop <= 0:
        return Fitted(first, 0, n, n > budget)
    last = render(max_drop)
    n_last = count(last)
    if n_last > budget:
        return Fitted(last, max_drop, n_last, True)
    lo, hi, best = 1, max_drop, (last, n_last)
    while lo < hi:
        mid = (lo + hi) // 2
        cand = render(mid)
        n_mid = count(cand)
        if n_mid <= budget:
            hi, best = mid, (cand, n_mid)
        else:
            lo = mid + 1
    return Fitted(best[0], hi, best[1], False)
