"""Stage 05b: the candidate tools of an instruction.

The reference tool and its whole functionality group (so the choice is a preference, not a
functionality, question), the ``n_retrieved`` tools most similar to the instruction (hard
distractors), random tools up to ``n_candidates``; shuffled with the seed. A group larger than
``n_candidates`` is cut to fit, the reference always kept.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def candidate_names(reference: str, group: Sequence[str], names: Sequence[str], sims: np.ndarray,
                    rng: np.random.Generator, n_candidates: int = 10, n_retrieved: int = 5) -> list[str]:
    """Candidate full names; ``sims[i]`` is the instruction's similarity to ``names[i]``."""
    chosen = [reference] + [g for g in group if g != reference]
    chosen = chosen[:n_candidates]
    taken = set(chosen)
    order = np.lexsort((np.arange(len(names)), -np.asarray(sims, dtype=float)))
    retrieved = [names[i] for i in order if names[i] not in taken][: max(0, min(n_retrieved, n_candidates - len(chosen)))]
    chosen += retrieved
    taken.update(retrieved)
    rest = [n for n in names if n not in taken]
    need = max(0, n_candidates - len(chosen))
    if need and rest:
        pick = rng.choice(len(rest), size=min(need, len(rest)), replace=False)
        chosen += [rest[i] for i in sorted(pick)]
    return [chosen[i] for i in rng.permutation(len(chosen))]
