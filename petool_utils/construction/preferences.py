"""Stage 04: simulated users and their tool preferences, drawn as the paper draws them (Section 3.2).

A user's taste is a non-functional one (a provider's pricing, SDKs, licence...), so preferred tools come
in draws: a tool offering a functionality group the user does not touch yet, plus the ``top_k`` tools whose
non-functional descriptions are closest to it (the tool's description is the mean of its APIs'). A draw
whose tools overlap in functionality, with each other or with the user's preferred tools, is discarded and
sampling restarts (the paper's rule; never patched). A user prefers **tools**, as the release's users do:
every API of a preferred tool is a preferred API, and in every group where a preferred tool has an API that
API is the user's choice; the group's other APIs are the user's non-preferred ones. Draws repeat until the
user prefers ``tools_per_user`` tools (a number drawn per user from a range, as in the release: 2 to 37).

How far users draw along one shared order before drawing on their own (``sampling_order``) is what makes one
tool per group the popular one, as in the release, whose users' tool lists start alike and diverge later;
``popularity="uniform"`` is the debiased switch.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from petool_utils.benchmark.data import split_api_name
from petool_utils.benchmark.locate import require_input
from petool_utils.io import atomic_write_json, read_json


def tool_id(full_name: str) -> str:
    """``<Category>.<Tool>.<API>`` -> ``<Category>.<Tool>``: the unit a user prefers."""
    cat, tool, _ = split_api_name(full_name)
    return f"<{cat}>.<{tool}>"


def tool_parts(tool: str) -> tuple[str, str]:
    """``<Category>.<Tool>`` -> (category, tool)."""
    cat, _, name = tool[1:-1].partition(">.<")
    return cat, name


class UserPreference(BaseModel):
    user_id: str
    preferred: dict[str, str] = Field(description="group id -> the user's preferred full API name")
    non_preferred: dict[str, list[str]] = Field(description="group id -> the group's other APIs")
    tools: list[str] = Field(default_factory=list, description="preferred tools (<Category>.<Tool>), in draw order")
    draws: list[list[str]] = Field(default_factory=list, description="accepted draws: seed tool first, then its neighbours")
    rejected_draws: int = Field(0, description="draws discarded because they overlapped (sampling restarted)")


POPULARITY = ("retrieval", "uniform")
"""How preferred tools are drawn: the paper's top-k non-functional retrieval, or uniformly (the debiased
switch: no tool is preferred by more users than chance makes it, so a population prior is near chance)."""
SAMPLING_ORDER = {"shared": 1.0, "per_user": 0.0}
"""How far users walk ONE order of draws before drawing on their own: the shared prefix's length as a share of
the largest user (``tools_per_user``'s maximum). 1.0 (``shared``) makes every user's tools a prefix of one
order; 0.0 (``per_user``) makes users independent. The release's ``tool_comb`` lists have that shape: on the
dev slice the first tools are the same in 0.99 of the lists, and a list follows the common order for a median
of 17 tools (for lists of 26 or more: 17 to 21 whatever their length, of at most 37), then goes its own way."""
DEFAULT_SAMPLING_ORDER = 0.375
"""Read from the curve on the shared dev-slice corpus (docs/construction.md, block ``fidelity_curve``): of the
shares measured, 0.375 and every share above it have both the popularity concentration and
``offline:popularity`` within their tolerances, and 0.375 is the closest of them on the concentration and the
``tool_comb`` agreement (0.25, the closest on those two, leaves the popularity baseline 13 points under the
release's). The held-out halves of the fidelity table check that it carries over."""


class UsersFile(BaseModel):
    """``users.json``."""

    generator: str
    embedder: str
    seed: int
    top_k: int
    tools_per_user: list[int] = Field(description="[min, max] tools a user prefers (drawn uniformly per user)")
    popularity: str = "retrieval"
    sampling_order: str | float = DEFAULT_SAMPLING_ORDER
    users: list[UserPreference]
    stats: dict[str, float] = Field(default_factory=dict)


def size_range(value: int | Sequence[int], name: str = "tools_per_user") -> tuple[int, int]:
    """``6`` -> (6, 6); ``[3, 10]`` -> (3, 10)."""
    if isinstance(value, (int, np.integer)):
        lo = hi = int(value)
    else:
        vals = [int(v) for v in value]
        if len(vals) != 2:
            raise ValueError(f"{name} must be a number or [min, max], got {value!r}")
        lo, hi = vals
    if not 1 <= lo <= hi:
        raise ValueError(f"{name} must satisfy 1 <= min <= max, got {value!r}")
    return lo, hi


def nearest_tools(emb: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """For each row, the ``k`` other rows with the highest dot product, best first (ties: lower index)."""
    n = len(emb)
    k = max(0, min(k, n - 1))
    out = np.zeros((n, k), dtype=np.int64)
    if k == 0:
        return out
    for s in range(0, n, chunk):
        sims = emb[s : s + chunk] @ emb.T
        rows = np.arange(sims.shape[0])
        sims[rows, s + rows] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < n else np.argsort(-sims, axis=1)[:, :k]
        for r in rows:
            cand = top[r]
            # stable order: similarity, then index; a tie at the cut-off may be broken differently by
            # argpartition, so recompute the candidates that tie with the k-th value
            kth = sims[r, cand].min()
            pool = np.flatnonzero(sims[r] >= kth)
            pool = pool[np.lexsort((pool, -sims[r, pool]))][:k]
            out[s + r] = pool
    return out


def shared_share(sampling_order: str | float) -> float:
    """``"shared"`` -> 1.0, ``"per_user"`` -> 0.0, a number in [0, 1] -> itself."""
    value = SAMPLING_ORDER.get(sampling_order, sampling_order) if isinstance(sampling_order, str) else sampling_order
    try:
        value = float(value)
    except (TypeError, ValueError):
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"sampling_order must be one of {sorted(SAMPLING_ORDER)} or a share in [0, 1], "
                         f"got {sampling_order!r}")
    return value


def _overlaps(draw: Sequence[int], chosen: Mapping[str, str], tool_groups: Sequence[Mapping[str, str]]) -> bool:
    """True when two distinct tools of ``draw``, or one of them and the user's preferred ones, offer a common
    functionality group (the paper's overlap; a tool the user already prefers is not a new tool)."""
    taken = set(chosen)
    for t in draw:
        tg = set(tool_groups[t])
        if tg & taken:
            return True
        taken |= tg
    return False


def build_users(groups: Mapping[str, Sequence[str]], names: Sequence[str], nf_emb: np.ndarray, n_users: int,
                tools_per_user: int | Sequence[int], top_k: int, seed: int, max_attempts: int = 200,
                generator: str = "", embedder: str = "", popularity: str = "retrieval",
                sampling_order: str | float = DEFAULT_SAMPLING_ORDER) -> UsersFile:
    """Sample ``n_users`` users; ``names[i]`` is the API whose non-functional embedding is ``nf_emb[i]``.

    A draw (the paper, Section 3.2): a tool offering a group the user does not touch yet, plus the ``top_k``
    tools closest to it in non-functional attributes (``popularity="retrieval"``; ``"uniform"``: the tool
    alone). A draw whose tools overlap in functionality with each other or with the user's preferred tools is
    **discarded and sampling restarts** (never patched by passing over a neighbour); ``max_attempts`` draws
    per user at most. The last draw is cut to the user's size, seed first.
    """
    if popularity not in POPULARITY:
        raise ValueError(f"popularity must be one of {POPULARITY}, got {popularity!r}")
    share = shared_share(sampling_order)
    lo, hi = size_range(tools_per_user)
    prefix = round(share * hi)  # the tools a user takes along the shared walk (1.0: all of them)
    rng = np.random.default_rng(seed)
    index = {n: i for i, n in enumerate(names)}
    group_of = {m: g for g, ms in groups.items() for m in ms if m in index}
    gids = sorted(g for g in groups if any(m in index for m in groups[g]))
    tools = list(dict.fromkeys(tool_id(n) for n in names))  # corpus order
    tindex = {t: i for i, t in enumerate(tools)}
    apis_of: dict[str, list[str]] = {t: [] for t in tools}
    for n in names:
        apis_of[tool_id(n)].append(n)
    # a tool's groups, and its API in each (the first in corpus order when it has two in one group)
    tool_groups: list[dict[str, str]] = [{} for _ in tools]
    for n in names:
        if n in group_of:
            tool_groups[tindex[tool_id(n)]].setdefault(group_of[n], n)
    temb = np.zeros((len(tools), nf_emb.shape[1] if nf_emb.ndim == 2 else 0), dtype=np.float32)
    for t, apis in apis_of.items():
        temb[tindex[t]] = nf_emb[[index[a] for a in apis]].mean(axis=0)
    norms = np.linalg.norm(temb, axis=1, keepdims=True)
    temb /= np.where(norms == 0, 1.0, norms)
    k = top_k if popularity == "retrieval" else 0
    neighbours = nearest_tools(temb, min(len(tools) - 1, k))
    # the one order every user walks for its first ``prefix`` tools: the groups in a seeded order, each with its
    # seed tool fixed, so users who reach a group along it draw the same tool in it (a group the user holds
    # already is passed over; a discarded draw moves the walk on, the same for every user, as all walk alike)
    walk_rng = np.random.default_rng([seed, 1])
    walk = [gids[int(i)] for i in walk_rng.permutation(len(gids))]
    members_of = {g: [m for m in groups[g] if m in index] for g in gids}
    walk_seed = {g: tindex[tool_id(members_of[g][int(walk_rng.integers(len(members_of[g])))])] for g in walk}
    users, rejected_total, short = [], 0, 0
    for u in range(n_users):
        want = int(rng.integers(lo, hi + 1))
        own = np.random.default_rng([seed, 2, u])
        chosen: dict[str, str] = {}
        mine: list[int] = []
        draws: list[list[str]] = []
        rejected = attempts = step = 0
        while len(mine) < want and attempts < max_attempts:
            attempts += 1
            free = [g for g in gids if g not in chosen]
            if not free:
                break
            while step < len(walk) and walk[step] in chosen:
                step += 1
            if step < len(walk) and len(mine) < prefix:
                g = walk[step]
                step += 1  # a discarded draw is not retried: the walk moves on
                seed_tool = walk_seed[g]
            else:
                g = free[int(own.integers(len(free)))]
                seed_tool = tindex[tool_id(members_of[g][int(own.integers(len(members_of[g])))])]
            draw = list(dict.fromkeys([seed_tool, *(int(t) for t in neighbours[seed_tool])]))
            draw = [t for t in draw if t not in mine]
            if _overlaps(draw, chosen, tool_groups):
                rejected += 1  # the paper's rule: the whole draw is discarded, sampling restarts
                continue
            draw = draw[: want - len(mine)]
            for t in draw:
                mine.append(t)
                chosen.update(tool_groups[t])
            draws.append([tools[t] for t in draw])
        short += len(mine) < want
        rejected_total += rejected
        pref = {g: chosen[g] for g in sorted(chosen)}
        mine_set = {tools[t] for t in mine}
        non = {g: [m for m in groups[g] if m in index and tool_id(m) not in mine_set] for g in pref}
        users.append(UserPreference(user_id=f"u{u:05d}", preferred=pref, non_preferred=non, tools=[tools[t] for t in mine],
                                    draws=draws, rejected_draws=rejected))
    stats = {"users": n_users, "groups_available": len(gids), "tools": len(tools),
             "tools_in_groups": sum(1 for tg in tool_groups if tg),
             "mean_groups_per_user": round(float(np.mean([len(u.preferred) for u in users])), 2) if users else 0.0,
             "mean_tools_per_user": round(float(np.mean([len(u.tools) for u in users])), 2) if users else 0.0,
             "rejected_draws": rejected_total, "users_with_fewer_tools": short}
    return UsersFile(generator=generator, embedder=embedder, seed=seed, top_k=top_k, tools_per_user=[lo, hi],
                     popularity=popularity, sampling_order=sampling_order, users=users, stats=stats)


def write_users(run_dir: str | os.PathLike[str], users: UsersFile) -> Path:
    return atomic_write_json(Path(run_dir) / "users.json", users.model_dump(mode="json"), indent=None)


def read_users(run_dir: str | os.PathLike[str]) -> UsersFile:
    return UsersFile.model_validate(read_json(require_input(Path(run_dir) / "users.json")))


def preference_table(users: UsersFile) -> pd.DataFrame:
    """One row per (user, group): the preferred tool and how many alternatives it beat."""
    rows = [{"user_id": u.user_id, "group": g, "preferred": t, "n_non_preferred": len(u.non_preferred[g])}
            for u in users.users for g, t in u.preferred.items()]
    return pd.DataFrame(rows, columns=["user_id", "group", "preferred", "n_non_preferred"])


def category_summary(users: UsersFile) -> pd.DataFrame:
    """Category -> group -> tool: how many users prefer each tool (the preference view's roll-up)."""
    counts = Counter((g, t) for u in users.users for g, t in u.preferred.items())
    rows = []
    for (g, t), n in sorted(counts.items()):
        cat, tool, api = split_api_name(t)
        rows.append({"category": cat, "group": g, "tool": f"{tool} / {api}", "users_preferring": n})
    df = pd.DataFrame(rows, columns=["category", "group", "tool", "users_preferring"])
    return df.sort_values(["category", "group", "users_preferring", "tool"], ascending=[True, True, False, True]).reset_index(drop=True)
