"""Property tests for the construction's parser (LLM replies) and scorer (clustering vs. labels)."""

from __future__ import annotations

import json
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from petool_utils.construction.clustering import score_groups
from petool_utils.construction.llm_calls import extract_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids, max_size=4),
    max_leaves=12,
)


@given(st.one_of(st.dictionaries(st.text(max_size=6), json_values, max_size=4), st.lists(json_values, max_size=4)))
def test_extract_json_reads_what_was_written(value):
    text = json.dumps(value, ensure_ascii=False)
    assert extract_json(text) == value
    assert extract_json(f"```json\n{text}\n```") == value
    assert extract_json(f"Here you go: {text}") == value


labels_strategy = st.lists(st.integers(0, 5), min_size=2, max_size=25)


@given(labels_strategy)
@settings(max_examples=60, deadline=None)
def test_groups_equal_to_the_labels_score_perfectly(lab):
    labels = {f"a{i}": str(x) for i, x in enumerate(lab)}
    groups: dict[str, list[str]] = {}
    for k, v in labels.items():
        groups.setdefault(v, []).append(k)
    groups = {g: m for g, m in groups.items() if len(m) >= 2}  # singletons are never a group
    s = score_groups(groups, labels, corpus=list(labels))
    assert (s.pair_precision, s.pair_recall, s.ari) == (1.0, 1.0, 1.0)


@given(labels_strategy, st.lists(st.integers(0, 4), min_size=25, max_size=25))
@settings(max_examples=60, deadline=None)
def test_pairwise_scores_match_a_brute_force_count(lab, assign):
    names = [f"a{i}" for i in range(len(lab))]
    labels = dict(zip(names, map(str, lab)))
    groups: dict[str, list[str]] = {}
    for n, g in zip(names, assign):
        groups.setdefault(f"g{g}", []).append(n)
    s = score_groups(groups, labels, corpus=names)
    pairs = list(combinations(range(len(names)), 2))
    tp = sum(lab[i] == lab[j] and assign[i] == assign[j] for i, j in pairs)
    pred = sum(assign[i] == assign[j] for i, j in pairs)
    true = sum(lab[i] == lab[j] for i, j in pairs)
    assert s.pair_precision == (tp / pred if pred else 1.0)
    assert s.pair_recall == (tp / true if true else 1.0)
    assert -1.0 <= s.ari <= 1.0


def test_tool_comb_walk_on_hand_made_lists():
    """Modal order a, b, c, d (c: the first and third list agree at position 2). Agreement: 4 of 4, 2 of 3,
    2 of 3 positions = 8/10; runs from the start: 4, 2, 1, median 2. Independent lists share nothing."""
    from petool_utils.construction.statistics import tool_comb_walk

    assert tool_comb_walk([["a", "b", "c", "d"], ["a", "b", "x"], ["a", "y", "c"]]) == (0.8, 2.0)
    assert tool_comb_walk([["a", "b"]] * 3) == (1.0, 2.0)
    agree, run = tool_comb_walk([[]])
    assert agree != agree and run != run  # no lists: NaN, not 0


@given(st.lists(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=8), min_size=1, max_size=12))
def test_tool_comb_walk_is_a_share_and_a_run_no_longer_than_the_lists(combs):
    from petool_utils.construction.statistics import tool_comb_walk

    agree, run = tool_comb_walk(combs)
    assert 0.0 < agree <= 1.0  # position 0's modal tool is some list's first tool
    assert 0.0 <= run <= max(map(len, combs))
    if all(c == combs[0] for c in combs):
        assert (agree, run) == (1.0, float(len(combs[0])))
