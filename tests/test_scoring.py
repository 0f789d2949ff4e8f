"""Scoring against hand-computed answers on benchmark entries (the dev slice when it is here, else the split
constructed from the built-in corpus), the run-store reader, the CLI, speed; and the dev slice's released
history lengths."""

from __future__ import annotations

import json
import time

import pytest
import typer
from _bench_copies import at_least
from typer.testing import CliRunner

from petool_utils.benchmark.data import DataError
from petool_utils.evaluation.scoring import (
    accuracy_by_history_length,
    parse_cached,
    score_files,
    score_prediction_dir,
    score_responses,
    score_settings,
)


def call(tool: str, params: dict) -> str:
    return json.dumps({"tool_name": tool, "parameters": params})


def ref_call(e) -> str:
    return call(e.reference.tool_name, e.reference.parameters)


def other_candidate(e) -> str:
    return next(n for n in e.candidate_names if n != e.reference.tool_name)


def with_int_parameter(entries, value: int | None = None):
    """An entry whose reference has an integer parameter (equal to ``value`` if given): the first there is,
    else the last entry with one added (the constructed split's references are all strings)."""
    found = next((e for e in entries if any(type(v) is int and value in (None, v) for v in e.reference.parameters.values())), None)
    if found is not None:
        return found
    e = entries[-1]
    ref = e.reference.model_copy(update={"parameters": {**e.reference.parameters, "count": 3 if value is None else value}})
    return e.model_copy(update={"api_call_ground_truth": ref})


@pytest.fixture(scope="module")
def four(bench_entries):
    """Four entries: plain, one with an integer parameter, two more; all with distinct ids."""
    with_int = with_int_parameter(bench_entries)
    rest = [e for e in bench_entries if e.entry_id != with_int.entry_id][:3]
    return [rest[0], with_int, rest[1], rest[2]]


def hand_made_responses(four) -> dict:
    a, b, c, d = four
    b_params = {k: (float(v) if type(v) is int else v) for k, v in b.reference.parameters.items()}
    return {
        a.entry_id: ref_call(a),  # tool right, params right
        b.entry_id: call(b.reference.tool_name, b_params),  # 3 -> 3.0: still equal under ==, as the authors compare
        c.entry_id: call(other_candidate(c), c.reference.parameters),  # tool wrong, params right (independent of tool)
        d.entry_id: "I'm sorry, I can't decide which tool to use.",  # invalid format
    }


def test_hand_computed_metrics(four):
    sc = score_responses(four, hand_made_responses(four), n_boot=0)
    # tool: a, b -> 2/4; params: a, b, c -> 3/4; call: a, b -> 2/4; invalid: d -> 1/4
    assert (sc.n, sc.tool_acc, sc.param_acc, sc.call_acc, sc.invalid_format) == (4, 0.5, 0.75, 0.5, 0.25)
    assert sc.n_missing == 0 and sc.tool_ci is None


def test_missing_response_scores_zero_and_ids_may_be_strings(four):
    responses = {str(k): v for k, v in hand_made_responses(four).items()}  # ids as read back from text
    del responses[str(four[0].entry_id)]
    sc = score_responses(four, responses, n_boot=0)
    assert (sc.tool_acc, sc.param_acc, sc.call_acc, sc.n_missing) == (0.25, 0.5, 0.25, 1)
    assert sc.invalid_format == 0.5  # the missing entry did not parse either


def test_true_equals_one_in_params_and_wrong_value_fails(bench_entries):
    e = with_int_parameter(bench_entries, value=1)
    assert any(v == 1 and type(v) is int for v in e.reference.parameters.values())
    as_bool = {k: (True if (type(v) is int and v == 1) else v) for k, v in e.reference.parameters.items()}
    wrong = {k: (v + 1 if type(v) is int else v) for k, v in e.reference.parameters.items()}
    right = score_responses([e], {e.entry_id: call(e.reference.tool_name, as_bool)}, n_boot=0)
    assert right.param_acc == 1.0
    assert score_responses([e], {e.entry_id: call(e.reference.tool_name, wrong)}, n_boot=0).param_acc == 0.0


def test_entry_bootstrap_interval_matches_binomial_width_and_is_seeded(bench_entries):
    entries = at_least(bench_entries, 400)
    responses = {e.entry_id: (ref_call(e) if i % 2 == 0 else "no") for i, e in enumerate(entries)}
    sc = score_responses(entries, responses, n_boot=2000, seed=1, ci="entry")
    lo, hi = sc.tool_ci
    assert sc.tool_acc == 0.5 and lo < 0.5 < hi and sc.ci_method == "entry"
    # normal approximation: 1.96 * sqrt(.25 / 400) = 0.049
    assert 0.040 < (hi - lo) / 2 < 0.058
    assert score_responses(entries, responses, n_boot=2000, seed=1, ci="entry").tool_ci == sc.tool_ci
    assert score_responses(entries, responses, n_boot=2000, seed=2, ci="entry").tool_ci != sc.tool_ci
    perfect = score_responses(entries, {e.entry_id: ref_call(e) for e in entries}, n_boot=200)
    assert perfect.call_ci == (1.0, 1.0)


def test_default_intervals_resample_whole_functionality_groups(bench_entries):
    """Right answers for whole groups, wrong for others: entries of a group move together, so the
    clustered interval is much wider than the per-entry one, and equals intervals.cluster_bootstrap_ci."""
    import numpy as np

    from petool_utils.evaluation.intervals import cluster_bootstrap_ci, cluster_ids

    entries = at_least(bench_entries, 400)
    groups = sorted({e.func for e in entries})
    good = set(groups[::2])
    responses = {e.entry_id: (ref_call(e) if e.func in good else "no") for e in entries}
    grouped = score_responses(entries, responses, n_boot=1000, seed=3)
    per_entry = score_responses(entries, responses, n_boot=1000, seed=3, ci="entry")
    assert grouped.ci_method == "group" and grouped.tool_acc == per_entry.tool_acc
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(grouped.tool_ci) > 2 * width(per_entry.tool_ci)
    tool = np.array([e.func in good for e in entries], dtype=float)
    assert grouped.tool_ci == cluster_bootstrap_ci([tool], cluster_ids(entries), n_boot=1000, seed=3)


def test_one_entry_per_group_gives_the_per_entry_bootstrap(constructed_entries):
    """With every entry its own group, resampling groups is resampling entries: the same draws, the same interval."""
    entries = [e.model_copy(update={"func": None}) for e in constructed_entries]
    responses = {e.entry_id: (ref_call(e) if i % 3 else "no") for i, e in enumerate(entries)}
    a = score_responses(entries, responses, n_boot=500, seed=7)
    b = score_responses(entries, responses, n_boot=500, seed=7, ci="entry")
    assert a.ci_method == "group" and b.ci_method == "entry"
    assert a.tool_ci == pytest.approx(b.tool_ci) and a.call_ci == pytest.approx(b.call_ci)


def test_all_is_mean_of_personalized_settings_only(four):
    right = {e.entry_id: ref_call(e) for e in four}
    half = {e.entry_id: ref_call(e) for e in four[:2]}
    scores = score_settings(four, {"none": {}, "preferred": right, "ratings": half}, n_boot=100)
    assert list(scores) == ["preferred", "ratings", "all", "none"]
    assert scores["all"].tool_acc == 0.75 and scores["none"].tool_acc == 0.0
    assert scores["all"].settings == ["preferred", "ratings"] and scores["all"].n == 8
    lo, hi = scores["all"].tool_ci
    assert lo <= 0.75 <= hi
    only_one = score_settings(four, {"preferred": right}, n_boot=0)  # one rule: "all" needs two settings
    assert "all" not in only_one


def test_a_mask_restricts_each_setting_and_pools_all(four):
    """The one scorer's mask option (the popularity audit's subsets; it replaced the study's own scorer):
    preferred keeps entries 0, 1 (both right), ratings keeps 1, 2, 3 (only 1 right): per setting 2/2 and
    1/3, and "all" pools the five (entry, setting) pairs: 3/5, not the mean of means 2/3."""
    import numpy as np

    from petool_utils.evaluation.scoring import judge_responses, score_judged

    judged = {"preferred": judge_responses(four, {e.entry_id: ref_call(e) for e in four[:2]}),
              "ratings": judge_responses(four, {four[1].entry_id: ref_call(four[1])})}
    mask = {"preferred": np.array([1, 1, 0, 0], bool), "ratings": np.array([0, 1, 1, 1], bool)}
    scores = score_judged(judged, n_boot=0, mask=mask)
    assert (scores["preferred"].tool_acc, scores["preferred"].n) == (1.0, 2)
    assert scores["ratings"].tool_acc == pytest.approx(1 / 3) and scores["ratings"].n == 3
    assert scores["all"].tool_acc == pytest.approx(3 / 5) and scores["all"].n == 5
    unmasked = score_judged(judged, n_boot=0)
    assert unmasked["all"].tool_acc == pytest.approx((2 / 4 + 1 / 4) / 2)  # the mean of the two settings


def write_lines(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_prediction_dir_last_line_wins_and_setting_from_file_name(tmp_path, four):
    a, b, c, d = four
    line = lambda e, resp, **kw: {"entry_id": e.entry_id, "response": resp, "latency_s": 0.1, "error": None, **kw}  # noqa: E731
    write_lines(tmp_path / "preferred.jsonl", [
        line(a, "garbage"), line(b, None, error="HTTP 500"), line(a, ref_call(a)), line(c, ref_call(c)),
    ])  # no "setting" field: it comes from the file name
    write_lines(tmp_path / "ratings.jsonl", [line(e, ref_call(e), setting="ratings") for e in four])
    scores = score_prediction_dir(tmp_path, four, n_boot=0)
    assert set(scores) == {"preferred", "ratings", "all"}
    pref = scores["preferred"]
    assert (pref.tool_acc, pref.n_failed, pref.n_missing) == (0.5, 1, 1)  # a (last line right), c right; b failed, d absent
    assert scores["ratings"].call_acc == 1.0 and scores["all"].call_acc == 0.75


def test_bad_prediction_lines_are_skipped_with_a_warning_and_mixed_models_refused(tmp_path, four):
    from petool_utils.evaluation.scoring import PredictionLinesSkipped

    bad = tmp_path / "mine.jsonl"
    write_lines(bad, [{"entry_id": four[0].entry_id, "response": "x"},  # no setting, and the name says none
                      {"entry_id": four[1].entry_id, "setting": "preferred", "response": {"tool_name": "x"}},
                      {"entry_id": four[2].entry_id, "setting": "preferred", "response": ref_call(four[2])}])
    with pytest.warns(PredictionLinesSkipped, match=r"mine\.jsonl: line 1: field 'setting'.*line 2: field 'response'"):
        scores = score_files([bad], four, n_boot=0)
    assert scores["preferred"].tool_acc == 0.25 and scores["preferred"].n_missing == 3
    one, two = tmp_path / "a" / "preferred.jsonl", tmp_path / "b" / "preferred.jsonl"
    for p in (one, two):
        p.parent.mkdir()
        write_lines(p, [{"entry_id": four[0].entry_id, "setting": "preferred", "response": "x"}])
    with pytest.raises(DataError, match="already answered"):
        score_files([one, two], four)


def test_accuracy_by_history_length_hand_set_lengths_and_histories(bench_entries):
    """Six entries given known released lengths and prompt histories of known sizes: every bin by hand."""
    lengths, items = [0, 9, 10, 19, 20, 35], [0, 1, 2, 2, 3, 3]
    entries = [e.model_copy(update={"history_length": n, "histories": {**e.histories, "preferred": e.history("preferred")[:k]}})
               for e, n, k in zip(at_least(bench_entries, 6), lengths, items)]
    assert [len(e.history("preferred")) for e in entries] == items  # every entry had at least 3 items
    right = {e.entry_id: ref_call(e) for e in entries[::2]}  # lengths 0, 10, 20; items 0, 2, 3
    df = accuracy_by_history_length(entries, right, "preferred")
    bins = df[df.kind == "history_length_bin"].set_index("bucket")
    assert list(bins.index) == ["0-9", "10-19", "20-29", "30-39"] and bins["n"].tolist() == [2, 2, 1, 1]
    assert bins["call_acc"].tolist() == [0.5, 0.5, 1.0, 0.0] and bins["tool_acc"].tolist() == [0.5, 0.5, 1.0, 0.0]
    by_items = df[df.kind == "history_items"].set_index("lo")
    assert by_items["n"].to_dict() == {0: 1, 1: 1, 2: 2, 3: 2}
    assert by_items["tool_acc"].to_dict() == {0: 1.0, 1: 0.0, 2: 0.5, 3: 0.5}
    none = accuracy_by_history_length(entries, right, "none")
    assert none[none.kind == "history_items"]["bucket"].tolist() == ["0"]
    assert none[none.kind == "history_items"]["n"].tolist() == [6]


def test_accuracy_by_history_length_known_bins(dev_entries):
    """The released history lengths of the dev slice."""
    responses = {e.entry_id: ref_call(e) for e in dev_entries if e.history_length < 20}
    df = accuracy_by_history_length(dev_entries, responses, "preferred")
    bins = df[df.kind == "history_length_bin"].set_index("bucket")
    # released history_length in the dev slice: 12 entries below 10, 30 in 10-19, 514 in all
    assert list(bins.index[:3]) == ["0-9", "10-19", "20-29"]
    assert (bins.loc["0-9", "n"], bins.loc["10-19", "n"], bins["n"].sum()) == (12, 30, 514)
    assert bins.loc["0-9", "call_acc"] == 1.0 and bins.loc["10-19", "tool_acc"] == 1.0
    assert bins.loc["20-29", "tool_acc"] == 0.0
    items = df[df.kind == "history_items"].set_index("lo")
    assert items.loc[20, "n"] == 472 and items.loc[20, "tool_acc"] == 0.0  # prompts cap history at 20 items
    assert items.loc[2, "n"] == 1 and items.loc[2, "tool_acc"] == 1.0
    none = accuracy_by_history_length(dev_entries, responses, "none")
    assert none[none.kind == "history_items"]["bucket"].tolist() == ["0"]


def test_score_cli_json(tmp_path, bench_entries, four):
    from petool_utils.cli.score import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps typer from collapsing the app into "score"
    extra = [e for e in bench_entries if e.entry_id not in {f.entry_id for f in four}][:2]
    bench = tmp_path / "bench.json"  # a six-entry benchmark in the release layout keeps the test fast
    bench.write_text(json.dumps([e.release_record() for e in [*four, *extra]]))
    resp = hand_made_responses(four)
    for s in ("preferred", "ratings"):
        write_lines(tmp_path / f"{s}.jsonl", [{"entry_id": k, "setting": s, "response": v} for k, v in resp.items()])
    files = [str(tmp_path / "preferred.jsonl"), str(tmp_path / "ratings.jsonl")]
    runner = CliRunner()
    res = runner.invoke(app, ["score", *files, "--data", str(bench), "--json", "--predicted-only", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)  # exactly one JSON object on stdout
    assert list(out) == ["preferred", "ratings", "all"]
    for s in out:
        assert (out[s]["tool_acc"], out[s]["param_acc"], out[s]["call_acc"], out[s]["invalid_format"]) == (0.5, 0.75, 0.5, 0.25)
        assert len(out[s]["tool_ci"]) == 2
    assert out["preferred"]["n"] == 4 and out["all"]["n"] == 8
    # without --predicted-only every benchmark entry counts and the unanswered ones score 0, as the authors score
    res = runner.invoke(app, ["score", files[0], "--data", str(bench), "--json", "--n-boot", "0"])
    out = json.loads(res.stdout)
    assert list(out) == ["preferred"] and out["preferred"]["n"] == 6
    assert (out["preferred"]["tool_acc"], out["preferred"]["param_acc"], out["preferred"]["n_missing"]) == (2 / 6, 3 / 6, 2)
    res = runner.invoke(app, ["score", str(tmp_path), "--data", str(bench), "--predicted-only", "--parser", "robust", "--errors"])
    assert res.exit_code == 0, res.output
    assert "Tool Acc" in res.stdout and "all = mean of preferred, ratings" in res.stdout and "TPM" in res.stdout
    wrong_data = runner.invoke(app, ["score", files[0], "--data", str(tmp_path / "absent.json")])
    assert wrong_data.exit_code == 2


def test_scoring_3000_predictions_is_fast(tmp_path, bench_entries):
    entries = [bench_entries[i % len(bench_entries)].model_copy(update={"entry_id": 10_000 + i}) for i in range(1000)]
    kinds = [ref_call, lambda e: call(other_candidate(e), {}), lambda e: "```json\n" + json.dumps(json.loads(ref_call(e)), indent=2) + "\n```", lambda e: "nope"]
    for s in ("preferred", "ratings", "chronological"):
        write_lines(tmp_path / f"{s}.jsonl", [{"entry_id": e.entry_id, "setting": s, "response": kinds[i % 4](e)} for i, e in enumerate(entries)])
    parse_cached.cache_clear()
    t0 = time.perf_counter()
    scores = score_prediction_dir(tmp_path, entries, n_boot=1000)
    took = time.perf_counter() - t0
    print(f"scored 3000 predictions in {took:.3f} s")
    assert scores["all"].n == 3000 and scores["all"].tool_acc == 0.25  # reference parser: only the one-line calls
    assert took < 3.0  # target < 1 s; margin for a loaded CI machine


def test_robust_never_lower_than_reference_per_entry(bench_entries):
    from petool_utils.evaluation.scoring import judge_responses

    entries = at_least(bench_entries, 120)
    dress = [
        ref_call,
        lambda e: "Here you go: " + ref_call(e) + " Hope it helps.",
        lambda e: "```json\n" + json.dumps(json.loads(ref_call(e)), indent=2) + "\n```",
        lambda e: call(e.reference.tool_name, {**e.reference.parameters, "extra": {"deep": [1]}}),
        lambda e: call(other_candidate(e), e.reference.parameters),
        lambda e: "no idea",
    ]
    responses = {e.entry_id: dress[i % len(dress)](e) for i, e in enumerate(entries)}
    ref, rob = judge_responses(entries, responses, "reference"), judge_responses(entries, responses, "robust")
    assert not (ref.tool & ~rob.tool).any() and not (ref.param & ~rob.param).any()
    # the fenced multi-line calls (1 in 6) are lost by the authors' parser and recovered by the robust one
    assert rob.call.sum() - ref.call.sum() == 20 and ref.call.sum() == 40


def test_scores_round_trip_through_metrics_json(tmp_path, four):
    from petool_utils.evaluation.scoring import load_scores, save_scores

    scores = score_settings(four, {"preferred": hand_made_responses(four), "ratings": {}}, n_boot=20)
    path = save_scores(tmp_path / "metrics.json", scores)
    back = load_scores(path)
    assert back == scores and back["all"].tool_acc == 0.25
    path.write_text('{"preferred": {"n": "many"}}')
    with pytest.raises(ValueError, match="metrics.json: setting 'preferred'"):
        load_scores(path)
