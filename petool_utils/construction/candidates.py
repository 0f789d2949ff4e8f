"""Stage 05b: the candidate tools of an instruction.

As the paper builds them: the reference tool and its whole functionality group (so the choice is a
preference, not a functionality, question), the ``n_retrieved`` tools a dense retriever finds for the
instruction among the API documents (the role of ToolRetriever; petool's is MiniLM, named as such in the
manifest), then random tools **of other categories** up to ``n_candidates``; shuffled with the seed. A
group larger than ``n_candidates`` is cut to fit, the reference always kept.

The random fill never takes an API of one of the user's own tools (``not_from``). Over ToolBench's thousands of
tools a random API is one of the user's 20-odd tools well under 1% of the time (the release: 1.3% of the
candidates from other categories than the reference's are the user's); over a corpus of a few hundred tools it
is 5-13% (the dev-slice and built-in corpora), and each such candidate is a tool the history shows, a lure no
released entry has as often. Retrieved candidates are kept as the retriever ranks them.
"""

from __future__ import annotations

import json
from typing import Any, Collection, Sequence

import numpy as np

from petool_utils.benchmark.data import split_api_name
from petool_utils.construction.preferences import tool_id


def api_document(t: Any) -> str:
    """The text the retriever indexes for an API, in ToolBench's retrieval-corpus layout (its
    ``process_retrieval_ducoment``: category, tool, API name, description, then the required and optional
    parameters and the response schema as JSON): what ToolRetriever reads, not petool's functionality summary.
    (On the dev-slice corpus this layout barely changes how many of the reference's clones in other categories
    are retrieved; ``retriever_noise`` is what brings the retrieval to the release's agreement.)
    ToolBench-layout corpora without ``template_response`` give an empty schema, as ToolBench does for such
    APIs."""

    def params(ps: Sequence[Any]) -> str:
        return json.dumps([p.model_dump(exclude_none=True) if hasattr(p, "model_dump") else p for p in ps],
                          ensure_ascii=False)

    schema = getattr(t, "template_response", None) or ""
    return (f"{t.category}, {t.tool_name}, {t.api_name}, {t.api_description}, "
            f"required_params: {params(t.required_parameters)}, optional_params: {params(t.optional_parameters)}, "
            f"return_schema: {json.dumps(schema, ensure_ascii=False)}")


def candidate_names(reference: str, group: Sequence[str], names: Sequence[str], ranked: Sequence[int],
                    rng: np.random.Generator, n_candidates: int = 10, n_retrieved: int = 5,
                    not_from: Collection[str] = ()) -> list[str]:
    """Candidate full names; ``ranked`` lists indices into ``names``, most similar to the instruction first
    (enough of them to find ``n_retrieved`` outside the group: see :func:`top_similar`). The random fill comes
    from categories other than the reference's (all categories when those run out), and not from the tools in
    ``not_from`` (tool ids as :func:`~petool_utils.construction.preferences.tool_id` writes them; stage 05 passes
    the user's own tools, see the module docstring) unless the corpus has too few others."""
    cat = split_api_name(reference)[0] if reference.startswith("<") else None

    def mine(name: str) -> bool:
        return bool(not_from) and tool_id(name) in not_from

    chosen = [reference] + [g for g in group if g != reference]
    chosen = chosen[:n_candidates]
    taken = set(chosen)
    retrieved = [names[i] for i in ranked if names[i] not in taken][: max(0, min(n_retrieved, n_candidates - len(chosen)))]
    chosen += retrieved
    taken.update(retrieved)
    need = min(max(0, n_candidates - len(chosen)), len(names) - len(taken))
    if need and len(names) - len(taken) <= 4 * need:  # a small corpus: draw from what is left
        rest = [n for n in names if n not in taken]
        free = [n for n in rest if not mine(n)]
        rest = free if len(free) >= need else rest
        other = [n for n in rest if cat is None or split_api_name(n)[0] != cat]
        rest = other if len(other) >= need else rest
        chosen += [rest[i] for i in sorted(rng.choice(len(rest), size=need, replace=False))]
    else:  # a large one: draw indices until enough new ones (no pass over the corpus per entry)
        tries = 0
        while need:
            name = names[int(rng.integers(len(names)))]
            tries += 1
            if tries < 50 * n_candidates and ((cat is not None and split_api_name(name)[0] == cat) or mine(name)):
                continue
            if name not in taken:
                taken.add(name)
                chosen.append(name)
                need -= 1
    return [chosen[i] for i in rng.permutation(len(chosen))]


def top_similar(queries: np.ndarray, items: np.ndarray, k: int, chunk: int = 1024, noise: float = 0.0,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """For each query row, the ``k`` item rows with the highest dot product, best first (ties: lower index).

    ``noise``: the standard deviation of a seeded Gaussian added to every score before ranking (a retriever that
    agrees with this one only in part; see ``retriever_noise`` in stage 05). Computed ``chunk`` queries at a time,
    so memory stays ``chunk x len(items)`` however many queries."""
    if noise and rng is None:
        raise ValueError("top_similar: noise needs a seeded rng")
    n = items.shape[0]
    k = max(0, min(k, n))
    out = np.zeros((queries.shape[0], k), dtype=np.int64)
    if k == 0 or queries.shape[0] == 0:
        return out
    for s in range(0, queries.shape[0], chunk):
        sims = np.asarray(queries[s : s + chunk] @ items.T, dtype=np.float64)
        if noise:
            sims = sims + rng.normal(0.0, noise, sims.shape)
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (sims.shape[0], 1))
        for r in range(sims.shape[0]):
            cand = top[r]
            out[s + r] = cand[np.lexsort((cand, -sims[r, cand]))]
    return out
