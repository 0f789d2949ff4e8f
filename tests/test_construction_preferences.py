"""Stage 04: users, one preferred tool per touched group, draws by non-functional similarity."""

from __future__ import annotations

import numpy as np

from petool_utils.construction.preferences import build_users, category_summary, preference_table

PROVIDERS = ("p0", "p1", "p2")
GROUPS = {f"g{g}": [f"<C{g}>.<{p} T{g}>.<api>" for p in PROVIDERS] for g in range(5)}
NAMES = [n for g in sorted(GROUPS) for n in GROUPS[g]] + ["<X>.<p0 lone>.<api>"]


def _nf():
    """Non-functional embeddings: one-hot by provider (a provider's tools look alike), plus tiny noise."""
    rng = np.random.default_rng(1)
    m = np.array([[1.0 if f"<{p} " in n or f".<{p} " in n else 0.0 for p in PROVIDERS] for n in NAMES])
    m += rng.normal(0, 0.01, m.shape)
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def test_every_touched_group_has_exactly_one_preferred_tool():
    users = build_users(GROUPS, NAMES, _nf(), n_users=12, groups_per_user=4, top_k=2, seed=3)
    for u in users.users:
        assert len(u.preferred) == 4
        for g, t in u.preferred.items():
            assert t in GROUPS[g]
            assert sorted(u.non_preferred[g] + [t]) == sorted(GROUPS[g])
        # a draw = a seed tool and its nearest non-functional neighbours = one provider's tools
        for draw in u.draws:
            assert len({n.split(".<")[1].split(" ")[0] for n in draw}) == 1
        assert sum(len(d) for d in u.draws) == 4


def test_same_seed_same_users_other_seed_other_users():
    a = build_users(GROUPS, NAMES, _nf(), 8, 3, 2, seed=0)
    b = build_users(GROUPS, NAMES, _nf(), 8, 3, 2, seed=0)
    c = build_users(GROUPS, NAMES, _nf(), 8, 3, 2, seed=1)
    assert a == b and a != c


def test_collisions_are_rejected_and_counted():
    # 3 groups but draws of 3 tools from one provider: a second draw always collides
    groups = {g: GROUPS[g] for g in ("g0", "g1", "g2")}
    users = build_users(groups, NAMES, _nf(), n_users=2, groups_per_user=3, top_k=5, seed=0, max_attempts=5)
    assert all(len(u.preferred) == 3 for u in users.users)  # the first draw fills all three
    short = build_users(groups, NAMES, _nf(), n_users=2, groups_per_user=3, top_k=1, seed=0, max_attempts=50)
    assert all(len(u.preferred) == 3 for u in short.users) and short.stats["rejected_draws"] >= 0


def test_preference_views():
    users = build_users(GROUPS, NAMES, _nf(), n_users=5, groups_per_user=2, top_k=1, seed=0)
    table = preference_table(users)
    assert len(table) == 10 and set(table.columns) == {"user_id", "group", "preferred", "n_non_preferred"}
    summary = category_summary(users)
    assert summary["users_preferring"].sum() == 10
    assert list(summary.columns) == ["category", "group", "tool", "users_preferring"]
