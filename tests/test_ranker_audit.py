"""The popularity audit: popularity's pick, the personalization-critical subset, and any model's
accuracy on it, with hand-computed answers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _ranker_entries import CLOUDY, RAINY, SUNNY, TUNES, h, weather_entry
from petool_utils.evaluation import ranker_audit as audit
from petool_utils.predictors.ranker import fit_prior
from petool_utils.predictors.ranker.crossfit import fold_of


def _call(tool: str, days: int = 3) -> str:
    return json.dumps({"tool_name": tool, "parameters": {"city": "Paris", "days": days}})


def test_popularity_pick_is_the_most_liked_member_of_the_reference_group():
    fans = [weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, entry_id=f"f{i}") for i in range(2)]
    one = [weather_entry({"preferred": [h("<Weather>.<CloudyAPI>.<getAlerts>")]}, entry_id="c")]
    prior = fit_prior(fans + one)
    e = weather_entry({}, group=(SUNNY, CLOUDY, RAINY))
    assert audit.popularity_pick(e, "preferred", prior) == RAINY
    assert audit.popularity_pick(e, "ratings", prior) == SUNNY  # no ratings votes: the first listed


@pytest.mark.parametrize(("histories", "setting", "critical"), [
    ({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>")]}, "preferred", True),    # likes another member
    ({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, "preferred", False),   # agrees with popularity
    ({"preferred": [h(TUNES)]}, "preferred", False),                                 # silent about the group
    ({"ratings": [h("<Weather>.<RainyAPI>.<getAlerts>", 0)]}, "ratings", True),     # rejects the popular one
    ({"chronological": [h("<Weather>.<RainyAPI>.<getAlerts>"), h("<Weather>.<SunnyAPI>.<getAlerts>")]}, "chronological", True),
    ({}, "none", False),
])
def test_the_history_overrules_popularity_exactly_when_it_ranks_another_member_higher(histories, setting, critical):
    e = weather_entry(histories)
    assert audit.history_overrules(e, setting, RAINY) is critical


def test_critical_subset_and_every_models_accuracy_on_it():
    """Group A (one fold): u1, u2 liked Sunny (gold Sunny); u3, u4 are silent (gold Rainy). Group B (the
    other fold): three users who liked Rainy (gold Rainy). Cross-fitted popularity answers A from B's
    votes (Rainy) and B from A's (Sunny). Critical: u1, u2 (they liked Sunny over Rainy) and B's three
    (they liked Rainy over Sunny); popularity alone solves u3 and u4 only."""
    fa = next(str(f) for f in range(50) if fold_of(weather_entry({}, func=str(f)), 2) == 0)
    fb = next(str(f) for f in range(50) if fold_of(weather_entry({}, func=str(f)), 2) == 1)
    users = [weather_entry({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>")]}, entry_id=f"u{i}", func=fa, gold=SUNNY) for i in (1, 2)]
    users += [weather_entry({"preferred": [h(TUNES)]}, entry_id=f"u{i}", func=fa, gold=RAINY) for i in (3, 4)]
    crowd = [weather_entry({"preferred": [h("<Weather>.<RainyAPI>.<getAlerts>")]}, entry_id=f"c{i}", func=fb) for i in range(3)]
    entries = users + crowd
    a = audit.audit_entries(entries, folds=2, settings=["preferred"])
    crit = dict(zip(a["entry_id"], a["critical"]))
    assert crit == {"u1": True, "u2": True, "u3": False, "u4": False, "c0": True, "c1": True, "c2": True}
    picks = dict(zip(a["entry_id"], a["popularity_pick"]))
    assert picks["u1"] == RAINY and picks["c0"] == SUNNY
    summary = audit.audit_summary(a).iloc[0]
    assert summary["critical"] == 5 and summary["n"] == 7
    assert summary["popularity_solves"] == pytest.approx(2 / 7)
    models = {
        "popularity's picks": {"preferred": {e.entry_id: _call(picks[e.entry_id]) for e in entries}},
        "reads the user": {"preferred": {e.entry_id: _call(e.reference.tool_name) for e in entries}},
    }
    df = audit.subset_accuracy(entries, a, models, n_boot=50)

    def row(model, subset, setting="preferred"):
        return df[(df.model == model) & (df.subset == subset) & (df.setting == setting)].iloc[0]

    assert row("popularity's picks", "critical")["tool_acc"] == 0.0 and row("popularity's picks", "critical")["n"] == 5
    assert row("popularity's picks", "rest")["tool_acc"] == 1.0 and row("popularity's picks", "rest")["n"] == 2
    assert row("reads the user", "critical")["tool_acc"] == 1.0 and row("reads the user", "critical")["call_acc"] == 1.0
    assert row("reads the user", "critical")["n_groups"] == 2
    # the one "all" rule of the scorer: no pooled row from one setting alone (it would be that setting again)
    assert "pooled (3 settings)" not in set(df.setting)
    assert row("popularity's picks", "critical")["tool_ci"] == (0.0, 0.0)


def test_subset_accuracy_reads_run_store_files(tmp_path):
    e1 = weather_entry({"preferred": [h("<Weather>.<SunnyAPI>.<getAlerts>")]}, entry_id=1, gold=SUNNY)
    e2 = weather_entry({}, entry_id=2)
    a = audit.audit_entries([e1, e2], settings=["preferred"])
    folder = tmp_path / "preds" / "some-model"
    folder.mkdir(parents=True)
    (folder / "preferred.jsonl").write_text(
        "".join(json.dumps({"entry_id": i, "setting": "preferred", "response": _call(SUNNY), "latency_s": 0.0, "error": None}) + "\n"
                for i in (1, 2)))
    models = audit.models_from_dir(tmp_path / "preds")
    assert list(models) == ["some-model"]
    df = audit.subset_accuracy([e1, e2], a, models, n_boot=20)
    allrow = df[(df.subset == "all") & (df.setting == "preferred")].iloc[0]
    assert allrow["tool_acc"] == 0.5 and allrow["n"] == 2
    assert np.isclose(allrow["param_acc"], 1.0)


def test_models_from_metrics_without_notebook_07_is_empty(tmp_path):
    assert audit.models_from_metrics(tmp_path) == (None, {})


def test_the_study_renders_every_table_and_a_valid_report_fragment(bench_entries, tmp_path):
    """The whole study on a few groups (TF-IDF, few resamples): every table of docs/ranker.md renders,
    the markers are filled, and notebook 11's fragment validates."""
    from petool_utils.evaluation import ranker_study as rs
    from petool_utils.report.fragments import load_fragments, write_fragment

    first = bench_entries[0]
    other = next(e for e in reversed(bench_entries) if fold_of(e, 2) != fold_of(first, 2))  # both folds answered
    few = [e for e in bench_entries if e.func in {first.func, other.func, "1"}][:40]  # "1": a large dev-slice group
    assert {fold_of(e, 2) for e in few} == {0, 1}
    st = rs.run_study(few, folds=2, embedder="tfidf", n_boot=20,
                      variants=["no population (offline:ranker)", "cross-fitted prior (full ranker)", "popularity only"])
    main = rs.method_table(st.results, "call_acc")
    assert list(main["method"]) == list(rs.ablation.MAIN_VARIANTS) and "[" in main.loc[0, "mean of 3"]
    md = rs.to_markdown(rs.audit_table(st.audit_summary))
    assert md.startswith("| setting |") and md.count("\n") == 5
    write_fragment(tmp_path, "11_ranker", "ranker", rs.fragment_blocks(st, rs.benchmark_label(tmp_path)))
    frags, problems = load_fragments(tmp_path)
    assert not problems and frags[0].notebook == "11_ranker" and any(b.kind == "table" for b in frags[0].blocks)
