"""Notebook 07's bookkeeping without papermill: which benchmarks are found, how a model that cannot
run is classified, how prediction files are read."""

from __future__ import annotations

import json

import pytest

from petool_utils.evaluation.grid import _caused_by_import_error, _prediction_files, find_benchmarks, read_responses


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


def test_released_and_constructed_benchmarks_with_the_generator_named(tmp_path, dev_path):
    run = tmp_path / "run"
    (run / "benchmark").mkdir(parents=True)
    (run / "benchmark" / "test.json").write_text("[]")
    (run / "benchmark" / "manifest.json").write_text(json.dumps({"generator": "offline-standin"}))
    found = find_benchmarks(str(dev_path), run)
    assert [(b.key, b.label) for b in found] == [
        ("released", "released PEToolBench dev slice"),
        ("constructed", "constructed test split (generator: offline-standin)")]
    assert found[0].path == str(dev_path)


def test_prediction_files_and_error_lines(tmp_path):
    p = tmp_path / "m" / "ratings.jsonl"
    p.parent.mkdir()
    p.write_text(json.dumps({"entry_id": 1, "setting": "ratings", "response": "x", "error": None}) + "\n"
                 + json.dumps({"entry_id": 2, "setting": "ratings", "response": None, "error": "429"}) + "\n"
                 + '{"entry_id": 3, "resp')  # torn last line of a killed run
    assert read_responses(p) == {1: "x", 2: ""}
    assert _prediction_files({"ratings": p, "oops": tmp_path / "m" / "manifest.json"}, ["ratings", "none"]) == {"ratings": p}
