"""Stage 05b: the candidate tools of an instruction.

The reference tool and its whole functionality group (so the choice is a preference, not a
functionality, question), the ``n_retrieved`` tools most similar to the instruction (hard
distractors), random tools up to ``n_candidates``; shuffled with the seed. A group larger than
``n_candidates`` is cut to fit, the reference always kept.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def candidate_names(reference: str, group: Sequence[str], names: Sequence[str], ranked: Sequence[int],
                    rng: np.random.Generator, n_candidates: int = 10, n_retrieved: int = 5) -> list[str]:
    """Candidate full names; ``ranked`` lists indices into ``names``, most similar to the instruction first
    (enough of them to find ``n_retrieved`` outside the group: see :func:`top_similar`)."""
    chosen = [reference] + [g for g in group if g != reference]
    chosen = chosen[:n_candidates]
    taken = set(chosen)
    retrieved = [names[i] for i in ranked if names[i] not in taken][: max(0, min(n_retrieved, n_candidates - len(chosen)))]
    chosen += retrieved
    taken.update(retrieved)
    need = min(max(0, n_candidates - len(chosen)), len(names) - len(taken))
    if need and len(names) - len(taken) <= 4 * need:  # a small corpus: draw from what is left
        rest = [n for n in names if n not in taken]
        chosen += [rest[i] for i in sorted(rng.choice(len(rest), size=need, replace=False))]
    else:  # a large one: draw indices until enough new ones (no pass over the corpus per entry)
        while need:
            name = names[int(rng.integers(len(names)))]
            if name not in taken:
                taken.add(name)
                chosen.append(name)
                need -= 1
    return [chosen[i] for i in rng.permutation(len(chosen))]


def top_similar(queries: np.ndarray, items: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """For each query row, the ``k`` item rows with the highest dot product, best first (ties: lower index).

    Computed ``chunk`` queries at a time, so memory stays ``chunk x len(items)`` however many queries."""
    n = items.shape[0]
    k = max(0, min(k, n))
    out = np.zeros((queries.shape[0], k), dtype=np.int64)
    if k == 0 or queries.shape[0] == 0:
        return out
    for s in range(0, queries.shape[0], chunk):
        sims = np.asarray(queries[s : s + chunk] @ items.T, dtype=np.float64)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (sims.shape[0], 1))
        for r in range(sims.shape[0]):
            cand = top[r]
            out[s + r] = cand[np.lexsort((cand, -sims[r, cand]))]
    return out
