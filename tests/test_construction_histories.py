"""Stage 05: histories as the release builds them (the preferred APIs' examples; derived ratings and
chronological histories), held-out queries, counted filters, candidate sets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petool_utils.benchmark.data import ToolParameter
from petool_utils.construction.candidates import candidate_names, top_similar
from petool_utils.construction.histories import (FILTER_REASONS, ItemFilter, Query, UserData, create_all,
                                                 disliked_count, entry_histories, leaked, tool_sample,
                                                 usable_examples)
from petool_utils.construction.preferences import UserPreference, tool_id
from petool_utils.construction.understanding import ToolExample, UnderstoodTool
from petool_utils.construction.standin import OfflineStandinLLM

PREF, OTHER = "<Weather>.<SkyCast>.<Forecast>", "<Weather>.<MeteoPro>.<Forecast>"


def _u(name, example=None, params=None):
    cat, tool, api = name[1:-1].split(">.<")
    return UnderstoodTool(api_id=0, full_name=name, category=cat, tool_name=tool, api_name=api, api_description=api,
                          required_parameters=[ToolParameter(name="city", type="STRING")],
                          optional_parameters=[ToolParameter(name="units", type="STRING")],
                          example=ToolExample(instruction=example or f"I want the {api} for Oslo.",
                                              parameters={"city": "Oslo"} if params is None else params),
                          functionality="f", non_functional="n", generator="t")


ALLOWED = {PREF: _u(PREF)}


def _raw(instr="I want the forecast for Oslo.", params=None, **kw):
    return {"instruction": instr, "parameters": {"city": "Oslo"} if params is None else params, **kw}


@pytest.mark.parametrize("raw, reason", [
    ("not an object", "malformed_item"),
    ({"parameters": {}}, "malformed_item"),
    (_raw(tool_name="<Weather>.<Nowhere>.<Forecast>"), "unknown_tool"),
    (_raw(params={"city": "Oslo", "colour": "red"}), "invalid_parameters"),
    (_raw(params={"units": "metric"}), "invalid_parameters"),  # required city missing
    (_raw("Use SkyCast for the Oslo forecast."), "tool_name_leaked"),
    (_raw("Ask meteopro about Oslo."), "tool_name_leaked"),
])
def test_each_bad_instruction_is_counted_under_its_reason(raw, reason):
    f = ItemFilter()
    assert f.accept(raw, ALLOWED, set(), PREF, [PREF, OTHER]) is None
    assert f.counts[reason] == 1 and sum(f.counts.values()) == 1 and f.n_kept == 0


def test_duplicates_are_counted():
    f, seen = ItemFilter(), set()
    assert f.accept(_raw(), ALLOWED, seen, PREF, [PREF]) == {"instruction": "I want the forecast for Oslo.",
                                                             "tool_name": PREF, "parameters": {"city": "Oslo"}}
    assert f.accept(_raw("  i want the FORECAST for oslo. "), ALLOWED, seen, PREF, [PREF]) is None
    assert dict(f.counts) == {r: 0 for r in FILTER_REASONS} | {"duplicate": 1} and (f.n_seen, f.n_kept) == (2, 1)


def test_leak_check_ignores_short_names_and_case():
    assert leaked("try SKYCAST", [PREF]) and not leaked("I want it", ["<A>.<It>.<x>"])


def test_examples_that_fail_a_check_never_enter_a_history():
    tools = {PREF: _u(PREF), OTHER: _u(OTHER, example="Ask MeteoPro."), "<W>.<Bad>.<x>": _u("<W>.<Bad>.<x>", params={})}
    f = ItemFilter()
    assert usable_examples(tools, f) == {PREF}
    assert f.counts["tool_name_leaked"] == 1 and f.counts["invalid_parameters"] == 1 and (f.n_seen, f.n_kept) == (3, 1)


@pytest.mark.parametrize("n_pref, available, max_history, share, cap, expected", [
    (40, 9, 20, 0.78, 5, 5),     # 20 * 0.22 / 0.78 = 5.6 -> 6, capped at 5: 15 liked of 20 shown
    (10, 9, 20, 0.78, 5, 3),     # 10 * 0.282 = 2.8 -> 3: 10 of 13 liked
    (2, 9, 20, 0.78, 5, 1),      # at least one
    (40, 2, 20, 0.78, 5, 2),     # the competing tool has two APIs
    (40, 9, 20, 0.5, 5, 5),
    (0, 9, 20, 0.78, 5, 0),      # no history, no entry
    (3, 9, 2, 0.1, 5, 1),        # keep one preferred item in a window of 2
])
def test_disliked_count(n_pref, available, max_history, share, cap, expected):
    assert disliked_count(n_pref, available, max_history, share, cap) == expected


# A corpus of three tools: A and B compete in g1 and g2, C alone in g3 with D; A, B have APIs of their own.
A1, A2, A3 = "<W>.<Aa>.<one>", "<W>.<Aa>.<two>", "<W>.<Aa>.<own>"
B1, B2, B3, B4 = "<W>.<Bb>.<one>", "<W>.<Bb>.<two>", "<W>.<Bb>.<own>", "<W>.<Bb>.<more>"
C1, D1 = "<N>.<Cc>.<three>", "<N>.<Dd>.<three>"
TOOLS = {n: _u(n) for n in (A1, A2, A3, B1, B2, B3, B4, C1, D1)}
USER = UserPreference(user_id="u00007", preferred={"g1": A1, "g2": A2, "g3": C1},
                      non_preferred={"g1": [B1], "g2": [B2], "g3": [D1]}, tools=["<W>.<Aa>", "<N>.<Cc>"])


def _build(queries_per_user=1, max_history=20, seed=0, users=(USER,)):
    return create_all(list(users), TOOLS, OfflineStandinLLM(seed=0), queries_per_user, seed, max_history,
                      liked_share=0.78, max_disliked=5)


def test_history_is_the_preferred_apis_examples_without_the_query_group():
    data, log = _build(queries_per_user=1)
    (u,) = data
    (q,) = u.queries
    held = {q.tool_name} | set(USER.non_preferred[q.group])
    preferred_apis = {A1, A2, A3, C1}
    assert set(u.history) == preferred_apis - held and len(u.history) == len(set(u.history))
    assert q.tool_name == USER.preferred[q.group] and q.tool_name not in u.history
    # non-preferred items: APIs of the one competing tool of the query's group
    rival = {"g1": "<W>.<Bb>", "g2": "<W>.<Bb>", "g3": "<N>.<Dd>"}[q.group]
    assert q.disliked and all(d.startswith(rival[:-1]) for d in q.disliked) and len(set(q.disliked)) == len(q.disliked)
    assert log["history_items"]["n_kept"] == len(TOOLS) and log["new_instructions"]["n_kept"] == 1


def test_entry_histories_are_derived_from_the_one_history():
    data, _ = _build(queries_per_user=2)
    (u,) = data
    for qi, q in enumerate(u.queries):
        h = entry_histories(u, q, qi, TOOLS, max_history=20, seed=0)
        # every item is an API's tool-use example, word for word
        for it in h["preferred"] + h["ratings"] + h["chronological"]:
            t = TOOLS[it.tool_call.tool_name]
            assert it.instruction == t.example.instruction and it.tool_call.parameters == t.example.parameters
        assert [it.tool_call.tool_name for it in h["preferred"]] == u.history
        n = len(q.disliked)
        chrono = [it.tool_call.tool_name for it in h["chronological"]]
        assert chrono == q.disliked + u.history  # non-preferred first, then the history in order
        assert sorted((it.tool_call.tool_name, it.rating) for it in h["ratings"]) == sorted(
            [(a, 1) for a in u.history] + [(d, 0) for d in q.disliked])
        assert all(it.rating is None for it in h["preferred"] + h["chronological"]) and n >= 1


def test_windows_keep_every_disliked_item_and_the_latest_preferred_ones():
    user = UserData(user_id="u1", tools=[], history=[A1, A2, A3, C1, B3], queries=[])
    q = Query(group="g9", instruction="x", tool_name=D1, disliked=[B1, B2])
    h = entry_histories(user, q, 0, TOOLS, max_history=4, seed=0)
    assert [it.tool_call.tool_name for it in h["preferred"]] == [A2, A3, C1, B3]
    assert [it.tool_call.tool_name for it in h["chronological"]] == [B1, B2, C1, B3]
    assert sorted(it.tool_call.tool_name for it in h["ratings"]) == sorted([B1, B2, C1, B3])


def test_same_seed_same_data_and_users_differ():
    assert _build(2) == _build(2)
    copies = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(8)]
    data, _ = _build(1, users=copies)
    assert len({tuple(u.history) for u in data}) > 1 and len({u.queries[0].tool_name for u in data}) > 1


def test_candidates_reference_group_retrieved_random():
    names = [f"t{i}" for i in range(30)]
    sims = np.zeros(30)
    sims[[10, 11, 12, 13, 14, 15]] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    ranked = np.argsort(-sims, kind="stable")
    group = ["t0", "t1", "t2"]
    c = candidate_names("t1", group, names, ranked, np.random.default_rng(0), n_candidates=10, n_retrieved=5)
    assert len(c) == len(set(c)) == 10
    assert set(group) <= set(c) and {"t10", "t11", "t12", "t13", "t14"} <= set(c) and "t15" not in c
    again = candidate_names("t1", group, names, ranked, np.random.default_rng(0), n_candidates=10, n_retrieved=5)
    assert c == again
    big = candidate_names("t0", names[:12], names, ranked, np.random.default_rng(0), n_candidates=10)
    assert len(big) == 10 and "t0" in big  # a group larger than the set is cut, the reference kept
    large = [f"t{i}" for i in range(5000)]  # the random fill of a large corpus draws indices
    c = candidate_names("t1", group, large, ranked, np.random.default_rng(0), n_candidates=10, n_retrieved=5)
    assert len(c) == len(set(c)) == 10 and set(group) <= set(c)


def test_top_similar_is_best_first_with_ties_by_index():
    items = np.array([[1, 0], [0, 1], [1, 0], [0.6, 0.8]], dtype=np.float32)
    q = np.array([[1, 0], [0, 1]], dtype=np.float32)
    assert top_similar(q, items, 3, chunk=1).tolist() == [[0, 2, 3], [1, 3, 0]]


def _many(n=300, **kw):
    copies = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(n)]
    data, _ = create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 2, 0, 20, liked_share=0.78, max_disliked=5,
                         min_disliked=2, **kw)
    return [q for u in data for q in u.queries]


def test_queries_have_the_release_provenance_on_a_fixed_seed():
    """Seed 0, about 600 queries: the sources come out in the release's proportions (0.49 / 0.26 / 0.25: every
    group's rival has its group API among the disliked items, so a ``history`` draw is always possible), and each
    source is what it says: the example word for word, a disliked item of the group, or the LLM's."""
    from collections import Counter

    from petool_utils.construction.histories import RELEASE_QUERY_PROVENANCE

    qs = _many()
    share = {k: v / len(qs) for k, v in Counter(q.query_source for q in qs).items()}
    assert len(qs) >= 590  # the filters drop a few of the LLM's replies
    for k, p in RELEASE_QUERY_PROVENANCE.items():
        assert abs(share[k] - p) < 0.05, (k, share)
    for q in qs:
        ex = TOOLS[q.tool_name].example
        rival = [d for d in q.disliked if d in USER.non_preferred[q.group]]
        if q.query_source == "scenario":
            assert q.instruction == ex.instruction and q.params_source == "example" and q.parameters == ex.parameters
        elif q.query_source == "history":
            assert q.instruction == TOOLS[rival[0]].example.instruction and q.params_source == "history"
        else:
            assert q.instruction != ex.instruction and q.params_source == "example"
        assert len(q.disliked) >= 1 and (rival or q.query_source != "history")


def test_query_and_params_switches_move_their_statistics():
    fresh_q = _many(60, query_source="fresh")
    assert {q.query_source for q in fresh_q} == {"new"}
    assert not any(q.instruction == TOOLS[q.tool_name].example.instruction for q in fresh_q)
    fresh_p = _many(60, params_source="fresh")
    assert {q.params_source for q in fresh_p} == {"new"}
    # the stand-in writes its own values, so the reference parameters leave the example's
    moved = sum(q.parameters != TOOLS[q.tool_name].example.parameters for q in fresh_p) / len(fresh_p)
    faithful = sum(q.parameters != TOOLS[q.tool_name].example.parameters for q in _many(60)) / 120
    assert faithful == 0 and moved > 0.5
    with pytest.raises(ValueError, match="query_source"):
        _many(1, query_source="reuse")


def test_disliked_items_are_at_least_two_when_the_rival_has_them():
    for q in _many(40):
        if q.group in ("g1", "g2"):  # rival Bb has four APIs: 2..5 disliked, its group API first
            assert 2 <= len(q.disliked) <= 4 and q.disliked[0] in USER.non_preferred[q.group]
        else:  # Dd has one API and the group no other rival: what there is
            assert q.disliked == [D1]


def test_stage05_says_why_when_it_built_no_entry(tmp_path):
    """SmolLM2 on llama.cpp wrote tool-use examples with parameters their APIs lack (the demonstration's), so
    every history item and new instruction was dropped; stage 05 then writes its logs and names the drops,
    instead of the notebook failing on an empty split."""
    import json

    from petool_utils.construction import pipeline

    pipeline.stage01_prepare(tmp_path, "builtin")
    pipeline.stage02_understand(tmp_path, progress=False)
    rows = [json.loads(x) for x in (tmp_path / "tools_understood.jsonl").read_text().splitlines()]
    for r in rows:
        r["example"]["parameters"] = {"city": "Paris", "undocumented_option": "yes"}
    (tmp_path / "tools_understood.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pipeline.stage03_cluster(tmp_path, embedder="tfidf", eps=0.5, eps_values=[0.5])
    pipeline.stage04_preferences(tmp_path, embedder="tfidf", n_users=4, tools_per_user=[2, 4])
    with pytest.raises(ValueError, match=r"stage 05 built no entry \(generator offline-standin; dropped, "
                                         r"history_items: invalid_parameters \d+"):
        pipeline.stage05_create(tmp_path, embedder="tfidf", progress=False)
    assert json.loads((tmp_path / "data_filter_log.json").read_text())["history_items"]["n_kept"] == 0


# a user's sample of each tool's APIs (apis_per_tool): the release never shows more than 5 items of one tool
BIG = [f"<W>.<Zz>.<api{i:02d}>" for i in range(19)]  # the dev slice's largest tool has 19 APIs


def test_tool_sample_by_hand():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = tool_sample(BIG, 5, rng)
        assert 1 <= len(s) <= 5 and len(set(s)) == len(s) and set(s) <= set(BIG)
        kept = tool_sample(BIG, 5, rng, keep=BIG[7])
        assert kept[0] == BIG[7] and 2 <= len(kept) <= 5 and len(set(kept)) == len(kept)
    assert tool_sample([A1], 5, rng) == [A1] and tool_sample([A1], 5, rng, keep=A1) == [A1]
    # k uniform in 1..5 on a large tool: mean 3; with the held-out API kept, uniform in 2..5: mean 3.5
    sizes = [len(tool_sample(BIG, 5, rng)) for _ in range(4000)]
    kept = [len(tool_sample(BIG, 5, rng, keep=BIG[0])) for _ in range(4000)]
    assert abs(np.mean(sizes) - 3.0) < 0.1 and abs(np.mean(kept) - 3.5) < 0.1
    assert {k: sizes.count(k) for k in range(1, 6)}.keys() == set(sizes)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 25), cap=st.integers(1, 8), keep=st.booleans(), seed=st.integers(0, 2**16))
def test_tool_sample_properties(n, cap, keep, seed):
    apis = [f"<W>.<Zz>.<a{i}>" for i in range(n)]
    k = apis[seed % n] if keep else None
    s = tool_sample(apis, cap, np.random.default_rng(seed), keep=k)
    assert set(s) <= set(apis) and len(set(s)) == len(s) and 1 <= len(s) <= min(n, max(cap, 2 if keep else 1))
    if keep:
        assert s[0] == k and (len(s) >= 2 or n == 1)


def test_apis_per_tool_caps_each_tools_items_and_keeps_the_query_tool_in_the_history():
    tools = {**TOOLS, **{n: _u(n) for n in BIG}}
    user = UserPreference(user_id="u00001", preferred={"g1": A1, "g9": BIG[3]}, non_preferred={"g1": [B1], "g9": [B2]},
                          tools=["<W>.<Aa>", "<W>.<Zz>"])
    copies = [user.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(60)]
    full, _ = create_all(copies, tools, OfflineStandinLLM(seed=0), 1, 0, 20, liked_share=0.78, max_disliked=5)
    capped, _ = create_all(copies, tools, OfflineStandinLLM(seed=0), 1, 0, 20, liked_share=0.78, max_disliked=5,
                           apis_per_tool=5)
    for u in full:  # None: every API of every preferred tool but the held-out ones
        assert sum(a in BIG for a in u.history) == 19 - (u.queries[0].tool_name in BIG)
    zz = []
    for u in capped:
        (q,) = u.queries
        n_zz = sum(a in BIG for a in u.history)
        assert 1 <= n_zz <= 5 and q.tool_name not in u.history
        if q.tool_name in BIG:  # the query's tool: the held-out API was one of its 2..5, so 1..4 are left
            assert n_zz <= 4
        zz.append(n_zz)
    assert len(set(zz)) >= 3  # users differ in how many of the tool's APIs they used
    # the sample has a generator of its own: the same queries as without the cap (the disliked count follows the
    # history's length, so it may differ)
    assert [u.queries[0].tool_name for u in full] == [u.queries[0].tool_name for u in capped]


def test_hold_rival_groups_keeps_the_query_tools_apis_the_rival_also_offers_out_of_the_history():
    """Aa and Bb compete in g1 and g2. A query for Aa's g1 API also holds out Aa's g2 API (Bb offers g2 too):
    in the release the reference tool's APIs that the disliked tool also offers are shown 7% of the time, its
    others 18% (dev slice, same-named APIs). A query for Cc (rival Dd) holds out nothing more."""
    copies = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(40)]
    plain, _ = create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, liked_share=0.78, max_disliked=5)
    held, _ = create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, liked_share=0.78, max_disliked=5,
                         hold_rival_groups=True)
    seen = set()
    for p, h in zip(plain, held):
        q = h.queries[0]
        assert q.tool_name == p.queries[0].tool_name
        seen.add(q.group)
        if q.group in ("g1", "g2"):
            other = A2 if q.group == "g1" else A1
            assert other in p.history and other not in h.history and A3 in h.history
            assert set(h.history) == set(p.history) - {other}
        else:
            assert h.history == p.history and A1 in h.history and A2 in h.history
    assert seen == {"g1", "g2", "g3"}


def test_random_fill_never_takes_the_users_own_tools():
    cats = ["A", "B", "C"]
    names = [f"<{c}>.<T{c}{t}>.<api{i}>" for c in cats for t in range(6) for i in range(3)]
    mine = {"<B>.<TB0>", "<B>.<TB1>", "<C>.<TC2>", "<A>.<TA1>"}
    ref, group = "<A>.<TA0>.<api0>", ["<A>.<TA0>.<api0>", "<A>.<TA5>.<api0>"]
    ranked = [names.index("<A>.<TA1>.<api2>")] + list(range(len(names)))  # the retriever's best is the user's
    for seed in range(30):
        c = candidate_names(ref, group, names, ranked, np.random.default_rng(seed), n_candidates=10, n_retrieved=2,
                            not_from=mine)
        assert len(c) == len(set(c)) == 10 and set(group) <= set(c)
        assert "<A>.<TA1>.<api2>" in c  # retrieved: kept
        fill = [n for n in c if n not in group and not n.startswith("<A>.")]
        assert len(fill) == 6 and not any(tool_id(n) in mine for n in fill)
    # without the ban the fill takes the user's tools about as often as their share of the corpus
    hits = sum(tool_id(n) in mine for s in range(200) for n in candidate_names(
        ref, group, names, ranked, np.random.default_rng(s), n_candidates=10, n_retrieved=2)
        if not n.startswith("<A>."))
    assert 0.2 < hits / (200 * 6) < 0.45  # 3 of the 12 tools outside A are the user's
    # a corpus too small to avoid them: the fill takes what there is
    tiny = names[:18] + ["<B>.<TB0>.<api0>", "<B>.<TB0>.<api1>"]
    c = candidate_names(ref, group, tiny, list(range(len(tiny))), np.random.default_rng(0), n_candidates=20,
                        n_retrieved=0, not_from=mine)
    assert len(c) == 20


def test_one_disliked_tool_plans_queries_only_where_one_competitor_has_min_disliked_apis():
    """g3's only competitor, Dd, has one API. With min_disliked 2, ``one_disliked_tool`` plans no query for Cc's
    g3 (the release: every entry's non-preferred items are 2 or more APIs of one competitor); without it a g3 query
    shows fewer than 2 (no other tool of category N to top its pool up from). Queries for Aa (competitor Bb, 4 APIs)
    keep one tool's items."""
    copies = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(40)]
    kw = dict(liked_share=0.78, max_disliked=5, min_disliked=2)
    plain, _ = create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, **kw)
    one, _ = create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, one_disliked_tool=True, **kw)
    plain_groups = [u.queries[0].group for u in plain]
    assert "g3" in plain_groups and {"g1", "g2"} & set(plain_groups)
    for u in plain:
        if u.queries[0].group == "g3":
            assert u.queries[0].disliked == [D1]
    for o in one:
        (q,) = o.queries
        assert q.group in ("g1", "g2") and len(q.disliked) >= 2
        assert {d.rsplit(".<", 1)[0] for d in q.disliked} == {"<W>.<Bb>"}
    # two queries asked of a user whose second tool has no such group: one is planned
    two, _ = create_all([USER], TOOLS, OfflineStandinLLM(seed=0), 2, 0, 20, one_disliked_tool=True, **kw)
    assert len(two[0].queries) == 1


def test_hold_rival_groups_as_a_share_holds_each_twin_with_that_probability():
    """A share between 0 and 1 holds each twin group of the query tool with that probability, drawn per user from
    a generator of its own (queries unchanged): over 400 users asked about g1 or g2, the other of the two is held
    in about 60% of them at 0.6; 0 holds none and 1 all (the bool forms)."""
    copies = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(400)]
    kw = dict(liked_share=0.78, max_disliked=5)
    runs = {h: create_all(copies, TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, hold_rival_groups=h, **kw)[0]
            for h in (0.0, 0.6, 1.0, True, False)}
    assert [u.queries[0].tool_name for u in runs[0.6]] == [u.queries[0].tool_name for u in runs[0.0]]

    def held(users):
        twin = [(A2 if u.queries[0].group == "g1" else A1) not in u.history
                for u in users if u.queries[0].group in ("g1", "g2")]
        return sum(twin) / len(twin), len(twin)

    share, n = held(runs[0.6])
    assert n > 150 and 0.5 < share < 0.7
    assert held(runs[0.0])[0] == 0 and held(runs[1.0])[0] == 1
    assert [u.history for u in runs[True]] == [u.history for u in runs[1.0]]
    assert [u.history for u in runs[False]] == [u.history for u in runs[0.0]]
    with pytest.raises(ValueError, match="hold_rival_groups"):
        create_all([USER], TOOLS, OfflineStandinLLM(seed=0), 1, 0, 20, hold_rival_groups=1.5, **kw)


def test_unambiguous_queries_skip_a_group_whose_functionality_the_user_has_from_another_own_tool():
    """Cc is the user's provider in g3; the input-format split left Ee's clone of the same functionality out of
    g3, and the user prefers Ee too (another group). A g3 query would make the reference a coin toss between Cc and
    a clone the history shows, so with ``function_tools`` no g3 query is planned; g1 and g2 still are."""
    e1, e2 = "<N>.<Ee>.<three>", "<N>.<Ee>.<four>"
    tools = {**TOOLS, e1: _u(e1), e2: _u(e2)}
    user = USER.model_copy(update={"preferred": {**USER.preferred, "g4": e2},
                                   "non_preferred": {**USER.non_preferred, "g4": []},
                                   "tools": [*USER.tools, "<N>.<Ee>"]})
    offered = {"g1": {"<W>.<Aa>", "<W>.<Bb>"}, "g2": {"<W>.<Aa>", "<W>.<Bb>"},
               "g3": {"<N>.<Cc>", "<N>.<Dd>", "<N>.<Ee>"}, "g4": {"<N>.<Ee>"}}
    copies = [user.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(60)]
    kw = dict(liked_share=0.78, max_disliked=5)
    plain, _ = create_all(copies, tools, OfflineStandinLLM(seed=0), 1, 0, 20, **kw)
    strict, _ = create_all(copies, tools, OfflineStandinLLM(seed=0), 1, 0, 20, function_tools=offered, **kw)
    assert "g3" in {u.queries[0].group for u in plain}
    assert "g3" not in {q.group for u in strict for q in u.queries} and len(strict) == 60
    # a user without the clone's tool is asked about g3 as before
    alone = [USER.model_copy(update={"user_id": f"u{i:05d}"}) for i in range(60)]
    a, _ = create_all(alone, tools, OfflineStandinLLM(seed=0), 1, 0, 20, function_tools=offered, **kw)
    b, _ = create_all(alone, tools, OfflineStandinLLM(seed=0), 1, 0, 20, **kw)
    assert [u.queries[0].group for u in a] == [u.queries[0].group for u in b]


def test_top_similar_with_noise_is_seeded_and_moves_away_from_the_clean_ranking():
    rng = np.random.default_rng(0)
    items = rng.normal(size=(200, 16))
    items /= np.linalg.norm(items, axis=1, keepdims=True)
    q = items[:20] + 0.01
    clean = top_similar(q, items, 5)
    a = top_similar(q, items, 5, noise=0.3, rng=np.random.default_rng(7))
    b = top_similar(q, items, 5, noise=0.3, rng=np.random.default_rng(7))
    assert (a == b).all() and not (a == clean).all()
    assert (clean[:, 0] == np.arange(20)).all()  # each query's own item first without noise
    overlap = np.mean([len(set(x) & set(y)) for x, y in zip(a, clean)])
    assert overlap < 4.5
    with pytest.raises(ValueError, match="rng"):
        top_similar(q, items, 5, noise=0.1)
