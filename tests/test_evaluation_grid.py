"""Notebook 07's bookkeeping without papermill: which benchmarks are found (the one search order, with
the constructed-split fallback), how a model that cannot run is classified, how parameters are checked."""

from __future__ import annotations

import json

import pytest

from petool_utils.evaluation.grid import (EvaluationParameters, _caused_by_import_error, _prediction_files, data_notes,
                                          find_benchmarks)
from petool_utils.paths import REPO_ROOT
from petool_utils.benchmark.locate import DEV_SLICE_NAME, NO_RELEASED_NOTE
from petool_utils.params import ParameterError


def test_import_failure_anywhere_in_the_chain_means_skipped():
    try:
        try:
            import petool_utils.no_such_module  # noqa: F401
        except ImportError as exc:
            raise ValueError("offline predictor 'ranker' needs ... which cannot be imported") from exc
    except ValueError as wrapped:
        assert _caused_by_import_error(wrapped)
    assert not _caused_by_import_error(ValueError("unknown offline predictor 'nosuch'"))


def test_explicit_data_without_a_benchmark_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="No PEToolBench test file"):
        find_benchmarks(tmp_path / "empty", tmp_path / "run")


@pytest.mark.parametrize("name,label", [(DEV_SLICE_NAME, "released PEToolBench dev slice"),
                                        ("user_entries_test.json", "released PEToolBench")])
def test_released_and_constructed_benchmarks_with_the_generator_named(tmp_path, name, label):
    run = tmp_path / "run"
    (run / "benchmark").mkdir(parents=True)
    (run / "benchmark" / "test.json").write_text("[]")
    (run / "benchmark" / "manifest.json").write_text(json.dumps({"generator": "offline-standin"}))
    released = tmp_path / "data" / name  # only its name and existence matter here; the loaders have their own tests
    released.parent.mkdir()
    released.write_bytes(b"[]")
    for data in (released, released.parent):  # the file, or the folder holding it
        found = find_benchmarks(str(data), run)
        assert [(b.key, b.label) for b in found] == [
            ("released", label), ("constructed", "constructed test split (generator: offline-standin)")]
        assert found[0].path == str(released)


def test_prediction_files_keep_the_settings_asked_for(tmp_path):
    p = tmp_path / "m" / "ratings.jsonl"
    assert _prediction_files({"ratings": p, "oops": tmp_path / "x.json"}, ["ratings", "none"]) == {"ratings": p}


def test_without_released_data_the_constructed_split_is_used_and_said(tmp_path, monkeypatch):
    monkeypatch.setenv("PETOOL_NO_SHARED", "1")
    monkeypatch.setenv("PETOOL_DATA_DIR", str(tmp_path / "nothing-here"))
    run = tmp_path / "run"
    (run / "benchmark").mkdir(parents=True)
    (run / "benchmark" / "test.json").write_text("[]")
    found = find_benchmarks(None, run)
    assert [b.key for b in found] == ["constructed"]
    assert data_notes(found)[0] == NO_RELEASED_NOTE
    assert find_benchmarks(None, tmp_path / "no-run") == [] and "no benchmark found" in data_notes([])[0]


def test_parameters_are_checked_and_paths_are_taken_from_the_project_root():
    p = EvaluationParameters.check(run_dir="runs/x", models="offline:history", settings="none", limit=5)
    assert p.models == ["offline:history"] and p.settings == ["none"]  # papermill -p gives strings
    assert p.run_dir == REPO_ROOT / "runs" / "x" and p.data is None
    with pytest.raises(ParameterError, match=r"07_evaluation: parameter 'limit'"):
        EvaluationParameters.check(run_dir="r", models=["a"], settings=["none"], limit=-1)
    with pytest.raises(ParameterError, match=r"parameter 'settings\[0\]'"):
        EvaluationParameters.check(run_dir="r", models=["a"], settings=["sideways"])
    with pytest.raises(ParameterError, match=r"parameter 'modles'"):
        EvaluationParameters.check(run_dir="r", models=["a"], settings=["none"], modles=["b"])


def test_a_grid_of_an_offline_baseline_and_an_llm_gives_the_generation_options_to_the_llm_only(server, bench_path,
                                                                                                tmp_path):
    """The small-llm profile's notebook 07 runs ``offline:history`` beside an LLM with ``gen_opts``; the offline
    predictor refuses generation options, and the grid had given them to both, so the baseline row failed
    ("offline predictors take no generation options"). The LLM still gets them, on the wire."""
    from petool_utils.evaluation.grid import BenchmarkSource, run_grid

    srv = server()
    src = BenchmarkSource(key="released", label="some benchmark", path=str(bench_path))
    result = run_grid([src], ["offline:history", "openai:loopback-model"], ["preferred"], tmp_path, limit=3,
                      concurrency=2, gen_opts={"temperature": 0.1, "max_tokens": 64}, n_boot=0)
    runs = {m.spec: m for m in result.benchmarks[0].models}
    assert runs["offline:history"].status == "ok", runs["offline:history"].reason
    assert runs["openai:loopback-model"].status == "ok", runs["openai:loopback-model"].reason
    sent = srv.stats.options
    assert len(sent) == 3 and all(o.get("temperature") == 0.1 and o.get("max_tokens") == 64 for o in sent)


def test_a_failed_model_fails_the_notebook_after_the_others_are_scored_and_a_skipped_one_does_not(bench_path,
                                                                                                    tmp_path):
    """Notebook 07 of the small-llm profile said "ok" while metrics.json had both its models failed. The grid
    still scores the others; then ``raise_if_failed`` (the notebook's last line) names each failed model."""
    from petool_utils.evaluation.grid import BenchmarkSource, ModelsFailedError, run_grid

    src = BenchmarkSource(key="released", label="some benchmark", path=str(bench_path))
    missing = tmp_path / "no-model-here"
    result = run_grid([src], ["offline:history", f"hf:{missing}"], ["preferred"], tmp_path / "run", limit=3, n_boot=0)
    runs = {m.spec: m for m in result.benchmarks[0].models}
    assert runs["offline:history"].status == "ok" and runs["offline:history"].scores["preferred"]["n"] == 3
    assert runs[f"hf:{missing}"].status == "failed"
    assert result.failures() == [f"some benchmark: hf:{missing}: {runs[f'hf:{missing}'].reason}"]
    with pytest.raises(ModelsFailedError, match=r"1 model run\(s\) failed[\s\S]*no-model-here"):
        result.raise_if_failed()
    runs[f"hf:{missing}"].status = "skipped"  # a package this machine lacks is not a fault of the run
    assert result.failures() == []
    result.raise_if_failed()
