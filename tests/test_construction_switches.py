"""Issue 24's shortcut switches, end to end on the built-in corpus (TF-IDF, no model): each moves the statistic it
is named for in the fidelity table, and the faithful build reuses scenarios and examples as the release does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from petool_utils.benchmark.data import load_entries
from petool_utils.construction import pipeline
from petool_utils.construction.statistics import fidelity, fidelity_with_release

DEBIASED = {"04": {"popularity": "uniform"}, "05": {"query_source": "fresh", "params_source": "fresh"}}


def _stats(base: Path, rd: Path, over: dict) -> dict[str, float]:
    shutil.copytree(base, rd)
    pipeline.stage04_preferences(rd, embedder="tfidf", n_users=200, tools_per_user=[2, 12], **over.get("04", {}))
    pipeline.stage05_create(rd, embedder="tfidf", queries_per_user=2, trl=False, progress=False, **over.get("05", {}))
    entries = [e for s in ("train", "test") for e in load_entries(rd / "benchmark" / f"{s}.json")]
    return fidelity(entries), entries


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("switches") / "base"
    pipeline.stage01_prepare(base, tools_dir="builtin")
    pipeline.stage02_understand(base, progress=False)
    pipeline.stage03_cluster(base, embedder="tfidf", eps_values=[0.5])
    return {"faithful": _stats(base, base.parent / "faithful", {}),
            "debiased": _stats(base, base.parent / "debiased", DEBIASED),
            "rules_off": _stats(base, base.parent / "rules_off",
                                {"05": {"hold_rival_groups": False, "fill_not_from_user": False}}),
            "hold_all": _stats(base, base.parent / "hold_all", {"05": {"hold_rival_groups": True}})}


def test_faithful_build_has_the_release_provenance(builds):
    f, entries = builds["faithful"]
    assert len(entries) >= 60
    assert 0.3 <= f["query_is_scenario"] <= 0.7 and 0.1 <= f["query_is_history_instruction"] <= 0.45
    assert f["query_history_item_disliked"] == 1.0  # a reused history instruction is a disliked item's
    assert f["ref_params_are_example"] >= 0.6 and f["disliked_min"] >= 2


def test_each_switch_moves_its_statistic(builds):
    (f, _), (d, _) = builds["faithful"], builds["debiased"]
    # popularity: uniform -> preferred tools spread over each group (built-in groups of mostly 2-3 providers: the
    # statistic's chance level is high, and near 1 when a group has few entries, hence 200 users: about 6 a group)
    assert d["popularity_concentration"] < f["popularity_concentration"] - 0.1
    # query_source: fresh -> no reused scenario, no reused history instruction
    assert d["query_is_scenario"] == 0 and d["query_is_history_instruction"] < 0.05
    # params_source: fresh -> the LLM's parameters, not the example's
    assert d["ref_params_are_example"] < f["ref_params_are_example"] - 0.3


def test_each_history_and_candidate_rule_moves_its_statistic(builds):
    """hold_rival_groups keeps the query tool's APIs its competitor also offers out of the history, so the
    reference's tool shows there less often; fill_not_from_user keeps the user's own tools out of the random fill
    (the release: 35 such candidates over 514 entries; the built-in corpus has 168 tools, a user up to 12 here).
    The two rules change nothing else: same entries, same references."""
    (f, fe), (o, oe), (h, he) = builds["faithful"], builds["rules_off"], builds["hold_all"]
    # every twin held, 60% (the default) or none: the reference's tool shows less often the more are held (0.89,
    # 0.91 and 0.925 at this seed: the built-in corpus's first ten groups have 2-4 providers, so few of the query
    # tool's APIs have a competitor's twin to hold out)
    assert h["ref_tool_in_preferred_history"] < o["ref_tool_in_preferred_history"] - 0.02
    assert h["ref_tool_in_preferred_history"] <= f["ref_tool_in_preferred_history"] <= o["ref_tool_in_preferred_history"]
    assert [e.reference.tool_name for e in he] == [e.reference.tool_name for e in oe]
    # 0.13 against 0.21 at this seed: the rule keeps them out of the random fill; the 5 retrieved may still hold one
    assert f["candidates_user_tools_other_category"] < o["candidates_user_tools_other_category"] - 0.05
    assert [e.reference.tool_name for e in fe] == [e.reference.tool_name for e in oe]


def test_fidelity_table_sits_beside_the_release(builds):
    """Without released entries the release column holds the recorded figures; the faithful provenance rows are
    within their tolerance of them."""
    _, entries = builds["faithful"]
    df = fidelity_with_release(entries, None).set_index("key")
    rel = "released (recorded figures, 1,000 entries)"
    assert df.loc["query_is_scenario", rel] == 0.488 and df.loc["popularity_concentration", rel] == 0.898
    for key in ("query_is_scenario", "query_is_history_instruction", "ref_params_are_example", "disliked_min",
                "ref_api_in_preferred_history", "chronological_disliked_first"):
        assert df.loc[key, "within"], (key, df.loc[key].to_dict())
