"""Stage 04: simulated users and their tool preferences.

A user's taste is a non-functional one (a provider's pricing, SDKs, licence...), so preferred tools
are drawn together: a random tool of a random group, plus the ``top_k`` tools whose non-functional
descriptions are closest to it. A draw whose groups collide with each other or with an earlier
draw is rejected and resampled, so every group a user touches has exactly one preferred tool; the
group's other tools are that user's non-preferred ones.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from petool_utils.io import atomic_write_json, read_json


class UserPreference(BaseModel):
    user_id: str
    preferred: dict[str, str] = Field(description="group id -> the user's preferred full API name")
    non_preferred: dict[str, list[str]] = Field(description="group id -> the group's other tools")
    draws: list[list[str]] = Field(default_factory=list, description="accepted draws: seed tool first, then its neighbours")
    rejected_draws: int = 0


class UsersFile(BaseModel):
    """``users.json``."""

    generator: str
    embedder: str
    seed: int
    top_k: int
    groups_per_user: int
    users: list[UserPreference]
    stats: dict[str, int] = Field(default_factory=dict)


def build_users(groups: Mapping[str, Sequence[str]], names: Sequence[str], nf_emb: np.ndarray, n_users: int,
                groups_per_user: int, top_k: int, seed: int, max_attempts: int = 200,
                generator: str = "", embedder: str = "") -> UsersFile:
    """Sample ``n_users`` users; ``names[i]`` is the API whose non-functional embedding is ``nf_emb[i]``."""
    rng = np.random.default_rng(seed)
    index = {n: i for i, n in enumerate(names)}
    group_of = {m: g for g, ms in groups.items() for m in ms if m in index}
    gids = sorted(g for g in groups if any(m in index for m in groups[g]))
    pool = np.array(sorted(group_of, key=index.get))  # grouped tools, corpus order
    pool_idx = np.array([index[m] for m in pool], dtype=int)
    want = min(groups_per_user, len(gids))
    users, rejected_total, short = [], 0, 0
    for u in range(n_users):
        chosen: dict[str, str] = {}
        draws: list[list[str]] = []
        rejected = attempts = 0
        while len(chosen) < want and attempts < max_attempts:
            attempts += 1
            free = [g for g in gids if g not in chosen]
            g = free[int(rng.integers(len(free)))]
            members = [m for m in groups[g] if m in index]
            seed_tool = members[int(rng.integers(len(members)))]
            sims = pool_idx.size and nf_emb[pool_idx] @ nf_emb[index[seed_tool]]
            order = np.lexsort((np.arange(len(pool)), -np.asarray(sims)))  # stable: ties by corpus order
            neigh = [str(pool[i]) for i in order if group_of[str(pool[i])] != g][: max(0, min(top_k, want - len(chosen) - 1))]
            draw = [seed_tool] + neigh
            draw_groups = [group_of[m] for m in draw]
            if len(set(draw_groups)) != len(draw_groups) or any(x in chosen for x in draw_groups):
                rejected += 1
                continue
            for m, dg in zip(draw, draw_groups):
                chosen[dg] = m
            draws.append(draw)
        short += len(chosen) < want
        rejected_total += rejected
        pref = {g: chosen[g] for g in sorted(chosen)}
        non = {g: [m for m in groups[g] if m != pref[g] and m in index] for g in pref}
        users.append(UserPreference(user_id=f"u{u:04d}", preferred=pref, non_preferred=non, draws=draws,
                                    rejected_draws=rejected))
    stats = {"users": n_users, "groups_available": len(gids), "rejected_draws": rejected_total,
             "users_with_fewer_groups": short}
    return UsersFile(generator=generator, embedder=embedder, seed=seed, top_k=top_k, groups_per_user=groups_per_user,
                     users=users, stats=stats)


def write_users(run_dir: str | os.PathLike[str], users: UsersFile) -> Path:
    return atomic_write_json(Path(run_dir) / "users.json", users.model_dump(mode="json"))


def read_users(run_dir: str | os.PathLike[str]) -> UsersFile:
    path = Path(run_dir) / "users.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run 04_preference_construction first")
    return UsersFile.model_validate(read_json(path))


def preference_table(users: UsersFile) -> pd.DataFrame:
    """One row per (user, group): the preferred tool and how many alternatives it beat."""
    rows = [{"user_id": u.user_id, "group": g, "preferred": t, "n_non_preferred": len(u.non_preferred[g])}
            for u in users.users for g, t in u.preferred.items()]
    return pd.DataFrame(rows, columns=["user_id", "group", "preferred", "n_non_preferred"])


def category_summary(users: UsersFile) -> pd.DataFrame:
    """Category -> group -> tool: how many users prefer each tool (the preference view's roll-up)."""
    from petool_utils.benchmark.data import split_api_name

    counts = Counter((g, t) for u in users.users for g, t in u.preferred.items())
    rows = []
    for (g, t), n in sorted(counts.items()):
        cat, tool, api = split_api_name(t)
        rows.append({"category": cat, "group": g, "tool": f"{tool} / {api}", "users_preferring": n})
    df = pd.DataFrame(rows, columns=["category", "group", "tool", "users_preferring"])
    return df.sort_values(["category", "group", "users_preferring", "tool"], ascending=[True, True, False, True]).reset_index(drop=True)
