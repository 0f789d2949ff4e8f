"""Stages 01-06 end to end on the built-in corpus (smoke sizes, TF-IDF): the benchmark in the release
layout, determinism byte for byte, the generator named in every artifact, counted filters."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from petool_utils import SETTINGS
from petool_utils.construction import pipeline
from petool_utils.benchmark.data import load_entries
from petool_utils.benchmark.prompts import entry_prompt

KEYS = ["query", "instruction_preferred", "instruction_ratings", "instruction_chronological", "apis_candidate",
        "api_call_ground_truth", "api_ground_truth", "func", "apis_same_func", "tool_comb", "num_tools_combined",
        "history_length", "entry_id"]


def build(rd: Path) -> Path:
    pipeline.stage01_prepare(rd)
    pipeline.stage02_understand(rd, fault_rate=0.2, progress=False)
    pipeline.stage03_cluster(rd, embedder="tfidf", eps=0.5, eps_values=[0.3, 0.5])
    pipeline.stage04_preferences(rd, embedder="tfidf", n_users=6, tools_per_user=[3, 8], top_k=2, seed=0)
    pipeline.stage05_create(rd, embedder="tfidf", queries_per_user=2, fault_rate=0.2, seed=0, max_history=6,
                            progress=False)
    pipeline.stage06_statistics(rd)
    return rd


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("construction")
    return build(base / "a"), build(base / "b")


def test_same_seed_same_bytes(runs):
    a, b = runs
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and "cache" not in p.parts)
    assert len(files) > 20
    assert [str(f) for f in files] == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file() and "cache" not in p.parts)
    _, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []


def test_benchmark_is_in_the_release_layout(runs):
    rd = runs[0]
    raw = json.loads((rd / "benchmark" / "test.json").read_text())
    entries = load_entries(rd / "benchmark" / "test.json")
    assert len(entries) == len(raw) > 0
    from petool_utils.construction.preferences import read_users, tool_parts

    drawn = {tuple(dict.fromkeys(tool_parts(t)[1] for t in u.tools)) for u in read_users(rd).users}
    assert all(tuple(r["tool_comb"]) in drawn for r in raw)  # the user's tools in draw order (was sorted)
    for r, e in zip(raw, entries):
        assert list(r)[: len(KEYS)] == KEYS and r["generator"] == "offline-standin"
        assert e.release_record() == r  # round trip through the spine's loader
        for s in SETTINGS:
            assert entry_prompt(e, s) == r[f"instruction_{s}"]  # the spine's renderer gives the same bytes
        assert len(e.candidates) == 10 and e.reference.tool_name in e.candidate_names
        assert set(e.same_func_names) <= set(e.candidate_names)
        assert e.api_ground_truth.full_name == e.reference.tool_name and e.api_ground_truth.Example["Scenario"]
        assert r["num_tools_combined"] == str(len(r["tool_comb"]))
        assert e.reference.tool_name.split(".<")[1][:-1] in r["tool_comb"]  # the user's preferred tools
        assert all(it.rating is None for it in e.history("preferred"))
        assert len(e.history("preferred")) == min(6, e.history_length) and len(e.history("chronological")) <= 6


def _histories(runs):
    rd = runs[0]
    examples = {json.loads(line)["full_name"]: json.loads(line)["example"]
                for line in (rd / "tools_understood.jsonl").read_text().splitlines()}
    entries = load_entries(rd / "benchmark" / "train.json") + load_entries(rd / "benchmark" / "test.json")
    return examples, entries


def test_histories_are_built_as_the_release_builds_them(runs):
    examples, entries = _histories(runs)
    assert len(entries) >= 8  # 6 users, at most 2 queries each (9 with users sharing their first 4 tools)
    for e in entries:
        pref, rat, chrono = e.history("preferred"), e.history("ratings"), e.history("chronological")
        for it in pref + rat + chrono:  # every item is its API's tool-use example, word for word
            ex = examples[it.tool_call.tool_name]
            assert it.instruction == ex["instruction"] and it.tool_call.parameters == ex["parameters"]
        assert e.reference.tool_name not in {it.tool_call.tool_name for it in pref + rat + chrono}
        assert not set(e.same_func_names) & {it.tool_call.tool_name for it in pref}  # the query's group is held out
        assert len({it.tool_call.tool_name for it in pref}) == len(pref)
        disliked = [it.tool_call.tool_name for it in rat if it.rating == 0]
        liked = [it.tool_call.tool_name for it in rat if it.rating == 1]
        assert 1 <= len(disliked) <= 5 and len({n.split(".<")[1] for n in disliked}) == 1  # one competing tool
        assert any(n.split(".<")[1] == d.split(".<")[1] for d in disliked for n in e.same_func_names)
        # chronological: the same items, every non-preferred one first, then the most recent preferred ones in order
        names = [it.tool_call.tool_name for it in chrono]
        assert sorted(names[: len(disliked)]) == sorted(disliked)
        assert names[len(disliked):] == [it.tool_call.tool_name for it in pref][len(pref) - len(liked):]


def test_fidelity_on_the_smoke_build(runs):
    from petool_utils.construction.statistics import fidelity

    _, entries = _histories(runs)
    f = fidelity(entries)
    assert f["ref_api_in_preferred_history"] == 0 and f["chronological_disliked_first"] == 1
    assert f["ratings_chronological_same_items"] == 1 and 0.5 < f["liked_share_ratings"] < 1
    # new requests are called with their API's tool-use example parameters, as in the release (0.93 there)
    assert f["reference_params_as_history"] >= 0.9
    stats = json.loads((runs[0] / "benchmark_statistics.json").read_text())
    assert {r["key"]: r["constructed (train+test)"] for r in stats["fidelity"]}["ref_api_in_preferred_history"] == 0


def test_official_layout_loads_with_the_authors_registry(runs):
    from test_construction_export import check_official_export

    check_official_export(runs[0] / "official", load_entries(runs[0] / "benchmark" / "train.json"))


def test_train_and_test_users_are_disjoint(runs):
    manifest = json.loads((runs[0] / "benchmark" / "manifest.json").read_text())
    assert manifest["users"] == {"train": 3, "test": 3}
    train = load_entries(runs[0] / "benchmark" / "train.json")
    test = load_entries(runs[0] / "benchmark" / "test.json")
    assert len(train) + len(test) == sum(manifest["entries"].values())
    assert not {e.entry_id for e in train} & {e.entry_id for e in test}


def test_groups_json_format(runs):
    rd = runs[0]
    groups = json.loads((rd / "groups.json").read_text())
    names = {json.loads(line)["full_name"] for line in (rd / "tools_understood.jsonl").read_text().splitlines()}
    assert groups and all(isinstance(k, str) and len(v) >= 2 and set(v) <= names for k, v in groups.items())
    assert all(n.startswith("<") and n.count(">.<") == 2 for v in groups.values() for n in v)


def test_generator_named_everywhere_and_filters_counted(runs):
    rd = runs[0]
    assert json.loads((rd / "clustering.json").read_text())["generator"] == "offline-standin"
    assert json.loads((rd / "users.json").read_text())["generator"] == "offline-standin"
    assert all(json.loads(line)["generator"] == "offline-standin" for line in (rd / "tools_understood.jsonl").read_text().splitlines())
    for kind in ("sft", "dpo"):
        assert {r["generator"] for r in json.loads((rd / kind / "train.json").read_text())} == {"offline-standin"}
    assert json.loads((rd / "benchmark" / "manifest.json").read_text())["generator"] == "offline-standin"
    frags = {p.stem: json.loads(p.read_text()) for p in (rd / "report").glob("*.json")}
    assert sorted(frags) == ["01_tool_preparation", "02_tool_understanding", "03_tool_clustering",
                             "04_preference_construction", "05_data_creation", "06_benchmark_statistics"]
    html = {k: "".join(b.get("html") or "" for b in f["blocks"]) for k, f in frags.items()}  # the one fragment writer's blocks
    assert "offline-standin" in frags["02_tool_understanding"]["title"] and "offline-standin" in html["05_data_creation"]
    for reason in ("deprecated", "insufficient_documentation", "duplicate_tool", "duplicate_endpoint"):
        assert reason in html["01_tool_preparation"]
    log = json.loads((rd / "data_filter_log.json").read_text())
    for kind in ("history_items", "new_instructions"):
        h = log[kind]
        assert h["n_generated"] - h["n_kept"] == sum(h["counts"].values())  # nothing dropped silently
    # the stand-in's faulty items were caught: dropped with a reason, or (a cut-off reply) re-asked
    new = log["new_instructions"]
    assert sum(new["counts"].values()) + new["json_retries"] > 0
    assert json.loads((rd / "understanding_log.json").read_text())["json_retries"] > 0  # cut-off replies re-asked


def test_trl_datasets_load(runs):
    import datasets

    rd = runs[0]
    sft = datasets.load_from_disk(str(rd / "sft" / "trl_train"))
    dpo = datasets.load_from_disk(str(rd / "dpo" / "trl_train"))
    n = len(json.loads((rd / "sft" / "train.json").read_text()))
    assert len(sft) == n and sft.column_names == ["prompt", "completion"]
    assert sft[0]["prompt"][0]["role"] == "system" and sft[0]["completion"][0]["role"] == "assistant"
    assert set(dpo.column_names) == {"prompt", "chosen", "rejected"}
    assert datasets.load_dataset("json", data_files=str(rd / "sft" / "train.json"), split="train").num_rows == n


def test_statistics_tables(runs):
    stats = json.loads((runs[0] / "benchmark_statistics.json").read_text())["constructed"]
    rows = {(r["split"], r["setting"]): r for r in stats["table3"]}
    test = load_entries(runs[0] / "benchmark" / "test.json")
    assert rows[("test", "ratings")]["instances"] == len(test)
    assert rows[("test", "ratings")]["max_history_length"] == max(len(e.history("ratings")) for e in test)
    assert sum(r["entries"] for r in stats["categories"]) == len(test) + rows[("train", "preferred")]["instances"]


def test_constructed_test_split_evaluates_unchanged(runs, tmp_path):
    """With the evaluation engine merged, `evaluate` runs on the constructed split as on the release."""
    evaluate = pytest.importorskip("petool_utils.evaluation.engine")
    pytest.importorskip("petool_utils.predictors.baselines")
    entries = load_entries(runs[0] / "benchmark" / "test.json")
    out = evaluate.evaluate("offline:random", entries, list(SETTINGS), tmp_path, progress=False)
    assert set(out) >= set(SETTINGS)


def test_fragments_follow_the_report_format(runs):
    """With the report module merged, every fragment validates against its model (figures included)."""
    fragments = pytest.importorskip("petool_utils.report.fragments")
    frags = [fragments.Fragment.model_validate(json.loads(p.read_text())) for p in (runs[0] / "report").glob("*.json")]
    assert len(frags) == 6 and sum(b.kind == "plotly" for f in frags for b in f.blocks) == 2  # eps sweep, Figure 4


def test_release_reference_calls_name_the_history_calls_parameters(dev_entries):
    """The parameter convention the stand-in copies: 477 of the 512 dev-slice references whose API is in
    some history name exactly the parameters of that API's most frequent history call."""
    from petool_utils.construction.statistics import fidelity

    assert fidelity(dev_entries)["reference_params_as_history"] == 477 / 512


def test_release_candidate_lures_on_the_dev_slice(dev_entries):
    """Two lures a candidate set can hold, counted on the released records: candidates outside the reference's
    group with the reference's API name (321 over the 514 entries), and candidates of another category than the
    reference's from the user's own tools (35: the random fill over ToolBench rarely meets the user's tools)."""
    from petool_utils.construction.statistics import fidelity

    f = fidelity(dev_entries)
    assert round(f["candidates_ref_name_outside_group"] * len(dev_entries)) == 321
    assert round(f["candidates_user_tools_other_category"] * len(dev_entries)) == 35
